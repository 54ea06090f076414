"""Reflexive-space prompts: a coordinator schedules one; members pre-reflect; the bot posts.

A pre-reflection is sealed (kind "pre_reflection", batch "occurrence:<id>") until the
meeting's post, opened then, posted shuffled, and its sealed row deleted: nothing is kept.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, unopenable
from dialogs.calendar import local_to_utc, recurrences, zone
from dialogs.cards import Card, Form, Paragraph, TextInput, notice
from dialogs.content import ContentBank
from dialogs.forms import (
    FormError,
    choice,
    line_input,
    one_of,
    own_words,
    parse_date,
    parse_time,
)
from dialogs.i18n import Tr
from dialogs.reflexive import store
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.registry import Occasion
from dialogs.texts import clean
from dialogs.turn import Turn
from storage import teams
from storage.models import Team
from storage.sealed_batches import once_id, seal_once, take

CUSTOM = "custom"
RECURRENCES = ("once", "weekly", "biweekly", "monthly")
LEADS = ("0", "24", "48", "72")
PROMPT_LIMIT = 600
PRE_REFLECTION_LIMIT = 600
PRE_KIND = "pre_reflection"


async def schedule_form(
    session: AsyncSession, tr: Tr, bank: ContentBank, team: Team, now: dt.datetime
) -> Card:
    prompts = [(p.id, f"{p.id} · {p.text.get(tr.language)}") for p in bank.reflexive_prompts]
    channels = [("all", tr("reflexive.all_channels"))] + [
        (str(c.id), f"{c.name or c.channel_ref} ({tr(f'platform.{c.platform}')})")
        for c in await teams.channels_of(session, team.id)
    ]
    tomorrow = (now.astimezone(zone(team.timezone)) + dt.timedelta(days=7)).date()
    return Card(
        title=tr("reflexive.title"),
        blocks=[
            Paragraph(text=tr("reflexive.intro", zone=team.timezone)),
            choice(
                "prompt",
                tr("reflexive.prompt_label"),
                [*prompts, (CUSTOM, tr("reflexive.custom_option"))],
                prompts[0][0],
            ),
            TextInput(name="custom", label=tr("reflexive.custom_label"), max_length=PROMPT_LIMIT),
            line_input("date", tr("reflexive.date_label"), 10, tomorrow.isoformat()),
            line_input("time", tr("reflexive.time_label"), 5, "13:30"),
            choice(
                "recurrence",
                tr("reflexive.recurrence_label"),
                [(r, tr(f"recurrence.{r}")) for r in RECURRENCES],
                "once",
            ),
            choice(
                "lead",
                tr("reflexive.lead_label"),
                [(h, tr("reflexive.lead_hours", hours=h)) for h in LEADS],
                "24",
            ),
            choice("channel", tr("reflexive.channel_label"), channels, "all"),
        ],
        form=Form(
            action="reflexive.save", submit_label=tr("common.save"), context={"team": team.slug}
        ),
    )


async def save_schedule(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    values: dict[str, str],
    tr: Tr,
    now: dt.datetime,
) -> Card:
    prompt = values.get("prompt") or ""
    custom = clean(values.get("custom"), max_length=PROMPT_LIMIT, required=False)
    if prompt == CUSTOM:
        if not custom:
            raise FormError("errors.custom_prompt")
        prompt_id = None
    else:
        one_of(prompt, tuple(p.id for p in bank.reflexive_prompts), tr("reflexive.prompt_label"))
        prompt_id, custom = prompt, ""
    day = parse_date(values.get("date"), tr("reflexive.date_label"))
    if day is None:
        raise FormError("errors.date", field=tr("reflexive.date_label"))
    at = parse_time(values.get("time"), tr("reflexive.time_label"))
    recurrence = one_of(values.get("recurrence"), RECURRENCES, tr("reflexive.recurrence_label"))
    lead = int(one_of(values.get("lead"), LEADS, tr("reflexive.lead_label")))
    channel_raw = values.get("channel") or "all"
    channel_ids = {str(c.id): c.id for c in await teams.channels_of(session, team.id)}
    if channel_raw != "all" and channel_raw not in channel_ids:
        raise FormError("errors.choice", field=tr("reflexive.channel_label"))
    first_local = dt.datetime.combine(day, at)
    tz = zone(team.timezone)
    if local_to_utc(first_local, tz) <= now:
        raise FormError("errors.past_date", field=tr("reflexive.date_label"))
    schedule = await store.add_schedule(
        session,
        team_id=team.id,
        prompt_id=prompt_id,
        custom_text=custom or None,
        first_local=first_local,
        recurrence=recurrence,
        lead_hours=lead,
        channel_id=channel_ids.get(channel_raw),
    )
    if schedule is None:
        return notice(tr("reflexive.duplicate_title"), tr("reflexive.duplicate"))
    first = local_to_utc(first_local, tz).astimezone(tz)
    return Card(
        title=tr("reflexive.saved_title"),
        blocks=[
            Paragraph(
                text=tr(
                    "reflexive.saved",
                    when=tr("common.datetime", when=first),
                    recurrence=tr(f"recurrence.{recurrence}"),
                    lead=lead,
                )
            ),
        ],
    )


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
) -> Card:
    when = occurrence.occurs_at.astimezone(zone(team.timezone))
    return Card(
        title=tr("reflexive.invite_title"),
        blocks=[
            Paragraph(text=tr("reflexive.invite", when=tr("common.datetime", when=when))),
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
        lambda tr, _: invitation_card(tr, bank, team, schedule, occurrence),
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
        blocks.append(Paragraph(text=tr("reflexive.post_notes", count=len(notes))))
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
