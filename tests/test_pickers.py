"""Forms ask dates, times, numbers and time zones with each platform's pickers (issue 13), and
the server still reads typed text tolerantly (the console, cards sent before the pickers).

Pure tests: the tolerant parsing, the curated time zones, the card model's JSON round trip,
and each renderer's output for each picker (Slack Block Kit under the strict checks, the
Adaptive Card, the sandbox's HTML, the console's lines), with the values read back from each
platform's submission format."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from adapters.console.render import card_lines
from adapters.sandbox.render import CardView, card_html
from adapters.slack import block_values as bv
from adapters.slack import blocks as sb
from adapters.slack.block_inputs import input_block
from adapters.teams import cards as tc
from dialogs import zones
from dialogs.calendar import is_zone
from dialogs.cards import Card, Form, TextInput
from dialogs.forms import (
    FormError,
    date_input,
    number_input,
    parse_date,
    parse_int,
    parse_time,
    read_timezone,
    time_input,
    timezone_input,
)
from dialogs.i18n import Tr
from tests.block_kit_checks import check_card, submission


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13:30", dt.time(13, 30)),
        ("13h30", dt.time(13, 30)),
        ("13 h 30", dt.time(13, 30)),
        ("13 H", dt.time(13, 0)),
        ("9h05", dt.time(9, 5)),
        ("1:30 PM", dt.time(13, 30)),
        ("1:30 p.m.", dt.time(13, 30)),
        ("12:15 am", dt.time(0, 15)),
        ("9 am", dt.time(9, 0)),
        ("13:30:00", dt.time(13, 30)),
    ],
)
def test_a_time_is_read_as_people_type_it(typed: str, expected: dt.time) -> None:
    assert parse_time(typed, "Heure") == expected


@pytest.mark.parametrize("typed", ["", "25:00", "13:75", "13 heures et demie", "13", "0 pm"])
def test_a_wrong_time_says_which_field_with_an_example(typed: str) -> None:
    with pytest.raises(FormError) as raised:
        parse_time(typed, "Heure de la rencontre")
    assert raised.value.key == "zones.bad_time"
    message = Tr("fr")(raised.value.key, **raised.value.params)
    assert (
        "Heure de la rencontre" in message
        and "13 h 30" in message
        and "1:30 PM" in Tr("en")(raised.value.key, field="x")
    )


@pytest.mark.parametrize(
    "typed",
    ["2026-12-03", "3 décembre 2026", "3 Decembre 2026", "December 3, 2026", "le 3 déc. 2026"],
)
def test_a_date_is_read_as_pickers_send_it_and_as_people_type_it(typed: str) -> None:
    assert parse_date(typed, "Date") == dt.date(2026, 12, 3)


def test_the_first_of_the_month_and_an_empty_date() -> None:
    assert parse_date("1er mars 2027", "Date") == dt.date(2027, 3, 1)
    assert parse_date("  ", "Date") is None


@pytest.mark.parametrize("typed", ["bientôt", "31 février 2027", "2026-13-01", "3 décembre"])
def test_a_wrong_date_is_a_clear_error(typed: str) -> None:
    with pytest.raises(FormError) as raised:
        parse_date(typed, "En pause jusqu’au")
    assert raised.value.key == "zones.bad_date"
    assert "3 décembre 2026" in Tr("fr")(raised.value.key, **raised.value.params)


def test_numbers_from_pickers_and_typed() -> None:
    assert parse_int(" 12 ", 4, 336, "Durée") == 12
    assert parse_int("1 000", 1, 5000, "x") == 1000
    for wrong in ("5.5", "cinq", "", "3"):
        with pytest.raises(FormError) as raised:
            parse_int(wrong, 4, 336, "Durée")
        assert (raised.value.key, raised.value.params["low"]) == ("errors.number", 4)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Montréal", "America/Toronto"),
        ("montreal", "America/Toronto"),
        ("  MONTREAL ", "America/Toronto"),
        ("Toronto", "America/Toronto"),
        ("Québec", "America/Toronto"),
        ("Vancouver", "America/Vancouver"),
        ("St. John’s", "America/St_Johns"),
        ("Bruxelles", "Europe/Brussels"),
        ("Brussels", "Europe/Brussels"),
        ("Dakar", "Africa/Dakar"),
        ("Kinshasa", "Africa/Kinshasa"),
        ("Port-au-Prince", "America/Port-au-Prince"),
        ("America/Montreal", "America/Montreal"),
        ("Asia/Kathmandu", "Asia/Kathmandu"),
        ("UTC", "UTC"),
    ],
)
def test_a_city_or_an_iana_name_resolves_to_its_zone(typed: str, zone: str) -> None:
    assert zones.resolve(typed) == zone
    assert read_timezone(typed) == zone


@pytest.mark.parametrize("typed", ["Mars/Olympus", "Atlantis", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_with_the_value(typed: str) -> None:
    with pytest.raises(FormError) as raised:
        read_timezone(typed)
    assert (raised.value.key, raised.value.params) == ("zones.unknown", {"value": typed})
    assert "Montréal" in Tr("fr")("zones.unknown", value=typed)


def test_the_curated_zones_are_real_distinct_and_canada_comes_first() -> None:
    assert all(is_zone(city.zone) for city in zones.CITIES)
    assert len({city.zone for city in zones.CITIES}) == len(zones.CITIES)
    assert zones.REGIONS[0][0] == "canada"
    canada = {city.zone for city in zones.REGIONS[0][1]}
    assert {"America/Toronto", "America/Vancouver", "America/Halifax", "America/St_Johns"} <= (
        canada
    )
    for tr in (Tr("fr"), Tr("en")):
        choice = timezone_input(tr, "America/Toronto")
        assert choice.options[0].group == "Canada" and choice.default == "America/Toronto"
        assert all(o.group for o in choice.options)
    assert timezone_input(Tr("fr"), "Europe/Brussels").options[0].label != "Brussels"


def test_a_stored_zone_that_is_not_listed_still_shows_as_selected() -> None:
    choice = timezone_input(Tr("fr"), "America/Montreal")
    first = choice.options[0]
    assert (first.value, first.group, choice.default) == (
        "America/Montreal",
        "Fuseau actuel",
        "America/Montreal",
    )
    listed = timezone_input(Tr("fr"), "America/Vancouver")
    assert [o.value for o in listed.options].count("America/Vancouver") == 1


def picker_card(language: str = "fr") -> Card:
    tr = Tr(language)
    return Card(
        title="Pickers",
        blocks=[
            timezone_input(tr, "America/Vancouver"),
            date_input("day", "Date", "2026-12-03"),
            date_input("pause", "Pause", "", required=False),
            time_input("at", "Heure", "13:30"),
            number_input("k", "Plus petit groupe", 3, 50, "5"),
        ],
        form=Form(action="x.save", submit_label="OK"),
    )


def test_the_card_model_keeps_pickers_and_groups_through_the_outbox_json() -> None:
    card = picker_card()
    again = Card.model_validate_json(card.model_dump_json())
    assert again == card
    number = next(b for b in again.inputs() if b.name == "k")
    assert isinstance(number, TextInput) and (number.picker, number.low, number.high) == (
        "number",
        3,
        50,
    )
    # A card stored before the pickers reads as plain text boxes.
    old = {"kind": "text", "name": "k", "label": "k"}
    assert TextInput.model_validate(old).picker == "text"


def test_slack_renders_each_picker_and_passes_the_strict_checks() -> None:
    card = picker_card()
    check_card(card)
    elements = {b.name: input_block(b)["element"] for b in card.inputs()}
    zone = elements["timezone"]
    assert zone["type"] == "static_select" and "options" not in zone
    assert [g["label"]["text"] for g in zone["option_groups"]][:3] == [
        "Canada",
        "Amériques",
        "Europe",
    ]
    assert zone["initial_option"]["value"] == "America/Vancouver"
    assert elements["day"] == {
        "type": "datepicker",
        "action_id": "day",
        "initial_date": "2026-12-03",
    }
    assert "initial_date" not in elements["pause"]
    assert elements["at"] == {"type": "timepicker", "action_id": "at", "initial_time": "13:30"}
    assert elements["k"] == {
        "type": "number_input",
        "action_id": "k",
        "is_decimal_allowed": False,
        "initial_value": "5",
        "min_value": "3",
        "max_value": "50",
    }


def test_slack_submission_state_is_read_back_from_every_picker() -> None:
    card = picker_card()
    assert card.form is not None
    view = sb.modal_view(card, private_metadata=sb.form_metadata(card.form))
    state = submission(
        view, {"timezone": "Africa/Dakar", "day": "2027-01-15", "at": "09:05", "k": "7"}
    )
    assert state["day"]["day"] == {"type": "datepicker", "selected_date": "2027-01-15"}
    assert state["at"]["at"] == {"type": "timepicker", "selected_time": "09:05"}
    assert state["pause"]["pause"] == {"type": "datepicker", "selected_date": None}
    values = bv.values_from_view_state(state)
    assert values == {
        "timezone": "Africa/Dakar",
        "day": "2027-01-15",
        "pause": "",
        "at": "09:05",
        "k": "7",
    }


def test_teams_renders_each_picker_as_adaptive_cards_1_5_inputs() -> None:
    content = tc.adaptive_card(picker_card("en"))
    inputs = {e["id"]: e for e in content["body"] if str(e["type"]).startswith("Input.")}
    zone = inputs["timezone"]
    assert (zone["type"], zone["style"], zone["value"]) == (
        "Input.ChoiceSet",
        "filtered",
        "America/Vancouver",
    )
    assert {
        "title": "Montreal, Toronto, Ottawa, Quebec City (Canada)",
        "value": "America/Toronto",
    } in (zone["choices"])
    assert inputs["day"] | {"label": ""} == {
        "type": "Input.Date",
        "id": "day",
        "label": "",
        "isRequired": True,
        "errorMessage": "Date",
        "value": "2026-12-03",
    }
    assert "value" not in inputs["pause"] and inputs["pause"]["isRequired"] is False
    assert (inputs["at"]["type"], inputs["at"]["value"]) == ("Input.Time", "13:30")
    number = inputs["k"]
    assert (number["type"], number["min"], number["max"], number["value"]) == (
        "Input.Number",
        3,
        50,
        5,
    )


def test_teams_submission_data_is_read_back_as_text() -> None:
    data = {
        tc.ACTION_KEY: "x.save",
        tc.CONTEXT_KEY: "{}",
        "timezone": "Europe/Paris",
        "day": "2027-01-15",
        "at": "09:05",
        "k": 7,  # a client that sends the number as a number
        "pause": "",
    }
    read = tc.submission(data)
    assert read is not None
    action, _, values = read
    assert action == "x.save"
    assert values == {
        "timezone": "Europe/Paris",
        "day": "2027-01-15",
        "at": "09:05",
        "k": "7",
        "pause": "",
    }
    assert parse_int(values["k"], 3, 50, "k") == 7


def test_the_sandbox_uses_the_browsers_pickers_and_optgroups() -> None:
    html = card_html(picker_card(), number=1, view=CardView(persona="camille", tr=Tr("fr")))
    assert re.search(r'<input type="date" id="m1-f1" name="day" value="2026-12-03" required>', html)
    assert '<input type="date" id="m1-f2" name="pause" value="">' in html
    assert '<input type="time" id="m1-f3" name="at" value="13:30" required>' in html
    assert re.search(r'<input type="number" [^>]*name="k" [^>]*min="3" max="50" value="5"', html)
    assert '<optgroup label="Canada">' in html and '<optgroup label="Afrique">' in html
    assert html.count("<optgroup") == html.count("</optgroup>") == len(zones.REGIONS)
    assert '<option value="America/Vancouver" selected>Vancouver, Victoria</option>' in html
    assert "caractères au plus" not in html


def test_the_console_shows_what_to_type_in_a_pickers_place() -> None:
    lines = card_lines(picker_card())
    assert "[k] Plus petit groupe (3–50)" in lines
    assert "[at] Heure (13:30, 13 h 30)" in lines
    assert any(line.startswith("  Canada: America/Toronto=Montréal") for line in lines)


def test_a_zone_is_named_by_its_city_where_forms_say_which_hours() -> None:
    assert zones.city_of("America/Toronto", "fr") == "Montréal"
    assert zones.city_of("Europe/Brussels", "fr") == "Bruxelles"
    assert zones.city_of("Europe/Brussels", "en") == "Brussels"
    assert zones.city_of("Asia/Kathmandu", "fr") == "Asia/Kathmandu"  # not listed: as stored
