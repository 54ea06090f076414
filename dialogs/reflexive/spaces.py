"""Reflexive-space prompts: members are invited and pre-reflect; the bot posts. (The
coordinators' form is in `scheduling`, the list, edits and cancelling in `manage`.)

A pre-reflection is sealed (kind "pre_reflection", batch "occurrence:<id>") until the
meeting's post, opened then, posted shuffled, and its sealed row deleted: nothing is kept.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times, unopenable
from dialogs.calendar import recurrences, zone
from dialogs.cards import Card, Form, Paragraph, notice
from dialogs.content import ContentBank
from dialogs.forms import own_words
from dialogs.i18n import Tr
from dialogs.reflexive import store
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.registry import Occasion
from dialogs.texts import clean
from dialogs.turn import Turn
from storage import teams
from storage.models import Member, Team
from storage.sealed_batches import once_id, seal_once, take

PRE_REFLECTION_LIMIT = 600
PRE_KIND = "pre_reflection"


def prompt_text(bank: ContentBank, schedule: ReflexiveSchedule, language: str) -> str:
    if schedule.prompt_id:
        return bank.reflexive_prompt(schedule.prompt_id).text.get(language)
    return schedule.custom_text or ""


def invitation_card(
    tr: Tr,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    occurrence: ReflexiveOccurrence,
    member: Member | None,
    *,
    moved: bool = False,
) -> Card:
    """The invitation to pre-reflect, the meeting's time on the member's clock (`moved`: again,
    after a coordinator moved the meeting; what was already sent for it is kept)."""
    when = times.shown(tr, occurrence.occurs_at, team, member)
    return Card(
        title=tr("reflexive.moved_title" if moved else "reflexive.invite_title"),
        blocks=[
            Paragraph(text=tr("reflexive.moved" if moved else "reflexive.invite", when=when)),
            Paragraph(
                text=prompt_text(bank, schedule, tr.language), from_user=schedule.prompt_id is None
            ),
            *own_words(
                tr,
                intro=tr("reflexive.invite_anonymous"),
                label=tr("reflexive.pre_label"),
                max_length=PRE_REFLECTION_LIMIT,
            ),
        ],
        form=Form(
            action="reflexive.pre",
            submit_label=tr("reflexive.pre_submit"),
            context={"team": team.slug, "occurrence": str(occurrence.id)},
        ),
    )


async def save_pre_reflection(
    turn: Turn, occurrence: ReflexiveOccurrence, values: dict[str, str]
) -> Card:
    """Seal the note until the meeting's post, the only moment it is read; nothing of it
    remains after that post."""
    session, tr, now, sealer, team = turn.session, turn.tr, turn.now, turn.sealer, turn.team
    assert team is not None
    if occurrence.posted or occurrence.occurs_at <= now:
        return notice(tr("reflexive.pre_closed_title"), tr("reflexive.pre_closed"))
    text = clean(values.get("text"), max_length=PRE_REFLECTION_LIMIT)
    if not await seal_once(
        session,
        sealer,
        row_id=once_id(sealer, PRE_KIND, team.id, occurrence.id, text.strip()),
        team_id=team.id,
        kind=PRE_KIND,
        batch=pre_batch(occurrence),
        payload={"text": text},
    ):
        return notice(tr("reflexive.pre_duplicate_title"), tr("reflexive.pre_duplicate"))
    return notice(tr("reflexive.pre_thanks_title"), tr("reflexive.pre_thanks"))


def pre_batch(occurrence: ReflexiveOccurrence) -> str:
    return f"occurrence:{occurrence.id}"


def next_occurrence(
    schedule: ReflexiveSchedule, team: Team, after: dt.datetime
) -> dt.datetime | None:
    found = recurrences(schedule.first_local, schedule.recurrence, zone(team.timezone), after)
    return found[0] if found else None


async def invite(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    occurs_at: dt.datetime,
    now: dt.datetime,
) -> int:
    occurrence = await store.occurrence(session, schedule.id, occurs_at)
    if occurrence.invited:
        return 0
    sent = await outbound.to_each(
        session,
        team,
        await teams.active_members(session, team.id),
        lambda tr, member: invitation_card(tr, bank, team, schedule, occurrence, member),
        key=f"reflexive-invite:{occurrence.id}",
        now=now,
    )
    occurrence.invited = True
    return sent


async def post(occasion: Occasion, schedule: ReflexiveSchedule, occurs_at: dt.datetime) -> bool:
    """Post the question with the meeting's pre-reflections, opened now, shuffled; their
    sealed rows are deleted in the same transaction, so none is kept anywhere after."""
    session, bank, team, now = occasion.session, occasion.bank, occasion.team, occasion.now
    sealer = occasion.sealer
    occurrence = await store.occurrence(session, schedule.id, occurs_at)
    if occurrence.posted:
        return False
    tr = Tr(team.language)
    opened = await take(
        session, sealer, team_id=team.id, kind=PRE_KIND, batches=[pre_batch(occurrence)]
    )
    await unopenable.tell_team(
        session, team, PRE_KIND, opened.unopenable, now, channel_id=schedule.channel_id
    )
    notes = [str(p["text"]) for p in opened.payloads]  # already shuffled
    blocks = [
        Paragraph(text=tr("reflexive.post_intro")),
        Paragraph(
            text=prompt_text(bank, schedule, tr.language), from_user=schedule.prompt_id is None
        ),
    ]
    if notes:
        blocks.append(Paragraph(text=tr("reflexive.post_notes", n=len(notes))))
        blocks += [Paragraph(text=note, from_user=True) for note in notes]
    blocks.append(Paragraph(text=tr("reflexive.post_outro")))
    card = Card(title=tr("reflexive.post_title", team=team.name), blocks=blocks)
    await outbound.to_channels(
        session,
        team,
        card,
        key=f"reflexive:{occurrence.id}",
        now=now,
        channel_id=schedule.channel_id,
    )
    occurrence.posted = True
    return True
