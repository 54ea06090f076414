"""The coordinators' form for a reflexive-space question: a new one, or one scheduled before
(edited), and reading what they submitted.

The question is picked from the bank by its text, never by an internal code, or written in
their own words; both at once is refused (one of them would be silently dropped)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.calendar import local_to_utc, zone
from dialogs.cards import Card, Form, Paragraph, TextInput
from dialogs.content import ContentBank
from dialogs.forms import (
    FormError,
    choice,
    date_input,
    one_of,
    parse_date,
    parse_time,
    time_input,
)
from dialogs.i18n import Tr
from dialogs.reflexive import spaces
from dialogs.reflexive.models import ReflexiveSchedule
from dialogs.texts import clean
from dialogs.zones import city_of
from storage import teams
from storage.models import Team

CUSTOM = "custom"
NOT_CHOSEN = ""  # the "— Choose —" placeholder's value (renderers show it as nothing chosen)
RECURRENCES = ("once", "weekly", "biweekly", "monthly")
LEADS = ("0", "24", "48", "72")
PROMPT_LIMIT = 600
# The shortest option text a platform shows whole (Slack's 75 characters): a bank question
# longer than this may be cut in the list, so the card also shows it in full.
SHORTEST_OPTION_TEXT = 75


@dataclass(frozen=True)
class Draft:
    """A submitted schedule, checked: what `store.add_schedule` or an edit writes."""

    prompt_id: str | None
    custom_text: str | None
    first_local: dt.datetime
    recurrence: str
    lead_hours: int
    channel_id: int | None


def editing(context: dict[str, str] | None) -> str:
    """The schedule id a form edits ('' for a new question)."""
    return (context or {}).get("schedule", "")


async def schedule_form(
    session: AsyncSession,
    tr: Tr,
    bank: ContentBank,
    team: Team,
    now: dt.datetime,
    schedule: ReflexiveSchedule | None = None,
) -> Card:
    """The form, empty for a new question or filled with `schedule`'s values."""
    tz = zone(team.timezone)
    prompts = [(p.id, p.text.get(tr.language)) for p in bank.reflexive_prompts]
    long = [text for _, text in prompts if len(text) > SHORTEST_OPTION_TEXT]
    channels = [("all", tr("reflexive.all_channels"))] + [
        (str(c.id), f"{c.name or c.channel_ref} ({tr(f'platform.{c.platform}')})")
        for c in await teams.channels_of(session, team.id)
    ]
    picked, custom = NOT_CHOSEN, ""
    first = (now.astimezone(tz) + dt.timedelta(days=7)).replace(hour=13, minute=30)
    recurrence, lead, channel = "once", "24", "all"
    if schedule is not None:
        picked = schedule.prompt_id or CUSTOM
        custom = schedule.custom_text or ""
        # A recurring question begun in the past is edited from its next meeting on.
        upcoming = spaces.next_occurrence(schedule, team, now)
        first = upcoming.astimezone(tz) if upcoming is not None else schedule.first_local
        recurrence, lead = schedule.recurrence, str(schedule.lead_hours)
        channel = str(schedule.channel_id) if schedule.channel_id else "all"
    options = [*prompts, (CUSTOM, tr("reflexive.custom_option"))]
    if schedule is None:
        options.insert(0, (NOT_CHOSEN, tr("reflexive.choose")))
    full = [Paragraph(text=tr("reflexive.full_texts") + "\n" + "\n".join(f"• {t}" for t in long))]
    context = {"team": team.slug} | ({"schedule": str(schedule.id)} if schedule else {})
    return Card(
        title=tr("reflexive.edit_title" if schedule else "reflexive.title"),
        blocks=[
            Paragraph(text=tr("reflexive.intro", zone=city_of(team.timezone, tr.language))),
            choice("prompt", tr("reflexive.prompt_label"), options, picked),
            *(full if long else []),
            TextInput(
                name="custom",
                label=tr("reflexive.custom_label"),
                max_length=PROMPT_LIMIT,
                default=custom,
            ),
            date_input("date", tr("zones.meeting_date"), first.date().isoformat()),
            time_input("time", tr("zones.meeting_time"), first.strftime("%H:%M")),
            choice(
                "recurrence",
                tr("reflexive.recurrence_label"),
                [(r, tr(f"recurrence.{r}")) for r in RECURRENCES],
                recurrence,
            ),
            choice(
                "lead",
                tr("reflexive.lead_label"),
                [(h, tr("reflexive.lead_hours", hours=h)) for h in LEADS],
                lead,
            ),
            choice("channel", tr("reflexive.channel_label"), channels, channel),
        ],
        form=Form(
            action="reflexive.save",
            submit_label=tr("reflexive.save_edit" if schedule else "common.save"),
            context=context,
        ),
    )


async def read_schedule(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    values: dict[str, str],
    tr: Tr,
    now: dt.datetime,
) -> Draft:
    """What the coordinator submitted, checked; FormError says the first problem."""
    prompt = (values.get("prompt") or NOT_CHOSEN).strip()
    custom = clean(values.get("custom"), max_length=PROMPT_LIMIT, required=False)
    if prompt in (CUSTOM, NOT_CHOSEN):
        if not custom:
            raise FormError("errors.custom_prompt")
        prompt_id: str | None = None
    else:
        one_of(prompt, tuple(p.id for p in bank.reflexive_prompts), tr("reflexive.prompt_label"))
        if custom:  # one of the two would be dropped without a word: ask which
            raise FormError("reflexive.pick_one")
        prompt_id = prompt
    day = parse_date(values.get("date"), tr("zones.meeting_date"))
    if day is None:
        raise FormError("zones.bad_date", field=tr("zones.meeting_date"))
    at = parse_time(values.get("time"), tr("zones.meeting_time"))
    recurrence = one_of(values.get("recurrence"), RECURRENCES, tr("reflexive.recurrence_label"))
    lead = int(one_of(values.get("lead"), LEADS, tr("reflexive.lead_label")))
    channel_raw = values.get("channel") or "all"
    channel_ids = {str(c.id): c.id for c in await teams.channels_of(session, team.id)}
    if channel_raw != "all" and channel_raw not in channel_ids:
        raise FormError("errors.choice", field=tr("reflexive.channel_label"))
    first_local = dt.datetime.combine(day, at)
    if local_to_utc(first_local, zone(team.timezone)) <= now:
        raise FormError("errors.past_date", field=tr("zones.meeting_date"))
    return Draft(
        prompt_id=prompt_id,
        custom_text=custom or None,
        first_local=first_local,
        recurrence=recurrence,
        lead_hours=lead,
        channel_id=channel_ids.get(channel_raw),
    )


def saved_card(tr: Tr, team: Team, draft: Draft, *, edited: bool) -> Card:
    first = local_to_utc(draft.first_local, zone(team.timezone)).astimezone(zone(team.timezone))
    return Card(
        title=tr("reflexive.edited_title" if edited else "reflexive.saved_title"),
        blocks=[
            Paragraph(
                text=tr(
                    "reflexive.saved",
                    when=tr("common.datetime", when=first),
                    recurrence=tr(f"recurrence.{draft.recurrence}"),
                    lead=draft.lead_hours,
                )
            ),
        ],
    )
