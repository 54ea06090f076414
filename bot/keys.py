"""The sealing key: where the server's secret comes from, and the Sealer built from it.

Submissions are sealed under this key before they are acknowledged (storage/sealing.py), so a
server must find the same key after every restart, or what it sealed can never be opened.

- `PASSERELLE_SECRET_KEY` (the secret) or `PASSERELLE_SECRET_KEY_FILE` (a file holding it, mode
  0600 or stricter): one of them, never both, so nobody wonders which one is in use.
- Neither set: a local SQLite database file with no chat platform configured (`make run`, the
  sandbox) gets a key file beside the database (`passerelle.db` -> `passerelle.key`), created
  once. Anything else refuses, with why and how.
- `PASSERELLE_PREVIOUS_SECRET_KEYS` (comma-separated) and/or
  `PASSERELLE_PREVIOUS_SECRET_KEYS_FILE` (one per line): old secrets kept for opening during a
  rotation; new blobs always use the current key.

No message here ever quotes a secret: only its source, its length and its key id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import Settings
from storage.database import Database
from storage.models import Intake, Sealed
from storage.sealing import KEY_ID_BYTES, MIN_SECRET_BYTES, Sealer, new_secret

log = logging.getLogger(__name__)

HOW = (
    "Create one with `passerelle key new`, keep it in a secrets manager (not with the "
    "database or its backups), then give it to the server as PASSERELLE_SECRET_KEY, or in a "
    "file readable only by the server's user named by PASSERELLE_SECRET_KEY_FILE "
    "(docs/operations.md, 'The sealing key')."
)


class KeyProblem(Exception):
    """No usable sealing key. The message says why and what to do; it never holds a secret."""


@dataclass(frozen=True)
class Key:
    """The configured key: the Sealer to give the engine, and what `key check` reports."""

    sealer: Sealer  # seals with the current secret, opens with it and every previous one
    current: Sealer  # the current secret alone: tells whether a blob is under the current key
    source: str  # where the secret came from, for people: a variable's name or a file's path
    path: Path | None = None  # the key file, when there is one
    created: bool = False  # this call wrote the key file beside the database
    ephemeral: bool = False  # an in-memory database: the key dies with it, and so does the data
    # One Sealer per previous secret, alone: tells which old key a blob is sealed under.
    previous: tuple[Sealer, ...] = field(default=())

    @property
    def key_id(self) -> str:
        return self.sealer.key_id


def load(settings: Settings, *, create: bool = True) -> Key:
    """The configured key, or KeyProblem. `create`: write the key file beside a local SQLite
    database when none is configured (`key check` passes False: a check changes nothing)."""
    previous = _previous_secrets(settings)
    secret = settings.secret_key.get_secret_value().strip()
    key_file = settings.secret_key_file.strip()
    if secret and key_file:
        raise KeyProblem(
            "both PASSERELLE_SECRET_KEY and PASSERELLE_SECRET_KEY_FILE are set: set only one, "
            "so that there is no doubt about which key seals"
        )
    if secret:
        return _key(secret, "PASSERELLE_SECRET_KEY", previous)
    if key_file:
        path = Path(key_file).expanduser()
        return _key(read_key_file(path), f"key file {path}", previous, path=path)
    return _default_key(settings, previous, create=create)


def _default_key(settings: Settings, previous: list[tuple[str, str]], *, create: bool) -> Key:
    """No key configured: only a local, sandbox-only SQLite database may make its own."""
    if settings.platform_configured:
        raise KeyProblem(
            "no sealing key: Slack or Teams is configured (SLACK_SIGNING_SECRET, "
            "SLACK_APP_TOKEN or MICROSOFT_APP_ID), and every submission is sealed under this key "
            "before it is acknowledged; without a key kept across restarts, nothing sealed could "
            "be opened after a restart. " + HOW
        )
    where = database_file(settings.database_url)
    if where == "memory":
        # The data lives and dies with this process: so may its key.
        log.info("sealing key: ephemeral (in-memory database)")
        sealer = Sealer.ephemeral()
        return Key(sealer, sealer, "ephemeral (in-memory database)", ephemeral=True)
    if not isinstance(where, Path):
        raise KeyProblem(
            "no sealing key: the database is not a local SQLite file, and a key file is made "
            "only beside one (a server database's backups must not travel with the key). " + HOW
        )
    path = key_path_beside(where)
    created = False
    if create and not path.exists():
        created = create_key_file(path, new_secret())
        if created:
            log.info("sealing key: created %s (mode 0600)", path)
    if not path.exists():
        raise KeyProblem(
            f"no sealing key yet: `passerelle demo`, `passerelle serve` (or `make run`) "
            f"creates {path.resolve()} beside the database"
        )
    return _key(
        read_key_file(path), f"key file {path.resolve()}", previous, path=path, created=created
    )


def _key(
    secret: str,
    source: str,
    previous: list[tuple[str, str]],
    *,
    path: Path | None = None,
    created: bool = False,
) -> Key:
    _check_length(secret, source)
    olds = [old for _, old in previous]
    key = Key(
        Sealer(secret, olds),
        Sealer(secret),
        source,
        path=path,
        created=created,
        previous=tuple(Sealer(old) for old in olds),
    )
    log.info("sealing key from %s (key id %s, %d previous)", source, key.key_id, len(olds))
    return key


def _check_length(secret: str, source: str) -> None:
    length = len(secret.strip().encode())
    if length < MIN_SECRET_BYTES:
        raise KeyProblem(
            f"the sealing key from {source} is too short ({length} characters; at least "
            f"{MIN_SECRET_BYTES}): `passerelle key new` makes one"
        )


def _previous_secrets(settings: Settings) -> list[tuple[str, str]]:
    """(source, secret) of every previous secret, from the variable and the file."""
    found: list[tuple[str, str]] = []
    listed = settings.previous_secret_keys.get_secret_value().split(",")
    found += [
        (f"PASSERELLE_PREVIOUS_SECRET_KEYS (#{n})", s.strip()) for n, s in enumerate(listed, 1)
    ]
    if settings.previous_secret_keys_file.strip():
        path = Path(settings.previous_secret_keys_file.strip()).expanduser()
        lines = _read_private(path, "previous keys file").splitlines()
        found += [(f"{path} (line {n})", s.strip()) for n, s in enumerate(lines, 1)]
    found = [(source, secret) for source, secret in found if secret]
    for source, secret in found:
        _check_length(secret, f"previous key {source}")
    return found


def database_file(url: str) -> Path | Literal["memory"] | None:
    """The SQLite database's file, "memory" for an in-memory one, None for anything else."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if name in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return "memory"
    return Path(name)


