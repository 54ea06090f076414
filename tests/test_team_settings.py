"""The team's coordinator forms (dialogs/team_fields.py, each ritual's `settings` group,
dialogs/administration/team_forms.py): what they accept, the error a person sees for the first
wrong field, and a ritual's fields joining the forms through the registry alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from dialogs.administration import team_forms as team_admin
from dialogs.forms import FormError
from dialogs.i18n import Tr
from dialogs.registry import Registry, Ritual
from dialogs.rituals import registry
from dialogs.team_fields import FieldGroup, Fields, YesNo, bounds, yes_no_input

# The calendar's fields in card order, with their bounds, as the rituals declare them.
SCHEDULE_FIELDS = {
    name: bounds(group.model, name)
    for group in registry().field_groups("schedule")
    for name in group.model.model_fields
}

SETTINGS = {
    "k": "5",
    "language": "en",
    "timezone": " Europe/Paris ",
    "review_tensions": "yes",
    "review_open_answers": "no",
    "open_question": "yes",
    "pool_small_rounds": "no",
    "tension_weekly_limit": "7",
    "summary_readers": "managers",
}
SCHEDULE = {
    name: str(low if name != "response_window_hours" else high)
    for name, (low, high) in SCHEDULE_FIELDS.items()
}
SETUP = {
    "language": "fr",
    "timezone": "America/Toronto",
    "checkin_weekday": "1",
    "checkin_hour": "10",
    "checkin_every_weeks": "2",
    "k": "5",
}


Reader = Any  # one of team_admin.read_setup, read_settings, read_schedule


def _error(read: Reader, values: dict[str, str], language: str = "fr") -> FormError:
    with pytest.raises(FormError) as raised:
        read(values, Tr(language))
    return raised.value


def test_settings_are_read_typed() -> None:
    assert team_admin.read_settings(SETTINGS, Tr("fr")) == {
        "k": 5,
        "language": "en",
        "timezone": "Europe/Paris",
        "review_tensions": True,
        "review_open_answers": False,
        "open_question": True,
        "pool_small_rounds": False,
        "tension_weekly_limit": 7,
        "summary_readers": "managers",
    }


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("k", ["2", "51", "", "cinq", "5.0"])
def test_k_outside_its_bounds_names_the_field_and_bounds(language: str, k: str) -> None:
    error = _error(team_admin.read_settings, SETTINGS | {"k": k}, language)
    field = Tr(language)("settings.k_label")
    assert (error.key, error.params) == ("errors.number", {"field": field, "low": 3, "high": 50})


def test_the_first_wrong_field_in_form_order_is_reported() -> None:
    error = _error(
        team_admin.read_settings, SETTINGS | {"open_question": "maybe", "tension_weekly_limit": "0"}
    )
    assert (error.key, error.params) == (
        "errors.choice",
        {"field": Tr("fr")("settings.open_question")},
    )
    error = _error(
        team_admin.read_settings, SETTINGS | {"tension_weekly_limit": "0", "summary_readers": "x"}
    )
    assert error.params["field"] == Tr("fr")("settings.tension_limit")


def test_unknown_time_zone_names_the_value() -> None:
    error = _error(team_admin.read_settings, SETTINGS | {"timezone": " Mars/Olympus "})
    assert (error.key, error.params) == ("zones.unknown", {"value": "Mars/Olympus"})


def test_absent_fields_count_as_empty() -> None:
    error = _error(team_admin.read_settings, {})
    assert error.key == "errors.number" and error.params["field"] == Tr("fr")("settings.k_label")


def test_setup_offers_a_narrower_cadence_and_names_its_own_language_label() -> None:
    assert team_admin.read_setup(SETUP, Tr("fr"))["checkin_every_weeks"] == 2
    error = _error(team_admin.read_setup, SETUP | {"checkin_every_weeks": "6"})
    assert error.params == {"field": Tr("fr")("schedule.checkin_every_weeks"), "low": 1, "high": 4}
    error = _error(team_admin.read_setup, SETUP | {"language": "de"})
    assert error.params == {"field": Tr("fr")("profile.language")}
    assert team_admin.read_schedule(SCHEDULE | {"checkin_every_weeks": "6"}, Tr("fr"))


def test_reminder_must_come_before_the_close() -> None:
    values = SCHEDULE | {"response_window_hours": "48", "reminder_after_hours": "48"}
    error = _error(team_admin.read_schedule, values)
    assert (error.key, error.params) == ("errors.reminder_after_close", {})
    values["reminder_after_hours"] = "47"
    assert team_admin.read_schedule(values, Tr("fr"))["reminder_after_hours"] == 47


def test_schedule_fields_keep_the_card_order_and_bounds() -> None:
    assert list(SCHEDULE_FIELDS.items())[:5] == [
        ("checkin_weekday", (0, 6)),
        ("checkin_hour", (0, 23)),
        ("checkin_every_weeks", (1, 8)),
        ("response_window_hours", (4, 336)),
        ("reminder_after_hours", (1, 335)),
    ]
    assert SCHEDULE_FIELDS["success_every_weeks"] == (0, 8)


def test_apply_settings_keeps_the_readers_rule_of_an_older_form() -> None:
    team: Any = SimpleNamespace(summary_readers="everyone")
    values = {name: value for name, value in SETTINGS.items() if name != "summary_readers"}
    team_admin.apply_settings(team, values, Tr("fr"))
    assert (team.summary_readers, team.k, team.review_tensions) == ("everyone", 5, True)


def test_a_refused_schedule_changes_nothing() -> None:
    team: Any = SimpleNamespace(quiet_start=20)
    with pytest.raises(FormError):
        team_admin.apply_schedule(
            team, SCHEDULE | {"quiet_start": "3", "quiet_end": "24"}, Tr("fr")
        )
    assert vars(team) == {"quiet_start": 20}


def _team(**changes: Any) -> Any:
    values = {"name": "Démo", "slug": "demo", **SETTINGS, **SCHEDULE, **changes}
    return SimpleNamespace(**(values | team_admin.read_settings(values, Tr("fr"))))


def _names(card: Any) -> list[str]:
    return [block.name for block in card.inputs()]


def test_the_forms_ask_the_team_s_own_fields_then_each_ritual_s_in_the_rituals_order() -> None:
    team = _team()
    assert _names(team_admin.schedule_card(Tr("fr"), team)) == list(SCHEDULE_FIELDS)
    assert list(SCHEDULE_FIELDS) == [
        *("checkin_weekday", "checkin_hour", "checkin_every_weeks"),
        *("response_window_hours", "reminder_after_hours"),
        *("batch_weekday", "batch_hour", "tension_prompt_every_weeks"),
        *("success_weekday", "success_hour", "success_every_weeks"),
        *("quiet_start", "quiet_end"),
    ]
    assert _names(team_admin.settings_card(Tr("fr"), team)) == [
        *("k", "language", "timezone"),
        *("review_open_answers", "open_question", "pool_small_rounds"),
        *("review_tensions", "tension_weekly_limit", "summary_readers"),
    ]


class _Gratitude(Fields):
    label_prefix: ClassVar[str] = "settings."
    review_tensions: YesNo  # a column the test's team has: the fields are the team's columns


def test_a_ritual_s_fields_join_the_settings_through_the_registry_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group = FieldGroup(
        "settings",
        _Gratitude,
        lambda tr, team: [yes_no_input(tr, team, "review_tensions", "settings.review_tensions")],
    )
    extended = Registry((*registry().rituals, Ritual("gratitude", settings=(group,))))
    monkeypatch.setattr(team_admin, "registry", lambda: extended)
    assert _names(team_admin.settings_card(Tr("en"), _team()))[-1] == "review_tensions"
    # Its field is read after every earlier one: an earlier wrong field is still reported first.
    error = _error(team_admin.read_settings, SETTINGS | {"k": "1"})
    assert error.params["field"] == Tr("fr")("settings.k_label")
    team = _team(review_tensions="no")
    team_admin.apply_settings(team, SETTINGS | {"review_tensions": "yes"}, Tr("fr"))
    assert team.review_tensions is True
