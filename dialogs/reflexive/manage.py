"""The scheduled reflexive questions as coordinators manage them: the list, an edit's
consequences for a meeting members were already invited to, and cancelling.

A pre-reflection is sealed with no author, so nobody knows who wrote one. When a question is
cancelled, or changed after members were invited, every member who was invited is told (those
who pre-reflected among them), and the meeting's sealed notes are deleted without ever being
opened: privacy is what it was, and nothing waits for a meeting that will not happen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times
from dialogs.cards import Button, Card, Paragraph, notice
from dialogs.content import ContentBank
from dialogs.i18n import Tr
from dialogs.reflexive import spaces, store
from dialogs.reflexive.models import ReflexiveOccurrence, ReflexiveSchedule
from dialogs.reflexive.scheduling import Draft, saved_card
from storage import teams
from storage.dedupe import digest
from storage.models import Member, Team
from storage.sealed import delete_batch


async def upcoming(
    session: AsyncSession, team: Team, now: dt.datetime
) -> list[tuple[ReflexiveSchedule, dt.datetime]]:
    """The team's active questions that still have a meeting ahead, with the next one."""
    found = []
    for schedule in await store.schedules_of(session, team.id):
        next_one = spaces.next_occurrence(schedule, team, now)
        if next_one is not None:
            found.append((schedule, next_one))
    return found


async def list_card(
    session: AsyncSession, tr: Tr, bank: ContentBank, team: Team, now: dt.datetime
) -> Card:
    """Each scheduled question: its next meeting, its repetition, the question in full in the
    coordinator's language; Edit and Cancel buttons; and a button for a new one."""
    blocks = [Paragraph(text=tr("reflexive.list_intro", zone=team.timezone))]
    buttons = []
    for number, (schedule, next_one) in enumerate(await upcoming(session, team, now), start=1):
        head = tr(
            "reflexive.list_item",
            number=number,
            when=times.shown(tr, next_one, team),
            recurrence=tr(f"recurrence.{schedule.recurrence}"),
        )
        blocks += [
            Paragraph(text=head),
            Paragraph(
                text=spaces.prompt_text(bank, schedule, tr.language),
                from_user=schedule.prompt_id is None,
            ),
        ]
        context = {"team": team.slug, "schedule": str(schedule.id)}
        buttons += [
            Button(
                label=tr("reflexive.edit_button", number=number),
                action="reflexive.edit",
                context=context,
            ),
            Button(
                label=tr("reflexive.cancel_button", number=number),
                action="reflexive.cancel",
                style="danger",
                context=context,
            ),
        ]
    buttons.append(
        Button(
            label=tr("reflexive.new_button"),
            action="reflexive.new",
            style="primary",
            context={"team": team.slug},
        )
    )
    return Card(title=tr("reflexive.list_title"), blocks=blocks, buttons=buttons)


def cancel_card(
    tr: Tr, bank: ContentBank, team: Team, schedule: ReflexiveSchedule, now: dt.datetime
) -> Card:
    """Are you sure? What cancelling does, with the confirming button and a way back."""
    next_one = spaces.next_occurrence(schedule, team, now)
    when = times.shown(tr, next_one, team) if next_one else ""
    context = {"team": team.slug, "schedule": str(schedule.id)}
    return Card(
        title=tr("reflexive.cancel_title"),
        blocks=[
            Paragraph(text=tr("reflexive.cancel_question", when=when)),
            Paragraph(
                text=spaces.prompt_text(bank, schedule, tr.language),
                from_user=schedule.prompt_id is None,
            ),
            Paragraph(text=tr("reflexive.cancel_effects")),
        ],
        buttons=[
            Button(
                label=tr("reflexive.cancel_confirm"),
                action="reflexive.cancel_confirm",
                style="danger",
                context=context,
            ),
            Button(
                label=tr("reflexive.cancel_keep"),
                action="command",
                context={"team": team.slug, "text": "reflexive"},
            ),
        ],
    )


async def cancel(
    session: AsyncSession,
    tr: Tr,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    now: dt.datetime,
) -> Card:
    """Cancel every meeting of `schedule` still ahead; tell the members who were invited."""
    told = await forget(
        session, bank, team, schedule, await store.pending_occurrences(session, schedule.id), now
    )
    schedule.active = False
    # Its key goes, so that the same question can be scheduled again at the same time.
    schedule.dedupe_key = digest("reflexive-cancelled", schedule.id)
    return notice(tr("reflexive.cancelled_title"), tr("reflexive.cancelled", n=told))