def key_path_beside(database: Path) -> Path:
    """`./passerelle.db` -> `./passerelle.key` (never the database file itself)."""
    path = database.with_suffix(".key")
    return path if path != database else database.with_name(database.name + ".key")


def read_key_file(path: Path) -> str:
    secret = _read_private(path, "key file").strip()
    if not secret:
        raise KeyProblem(f"the key file {path} is empty: `passerelle key new` makes a key")
    return secret


def _read_private(path: Path, what: str) -> str:
    """A file's text, refused like ssh refuses a private key anyone else could read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyProblem(f"the {what} {path} does not exist") from None
    except OSError as error:
        raise KeyProblem(f"cannot read the {what} {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyProblem(f"the {what} {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise KeyProblem(
            f"permissions {mode:04o} for the {what} {path} are too open: the server "
            f"refuses a key file anyone but its owner can read. Run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise KeyProblem(f"cannot read the {what} {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise KeyProblem(f"the {what} {path} is not text") from None


def create_key_file(path: Path, secret: str) -> bool:
    """Write `secret` to a new file at `path`, mode 0600; False if the file already exists.

    The secret is written and flushed to disk under a temporary name (O_CREAT|O_EXCL, 0600),
    then linked in place: link() fails if the name exists, so of two processes starting at
    once exactly one key wins, and nobody ever reads a half-written key.
    """
    directory = path.parent
    temporary = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    except OSError as error:
        raise KeyProblem(f"cannot create the key file {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    _sync_directory(directory)  # a key lost in a power cut would lose what it sealed
    return True


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform opens directories
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@dataclass(frozen=True)
class SealedRows:
    """Sealed rows (tables `sealed` and `intake`) by the key they name: counts, never content."""

    current: int
    previous: dict[str, int]  # previous key id -> rows
    unopenable: int  # under a key this server does not hold

    @property
    def total(self) -> int:
        return self.current + sum(self.previous.values()) + self.unopenable


async def count_sealed(database: Database, key: Key) -> SealedRows:
    """Which key each sealed row names. Only each blob's header (version and key id) is read:
    nothing is opened, and the query stays small however large the blobs are."""
    header = 1 + KEY_ID_BYTES
    current = unopenable = 0
    previous = {old.key_id: 0 for old in key.previous}
    async with database.session() as session:
        for table in (Sealed, Intake):
            prefix = func.substr(table.blob, 1, header, type_=LargeBinary)
            for (head,) in (await session.execute(select(prefix))).all():
                head = bytes(head)
                old = next((s for s in key.previous if s.opens(head)), None)
                if key.current.opens(head):
                    current += 1
                elif old is not None:
                    previous[old.key_id] += 1
                else:
                    unopenable += 1
    return SealedRows(current, previous, unopenable)
