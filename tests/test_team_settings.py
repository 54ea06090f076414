"""The team settings' rules (dialogs/team_settings.py): what the forms accept, and the error a
person sees for the first wrong field."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dialogs.administration import team_forms as team_admin
from dialogs.administration.team_settings import (
    SCHEDULE_FIELDS,
    TeamSchedule,
    TeamSettings,
    TeamSetup,
    read_form,
)
from dialogs.forms import FormError
from dialogs.i18n import Tr

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


def _error(model: Any, values: dict[str, str], language: str = "fr") -> FormError:
    with pytest.raises(FormError) as raised:
        read_form(model, values, Tr(language))
    return raised.value


def test_settings_are_read_typed() -> None:
    settings = read_form(TeamSettings, SETTINGS, Tr("fr"))
    assert settings.model_dump() == {
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
    error = _error(TeamSettings, SETTINGS | {"k": k}, language)
    field = Tr(language)("settings.k_label")
    assert (error.key, error.params) == ("errors.number", {"field": field, "low": 3, "high": 50})


def test_the_first_wrong_field_in_form_order_is_reported() -> None:
    error = _error(TeamSettings, SETTINGS | {"open_question": "maybe", "tension_weekly_limit": "0"})
    assert (error.key, error.params) == (
        "errors.choice",
        {"field": Tr("fr")("settings.open_question")},
    )
    error = _error(TeamSettings, SETTINGS | {"tension_weekly_limit": "0", "summary_readers": "x"})
    assert error.params["field"] == Tr("fr")("settings.tension_limit")


def test_unknown_time_zone_names_the_value() -> None:
    error = _error(TeamSettings, SETTINGS | {"timezone": " Mars/Olympus "})
    assert (error.key, error.params) == ("errors.timezone", {"value": "Mars/Olympus"})


def test_absent_fields_count_as_empty() -> None:
    error = _error(TeamSettings, {})
    assert error.key == "errors.number" and error.params["field"] == Tr("fr")("settings.k_label")


def test_setup_offers_a_narrower_cadence_and_names_its_own_language_label() -> None:
    assert read_form(TeamSetup, SETUP, Tr("fr")).checkin_every_weeks == 2
    error = _error(TeamSetup, SETUP | {"checkin_every_weeks": "6"})
    assert error.params == {"field": Tr("fr")("schedule.checkin_every_weeks"), "low": 1, "high": 4}
    error = _error(TeamSetup, SETUP | {"language": "de"})
    assert error.params == {"field": Tr("fr")("profile.language")}
    assert read_form(TeamSchedule, SCHEDULE | {"checkin_every_weeks": "6"}, Tr("fr"))


def test_reminder_must_come_before_the_close() -> None:
    values = SCHEDULE | {"response_window_hours": "48", "reminder_after_hours": "48"}
    error = _error(TeamSchedule, values)
    assert (error.key, error.params) == ("errors.reminder_after_close", {})
    values["reminder_after_hours"] = "47"
    assert read_form(TeamSchedule, values, Tr("fr")).reminder_after_hours == 47


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
