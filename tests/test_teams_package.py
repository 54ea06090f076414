"""`passerelle teams package`: the Teams app package (manifest, icons, English localization)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image

from adapters.teams import package
from adapters.teams.package import PackageError, build_package, manifest
from bot.cli import main
from dialogs.commands import Command
from dialogs.commands import parse as parse_with
from dialogs.rituals import registry

APP_ID = "0b6c1f6e-3d2a-4c8e-9f7a-52e1d4b3a901"
BASE_URL = "https://passerelle.example.org"
Rgba = tuple[int, int, int, int]  # a pixel of the outline icon
CONTRACT_COMMANDS = {
    "help",
    "checkin",
    "tension",
    "success",
    "profile",
    "summary",
    "setup",
    "reflexive",
    "schedule",
    "settings",
}
REQUIRED = {
    "$schema",
    "manifestVersion",
    "version",
    "id",
    "developer",
    "name",
    "description",
    "icons",
    "accentColor",
}


def parse(text: str) -> Command:
    return parse_with(text, registry().word_names)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def lookup(document: Any, path: str) -> Any:
    """`bots[0].commandLists[0].commands[3].title` in a manifest, as Teams reads en.json keys."""
    for part in path.split("."):
        name, *indexes = re.findall(r"[^\[\]]+", part)
        document = document[name]
        for index in indexes:
            document = document[int(index)]
    return document


def test_manifest_has_the_required_fields_in_french() -> None:
    data = manifest(APP_ID, base_url=BASE_URL)
    assert set(data) >= REQUIRED
    assert data["$schema"] == (
        "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
    )
    assert data["manifestVersion"] == "1.17"
    assert data["id"] == APP_ID and data["version"] == "1.0.0"
    assert data["developer"] == {
        "name": "Passerelle",
        "websiteUrl": BASE_URL,
        "privacyUrl": f"{BASE_URL}/privacy",
        "termsOfUseUrl": f"{BASE_URL}/terms",
    }
    assert data["name"]["short"] == "Passerelle"
    assert len(data["name"]["short"]) <= 30 and len(data["name"]["full"]) <= 100
    assert 0 < len(data["description"]["short"]) <= 80
    assert 0 < len(data["description"]["full"]) <= 4000
    assert "bilans" in data["description"]["full"].lower()  # the manifest's own text is French
    assert data["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", data["accentColor"])
    assert data["permissions"] == ["identity", "messageTeamMembers"]
    assert data["validDomains"] == ["passerelle.example.org"]
    assert data["localizationInfo"] == {
        "defaultLanguageTag": "fr-ca",
        "additionalLanguages": [{"languageTag": "en", "file": "en.json"}],
    }


def test_the_bot_and_its_commands_keep_teams_limits() -> None:
    (bot,) = manifest(APP_ID, base_url=BASE_URL)["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team"]
    assert bot["isNotificationOnly"] is False and bot["supportsFiles"] is False
    lists = bot["commandLists"]
    assert [command_list["scopes"] for command_list in lists] == [["personal"], ["team"]]
    for command_list in lists:
        commands = command_list["commands"]
        assert 0 < len(commands) <= 10
        for command in commands:
            assert set(command) == {"title", "description"}
            assert 0 < len(command["title"]) <= 32
            assert 0 < len(command["description"]) <= 128


def test_command_titles_are_words_the_bot_understands_in_both_languages() -> None:
    lists = manifest(APP_ID, base_url=BASE_URL)["bots"][0]["commandLists"]
    english = package.english()
    offered: set[str] = set()
    for i, command_list in enumerate(lists):
        commands = command_list["commands"]
        french_names = [parse(command["title"]).name for command in commands]
        english_names = [
            parse(english[f"bots[0].commandLists[{i}].commands[{j}].title"]).name
            for j in range(len(commands))
        ]
        assert french_names == english_names and "" not in french_names
        offered |= set(french_names)
    assert offered >= CONTRACT_COMMANDS
    # As Teams sends a command picked in a channel: after an @mention.
    assert parse("<at>Passerelle</at> réussite").name == "success"


def test_english_localization_translates_keys_that_exist_in_the_manifest() -> None:
    data = manifest(APP_ID, base_url=BASE_URL)
    english = package.english()
    assert english["$schema"] == (
        "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/"
        "MicrosoftTeams.Localization.schema.json"
    )
    keys = set(english) - {"$schema"}
    assert {"name.short", "name.full", "description.short", "description.full"} <= keys
    lists = data["bots"][0]["commandLists"]
    count = sum(len(command_list["commands"]) for command_list in lists)
    assert len(keys) == 4 + 2 * count  # every command's title and description
    limits = {"short": 30, "full": 100}
    for key in keys:
        original = lookup(data, key)  # raises if the manifest has no such string
        assert isinstance(original, str) and english[key]
        if key.startswith("name."):
            assert len(english[key]) <= limits[key.split(".")[1]]
        elif key == "description.short":
            assert len(english[key]) <= 80
        elif key == "description.full":
            assert len(english[key]) <= 4000
        elif key.endswith(".title"):
            assert len(english[key]) <= 32
        else:
            assert len(english[key]) <= 128
    assert english["name.full"] != data["name"]["full"]
    assert english["bots[0].commandLists[0].commands[0].title"] == "help"


def test_icons_have_teams_sizes_and_the_outline_is_white_on_transparent() -> None:
    color = Image.open(io.BytesIO(package.color_icon()))
    assert color.format == "PNG" and color.size == (192, 192)
    rgb = color.convert("RGB")
    accent = tuple(int(package.ACCENT_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    assert rgb.getpixel((0, 0)) == accent and rgb.getpixel((191, 191)) == accent
    assert (255, 255, 255) in {rgb.getpixel((x, 96)) for x in range(192)}  # the motif

    outline = Image.open(io.BytesIO(package.outline_icon()))
    assert outline.format == "PNG" and outline.size == (32, 32) and outline.mode == "RGBA"
    pixels = {cast(Rgba, outline.getpixel((x, y))) for x in range(32) for y in range(32)}
    for red, green, blue, alpha in pixels:
        assert alpha == 0 or (red, green, blue, alpha) == (255, 255, 255, 255)
    assert {alpha for *_, alpha in pixels} == {0, 255}  # a motif, and a background


def test_the_zip_holds_the_manifest_icons_and_english_file() -> None:
    data = build_package(APP_ID, base_url=BASE_URL, version="2.3.4")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "manifest.json",
        "color.png",
        "outline.png",
        "en.json",
    ]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    files = unzip(data)
    assert not files["manifest.json"].startswith(b"\xef\xbb\xbf")  # UTF-8 without a BOM
    assert json.loads(files["manifest.json"]) == manifest(
        APP_ID, base_url=BASE_URL, version="2.3.4"
    )
    assert json.loads(files["en.json"]) == package.english()
    assert files["color.png"] == package.color_icon()
    assert files["outline.png"] == package.outline_icon()


def test_the_zip_is_byte_for_byte_reproducible() -> None:
    first = build_package(APP_ID, base_url=BASE_URL)
    assert build_package(APP_ID, base_url=BASE_URL) == first
    assert build_package(APP_ID, base_url=BASE_URL, version="1.0.1") != first


def test_base_url_may_have_a_path_and_local_http_is_allowed() -> None:
    data = manifest(APP_ID, base_url="https://example.org/passerelle/", developer_name="CIUSSS")
    assert data["developer"]["privacyUrl"] == "https://example.org/passerelle/privacy"
    assert data["developer"]["name"] == "CIUSSS"
    assert data["validDomains"] == ["example.org"]
    local = manifest(APP_ID, base_url="http://127.0.0.1:3978")
    assert local["developer"]["termsOfUseUrl"] == "http://127.0.0.1:3978/terms"
    assert local["validDomains"] == ["127.0.0.1"]
    assert manifest(APP_ID, base_url="http://localhost")["validDomains"] == ["localhost"]


@pytest.mark.parametrize(
    "app_id",
    [
        "",
        "   ",
        "passerelle",
        "0b6c1f6e3d2a4c8e9f7a52e1d4b3a901",
        "{0b6c1f6e-3d2a-4c8e-9f7a-52e1d4b3a901}",
        "0b6c1f6e-3d2a-4c8e-9f7a-52e1d4b3a90",
        "0b6c1f6e-3d2a-4c8e-9f7a-52e1d4b3a90g",
    ],
)
def test_a_bad_app_id_is_refused_clearly(app_id: str) -> None:
    with pytest.raises(PackageError, match="app id"):
        build_package(app_id, base_url=BASE_URL)


@pytest.mark.parametrize(
    "base_url",
    [
        "",
        "passerelle.example.org",
        "http://passerelle.example.org",
        "ftp://passerelle.example.org",
        "https://",
        "https://passerelle.example.org?x=1",
        "https://passerelle.example.org/#top",
        "https://user:secret@passerelle.example.org",
        "https://passerelle.example.org:port",
        "http://127.0.0.2",
    ],
)
def test_a_bad_base_url_is_refused_clearly(base_url: str) -> None:
    with pytest.raises(PackageError, match="base URL"):
        build_package(APP_ID, base_url=base_url)


@pytest.mark.parametrize("version", ["", "1", "1.0", "v1.0.0", "1.0.0-beta", "01.0.0"])
def test_a_bad_version_is_refused(version: str) -> None:
    with pytest.raises(PackageError, match="version"):
        manifest(APP_ID, base_url=BASE_URL, version=version)


def test_a_developer_name_too_long_for_teams_is_refused() -> None:
    with pytest.raises(PackageError, match="developer name"):
        manifest(APP_ID, base_url=BASE_URL, developer_name="x" * 33)


@pytest.fixture
def no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the CLI from an empty directory (no .env), without a Teams app id."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    return tmp_path


def test_cli_writes_the_package(no_environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = no_environment / "teams.zip"
    argv = ["teams", "package", "--app-id", APP_ID, "--base-url", BASE_URL]
    code = main([*argv, "--out", str(out), "--version", "1.2.3"])
    assert code == 0
    assert str(out) in capsys.readouterr().out
    assert out.read_bytes() == build_package(APP_ID, base_url=BASE_URL, version="1.2.3")


def test_cli_takes_the_app_id_from_settings_and_a_default_file_name(
    no_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    assert main(["teams", "package", "--base-url", BASE_URL]) == 0
    files = unzip((no_environment / "passerelle-teams.zip").read_bytes())
    assert json.loads(files["manifest.json"])["id"] == APP_ID


def test_cli_without_an_app_id_exits_2_and_writes_nothing(
    no_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = no_environment / "teams.zip"
    code = main(["teams", "package", "--base-url", BASE_URL, "--out", str(out)])
    assert code == 2
    assert "MICROSOFT_APP_ID" in capsys.readouterr().err
    assert not out.exists() and list(no_environment.iterdir()) == []


@pytest.mark.parametrize(
    ("app_id", "base_url", "message"),
    [("not-a-guid", BASE_URL, "GUID"), (APP_ID, "http://passerelle.example.org", "https")],
)
def test_cli_refuses_bad_input_with_exit_2(
    no_environment: Path,
    capsys: pytest.CaptureFixture[str],
    app_id: str,
    base_url: str,
    message: str,
) -> None:
    out = no_environment / "teams.zip"
    argv = ["teams", "package", "--app-id", app_id, "--base-url", base_url, "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_cli_needs_a_base_url(no_environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["teams", "package", "--app-id", APP_ID])
    assert exit_info.value.code == 2
    assert "--base-url" in capsys.readouterr().err
