"""The pulse summary on demand (`summary`, `summary csv`), monthly, after each close, and its
open answers once coordinators released them."""

from __future__ import annotations

from collections.abc import Mapping

from apscheduler.triggers.cron import CronTrigger

from dialogs import outbound
from dialogs.calendar import zone
from dialogs.cards import Card, Paragraph
from dialogs.commands import Command, fold
from dialogs.content import ContentBank
from dialogs.forms import refused
from dialogs.i18n import Tr
from dialogs.registry import ClosedRound, Occasion
from dialogs.summaries import card, pulse, store
from dialogs.summaries.export import export_card, round_label
from dialogs.turn import Turn, is_reader
from storage import teams
from storage.models import Team

EXPORT_WORDS = ("csv", "export", "exporter")


async def summary_command(turn: Turn, command: Command, context: Mapping[str, str]) -> list[Card]:
    tr, team = turn.tr, turn.team
    assert team is not None
    exporting = fold(command.word) in EXPORT_WORDS
    if exporting or (command.args and fold(command.args[0]) in EXPORT_WORDS):
        if not turn.is_coordinator:
            return [refused(tr, "errors.coordinators_only")]
        return await export(turn)
    shown = await card.card_for(
        turn.session, turn.bank, team, tr, turn.today, coordinator=turn.is_coordinator
    )
    return [shown]


async def export(turn: Turn) -> list[Card]:
    """The summary's published figures as a CSV file (`export`, or `summary csv`)."""
    team = turn.team
    assert team is not None
    computed = await pulse.compute(turn.session, team, turn.today)
    days = await store.round_days(turn.session, team.id)  # "Bilan nᵒ 4 — 3 novembre 2026"
    return [export_card(computed, turn.tr, team.slug, turn.bank, days)]


def monthly_trigger(team: Team) -> CronTrigger:
    """At 9:00 on the 1st: never in a DST change, which happens at night."""
    return CronTrigger(day=1, hour=9, minute=0, timezone=zone(team.timezone))


async def monthly(occasion: Occasion) -> tuple[str, int]:
    team, now = occasion.team, occasion.now
    local = occasion.scheduled.astimezone(zone(team.timezone))
    occasion_key = f"manual:{now:%Y%m%dT%H%M}" if occasion.forced else f"monthly:{local:%Y-%m}"
    sent = await card.send_to_readers(
        occasion.session, occasion.bank, team, now, occasion=occasion_key
    )
    return "jobs.summary", sent


async def after_close(occasion: Occasion, round_: ClosedRound) -> int:
    """Each round's close brings its readers the new summary."""
    return await card.send_to_readers(
        occasion.session, occasion.bank, occasion.team, occasion.now, occasion=f"round{round_.seq}"
    )


async def after_release(occasion: Occasion, round_: ClosedRound) -> int:
    """Coordinators released a closed round's reviewed open answers: its readers get them.

    A short card headed with the round, not the whole summary again: the figures went out at
    the close and have not changed; only the texts are new. The texts come from the summary's
    own read (`pulse.compute`: the latest check-in unit's visible answers, which exist only
    once that unit reached k), sent to the summary's readers (`is_reader`): neither rule has a
    second copy here. The outbox key holds it to once per reader and round.
    """
    team = occasion.team
    summary = await pulse.compute(occasion.session, team, occasion.now.date())
    unit = summary.latest
    # The texts shown are the latest unit's; a later round closed since has its own summary.
    if unit is None or unit.last_seq != round_.seq or round_.kind != "checkin":
        return 0
    if not summary.texts:
        return 0  # all hidden: nothing was released
    readers = [
        m for m in await teams.active_members(occasion.session, team.id) if is_reader(team, m)
    ]
    return await outbound.to_each(
        occasion.session,
        team,
        readers,
        lambda tr, _: released_card(summary, unit, occasion.bank, tr),
        key=f"summary:{team.id}:released{round_.seq}",
        now=occasion.now,
        respect_quiet_hours=False,  # as the summary: both sectors at the same moment
    )


def released_card(summary: pulse.PulseSummary, unit: pulse.Unit, bank: ContentBank, tr: Tr) -> Card:
    blocks = [Paragraph(text=tr("summary.released.intro"))]
    for question in dict.fromkeys(q for q, _ in summary.texts):  # in order, once each
        try:
            asked = bank.any_item_text(question).get(tr.language)
            blocks.append(Paragraph(text=tr("summary.released.question", question=asked)))
        except KeyError:
            pass  # a question since removed from the bank: its answers still show
        blocks += [
            Paragraph(text=text, from_user=True) for q, text in summary.texts if q == question
        ]
    return Card(title=tr("summary.released.title", round=round_label(unit, tr, {})), blocks=blocks)