async def forget(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    occurrences: Sequence[ReflexiveOccurrence],
    now: dt.datetime,
    *,
    changed: bool = False,
) -> int:
    """Delete these meetings and their sealed pre-reflections, unread; tell each member who
    was invited to one. Returns how many were told."""
    told = 0
    members = await teams.active_members(session, team.id)
    for occurrence in occurrences:
        await delete_batch(
            session, team_id=team.id, kind=spaces.PRE_KIND, batches=[spaces.pre_batch(occurrence)]
        )
        if occurrence.invited:
            when = occurrence.occurs_at
            key = "changed" if changed else "cancelled"

            def card(tr: Tr, member: Member, when: dt.datetime = when, key: str = key) -> Card:
                return Card(
                    title=tr(f"reflexive.{key}_notice_title"),
                    blocks=[
                        Paragraph(
                            text=tr(
                                f"reflexive.{key}_notice",
                                when=times.shown(tr, when, team, member),
                            )
                        ),
                        Paragraph(
                            text=spaces.prompt_text(bank, schedule, tr.language),
                            from_user=schedule.prompt_id is None,
                        ),
                        Paragraph(text=tr("reflexive.notes_deleted")),
                    ],
                )

            told += await outbound.to_each(
                session, team, members, card, key=f"reflexive-{key}:{occurrence.id}", now=now
            )
        await session.delete(occurrence)
    await session.flush()
    return told


async def apply_edit(
    session: AsyncSession,
    tr: Tr,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    draft: Draft,
    now: dt.datetime,
) -> Card:
    """Write the edited schedule. A meeting members were invited to keeps its pre-reflections
    when only its time moves (they are told the new time); a new question makes them moot,
    so they are deleted unread and the members told, then invited again."""
    key = store.schedule_key(
        team.id,
        draft.prompt_id,
        draft.custom_text,
        draft.first_local,
        draft.recurrence,
        draft.channel_id,
    )
    if await store.key_taken(session, key, schedule.id):
        return notice(tr("reflexive.duplicate_title"), tr("reflexive.duplicate"))
    pending = await store.pending_occurrences(session, schedule.id)
    new_question = (draft.prompt_id, draft.custom_text) != (
        schedule.prompt_id,
        schedule.custom_text,
    )
    # The old question, told to those invited to it, before the schedule changes.
    invited = [o for o in pending if o.invited]
    if new_question:
        await forget(session, bank, team, schedule, invited, now, changed=True)
        invited = []
    schedule.prompt_id, schedule.custom_text = draft.prompt_id, draft.custom_text
    schedule.first_local, schedule.recurrence = draft.first_local, draft.recurrence
    schedule.lead_hours, schedule.channel_id = draft.lead_hours, draft.channel_id
    schedule.dedupe_key = key
    # Meetings nobody was invited to hold nothing: they go, and come back on the new times.
    await forget(session, bank, team, schedule, [o for o in pending if not o.invited], now)
    next_one = spaces.next_occurrence(schedule, team, now)
    if invited:
        first, *others = invited  # one meeting ahead is invited at a time; others are stale
        await forget(session, bank, team, schedule, others, now, changed=True)
        if next_one is None:
            await forget(session, bank, team, schedule, [first], now, changed=True)
        elif first.occurs_at != next_one:
            first.occurs_at = next_one
            await tell_moved(session, bank, team, schedule, first, now)
    return saved_card(tr, team, draft, edited=True)


async def tell_moved(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    schedule: ReflexiveSchedule,
    occurrence: ReflexiveOccurrence,
    now: dt.datetime,
) -> int:
    """The invitation again, at the meeting's new time (what was sent for it is kept)."""

    def card(tr: Tr, member: Member) -> Card:
        return spaces.invitation_card(tr, bank, team, schedule, occurrence, member, moved=True)

    return await outbound.to_each(
        session,
        team,
        await teams.active_members(session, team.id),
        card,
        key=f"reflexive-moved:{occurrence.id}:{occurrence.occurs_at:%Y%m%d%H%M}",
        now=now,
    )
