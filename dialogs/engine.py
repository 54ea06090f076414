"""The dialog engine: one neutral event in, the replies for its author out.

Each event is handled in one database transaction. What goes to other people or to channels is
queued in the outbox inside that transaction; what answers the author is returned to the adapter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dialogs import (
    checkins,
    open_review,
    outbound,
    profile,
    reflexive,
    successes,
    summary,
    team_admin,
    tensions,
)
from dialogs.cards import Button, Card, Paragraph, notice
from dialogs.commands import Command, fold, help_card, parse
from dialogs.content import ContentBank, default_bank
from dialogs.events import (
    CommandReceived,
    FormSubmitted,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    TeamInstalled,
)
from dialogs.export import export_card
from dialogs.forms import FormError, refill, with_error
from dialogs.i18n import Tr, language_of
from dialogs.jobs import Jobs
from dialogs.rate_limit import WeeklyLimiter
from dialogs.texts import TextRejected
from dialogs.turn import Turn, resolve
from storage import reflexive as reflexive_store
from storage import rounds, teams
from storage import tensions as tension_store
from storage.database import Database
from storage.models import Member, ReflexiveSchedule

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
Handler = Callable[[Turn, FormSubmitted], Awaitable[list[Card]]]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Engine:
    def __init__(
        self, database: Database, bank: ContentBank | None = None, clock: Clock = utcnow
    ) -> None:
        self.database = database
        self.bank = bank or default_bank()
        self.clock = clock
        self.jobs = Jobs(database, self.bank, clock)
        self.tension_limiter = WeeklyLimiter()
        # Called with a team id when its calendar changes, so the scheduler can follow.
        self.on_schedule_change: list[Callable[[int], Any]] = []
        self._forms: dict[str, Handler] = {
            "command": self._form_command,
            "profile.save": self._profile_save,
            "checkin.submit": self._checkin_submit,
            "checkin.skip": self._checkin_skip,
            "tension.preview": self._tension_preview,
            "tension.edit": self._tension_edit,
            "tension.cancel": self._tension_cancel,
            "tension.confirm": self._tension_confirm,
            "tension.approve": self._tension_review,
            "tension.reject": self._tension_review,
            "tension.reply_form": self._tension_reply_form,
            "tension.reply": self._tension_reply,
            "success.submit": self._success_submit,
            "reflexive.save": self._reflexive_save,
            "reflexive.pre": self._reflexive_pre,
            "settings.save": self._settings_save,
            "schedule.save": self._schedule_save,
            "setup.save": self._setup_save,
            "open.approve": self._open_review,
            "open.hide": self._open_review,
        }

    # ----------------------------------------------------------------- entry point
    async def handle(self, event: InboundEvent) -> list[Card]:
        changed: set[int] = set()
        async with self.database.session() as session:
            turn = Turn(
                session, self.clock(), self.bank, event.actor, event.place, calendar_changed=changed
            )
            try:
                async with session.begin():
                    cards = await self._dispatch(turn, event)
            except Exception:
                log.exception("event %s failed", type(event).__name__)
                tr = turn.tr
                return [notice(tr("errors.internal_title"), tr("errors.internal"))]
        # After the commit, so a listener that re-reads the team sees the change.
        for team_id in changed:
            for listener in self.on_schedule_change:
                listener(team_id)
        return cards

    async def _dispatch(self, turn: Turn, event: InboundEvent) -> list[Card]:
        if isinstance(event, CommandReceived):
            return await self._command(turn, parse(event.text), team_hint=None)
        if isinstance(event, FormSubmitted):
            return await self._form(turn, event)
        if isinstance(event, MemberJoined):
            return await self._joined(turn, event)
        if isinstance(event, MemberLeft):
            return await self._left(turn)
        if isinstance(event, TeamInstalled):
            return await self._installed(turn)
        raise TypeError(f"unknown event {event!r}")

    # ----------------------------------------------------------------- commands
    async def _command(
        self,
        turn: Turn,
        command: Command,
        team_hint: str | None,
        context: dict[str, str] | None = None,
    ) -> list[Card]:
        ambiguous = await resolve(turn, team_hint)
        if ambiguous:
            return [self._pick_team(turn, command, ambiguous)]
        tr, team, member = turn.tr, turn.team, turn.member
        if command.name == "setup":
            return await self._setup(turn)
        if team is None or member is None or command.name in ("", "help"):
            return [
                help_card(
                    tr,
                    member=member is not None,
                    reader=turn.is_reader,
                    coordinator=turn.is_coordinator,
                    team_name=team.name if team else None,
                    unknown=command.word if not command.name else "",
                )
            ]
        bank, session, now = self.bank, turn.session, turn.now
        if command.name == "profile":
            return [profile.profile_card(tr, team, member)]
        if command.name == "checkin":
            return await self._checkin_command(turn, command)
        if command.name == "tension":
            if command.args:
                return [await tensions.followup_card(session, bank, " ".join(command.args), tr)]
            return [
                tensions.form_card(tr, bank, team, prompt_id=(context or {}).get("prompt") or None)
            ]
        if command.name == "success":
            prompt = (context or {}).get("prompt") or None
            return [successes.form_card(tr, bank, team, prompt_id=prompt)]
        if command.name == "summary":
            return [await self._summary(turn, command)]
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        if command.name == "reflexive":
            return [await reflexive.schedule_form(session, tr, bank, team, now)]
        if command.name == "schedule":
            return [team_admin.schedule_card(tr, team)]
        if command.name == "settings":
            return [team_admin.settings_card(tr, team)]
        raise AssertionError(command.name)

    async def _checkin_command(self, turn: Turn, command: Command) -> list[Card]:
        tr, team, member, session, now = turn.tr, turn.team, turn.member, turn.session, turn.now
        assert team is not None and member is not None
        argument = command.first_arg
        if argument == "now":
            if not turn.is_coordinator:
                return [self._refused(tr, "errors.coordinators_only")]
            key, count = await self.jobs.checkin(session, team, now, forced=True)
            return [
                Card(title=tr("jobs.done_title"), blocks=[Paragraph(text=tr(key, count=count))])
            ]
        if argument == "pause":
            return [profile.profile_card(tr, team, member)]
        if argument == "resume":
            member.paused_until = None
            return [notice(tr("checkin.resumed_title"), tr("checkin.resumed"))]
        round_ = await rounds.open_round_of(session, team.id)
        if round_ is None or round_.closes_at <= now:
            return [notice(tr("checkin.none_title"), tr("checkin.none"))]
        if argument == "skip":
            return [await self._skip(turn, round_.id)]
        status = await rounds.status_of(session, round_.id, member.id)
        if status != rounds.ASKED:
            key = "checkin.not_asked" if status is None else f"checkin.already_{status}"
            return [Card(title=tr("checkin.already_title"), blocks=[Paragraph(text=tr(key))])]
        return [checkins.round_card(tr, self.bank, team, round_)]

    async def _summary(self, turn: Turn, command: Command) -> Card:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_reader:
            return self._refused(tr, "errors.readers_only")
        if command.args and fold(command.args[0]) in ("csv", "export", "exporter"):
            if not turn.is_coordinator:
                return self._refused(tr, "errors.coordinators_only")
            computed = await summary.compute(turn.session, team, turn.today)
            return export_card(computed, tr, team.slug)
        return await summary.card_for(
            turn.session, self.bank, team, tr, turn.today, coordinator=turn.is_coordinator
        )

    async def _setup(self, turn: Turn) -> list[Card]:
        tr = turn.tr
        if turn.place is None:
            return [self._refused(tr, "setup.in_channel")]
        if turn.team is not None:
            if not turn.is_coordinator:
                return [self._refused(tr, "errors.already_linked")]
            return [team_admin.settings_card(tr, turn.team)]
        return [team_admin.setup_card(tr, turn.place)]

    def _pick_team(self, turn: Turn, command: Command, choices: list[Any]) -> Card:
        tr = turn.tr
        text = " ".join([command.word, *command.args]).strip() or "help"
        return Card(
            title=tr("teams.pick_title"),
            blocks=[Paragraph(text=tr("teams.pick"))],
            buttons=[
                Button(label=t.name, action="command", context={"team": t.slug, "text": text})
                for t in choices
            ],
        )

    @staticmethod
    def _refused(tr: Tr, key: str) -> Card:
        return Card(title=tr("errors.refused_title"), blocks=[Paragraph(text=tr(key))])

    # ----------------------------------------------------------------- forms
    async def _form(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        handler = self._forms.get(event.action)
        if handler is None:
            return [self._refused(turn.tr, "errors.stale_button")]
        if event.action not in ("command", "setup.save"):
            await resolve(turn, event.context.get("team"))
            if turn.member is None or turn.team is None:
                return [self._refused(turn.tr, "errors.not_member")]
        try:
            return await handler(turn, event)
        except (FormError, TextRejected) as problem:
            card = await self._form_again(turn, event)
            return [with_error(card, turn.tr, problem.key, **problem.params)]
        except checkins.BallotRejected as rejected:
            return [with_error(rejected.card, turn.tr, rejected.key, **rejected.params)]

    async def _form_again(self, turn: Turn, event: FormSubmitted) -> Card:
        """The card the person just submitted, rebuilt with what they typed."""
        tr, team, member, bank = turn.tr, turn.team, turn.member, self.bank
        action, values = event.action, event.values
        if action == "setup.save" and turn.place is not None:
            card = team_admin.setup_card(tr, turn.place)
        elif team is None or member is None:
            return Card(title=tr("errors.refused_title"))
        elif action == "profile.save":
            card = profile.profile_card(tr, team, member)
        elif action in ("tension.preview", "tension.confirm"):
            card = tensions.form_card(tr, bank, team, prompt_id=event.context.get("prompt") or None)
        elif action == "tension.reply":
            tension = await tension_store.tension_by_id(
                turn.session, event.context.get("tension", "")
            )
            card = (
                tensions.reply_form(tr, team, tension) if tension else Card(title=tr("reply.title"))
            )
        elif action == "success.submit":
            card = successes.form_card(
                tr, bank, team, prompt_id=event.context.get("prompt") or None
            )
        elif action == "reflexive.save":
            card = await reflexive.schedule_form(turn.session, tr, bank, team, turn.now)
        elif action == "reflexive.pre":
            card = await self._invitation_again(turn, event)
        elif action == "settings.save":
            card = team_admin.settings_card(tr, team)
        elif action == "schedule.save":
            card = team_admin.schedule_card(tr, team)
        else:
            card = Card(title=tr("errors.refused_title"))
        return refill(card, values)

    async def _invitation_again(self, turn: Turn, event: FormSubmitted) -> Card:
        assert turn.team is not None
        occurrence = await reflexive_store.occurrence_by_id(
            turn.session, _int(event.context.get("occurrence"))
        )
        if occurrence is None:
            return Card(title=turn.tr("reflexive.invite_title"))
        schedule = await turn.session.get(ReflexiveSchedule, occurrence.schedule_id)
        assert schedule is not None
        return reflexive.invitation_card(turn.tr, self.bank, turn.team, schedule, occurrence)

    async def _form_command(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        return await self._command(
            turn,
            parse(event.context.get("text", "help")),
            team_hint=event.context.get("team"),
            context=event.context,
        )

    async def _profile_save(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.member is not None and turn.team is not None
        profile.apply_profile(turn, turn.member, event.values)
        tr = Tr(turn.member.language or turn.team.language)
        return [notice(tr("profile.saved_title"), tr("profile.saved"))]

    async def _checkin_submit(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None and turn.member is not None
        round_ = await rounds.round_by_id(turn.session, _int(event.context.get("round")))
        if round_ is None or round_.team_id != turn.team.id:
            return [self._refused(turn.tr, "errors.stale_button")]
        return [
            await checkins.submit(
                turn.session,
                self.bank,
                turn.team,
                turn.member,
                round_,
                event.values,
                turn.tr,
                turn.now,
            )
        ]

    async def _checkin_skip(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        return [await self._skip(turn, _int(event.context.get("round")))]

    async def _skip(self, turn: Turn, round_id: int) -> Card:
        tr = turn.tr
        assert turn.member is not None
        round_ = await rounds.round_by_id(turn.session, round_id)
        if round_ is None or round_.closed or (turn.team and round_.team_id != turn.team.id):
            return self._refused(tr, "checkin.closed")
        if await rounds.skip(turn.session, round_.id, turn.member.id):
            return notice(tr("checkin.skipped_title"), tr("checkin.skipped"))
        return notice(tr("checkin.already_title"), tr("checkin.already_answered"))

    async def _tension_preview(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None and turn.member is not None
        text, theme = tensions.read_draft(self.bank, event.values, turn.tr)
        return [
            await tensions.preview_card(
                turn.session,
                turn.tr,
                self.bank,
                turn.team,
                turn.member,
                text,
                theme,
                event.context.get("prompt", ""),
                turn.now,
            )
        ]

    async def _tension_edit(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None
        context = event.context
        return [
            tensions.form_card(
                turn.tr,
                self.bank,
                turn.team,
                prompt_id=context.get("prompt") or None,
                text=context.get("text", ""),
                theme=context.get("theme", "other"),
            )
        ]

    async def _tension_cancel(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr = turn.tr
        return [notice(tr("tension.cancelled_title"), tr("tension.cancelled"))]

    async def _tension_confirm(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None and turn.member is not None
        text, theme = tensions.read_draft(self.bank, event.context, turn.tr)
        return [
            await tensions.confirm(
                turn.session,
                self.bank,
                turn.team,
                turn.member,
                text,
                theme,
                event.context.get("prompt") or None,
                turn.tr,
                turn.now,
                self.tension_limiter,
            )
        ]

    async def _tension_review(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        tension = await tension_store.tension_by_id(turn.session, event.context.get("tension", ""))
        if tension is None or tension.team_id != team.id:
            return [self._refused(tr, "errors.stale_button")]
        new = (
            tension_store.APPROVED if event.action == "tension.approve" else tension_store.REJECTED
        )
        if not await tension_store.set_status(
            turn.session, tension.id, tension_store.PENDING_REVIEW, new
        ):
            return [notice(tr("review.done_title"), tr("review.already"))]
        return [notice(tr("review.done_title"), tr(f"review.done_{new}"))]

    async def _tension_reply_form(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        tension = await tension_store.tension_by_id(turn.session, event.context.get("tension", ""))
        if tension is None or tension.team_id != team.id:
            return [self._refused(tr, "errors.stale_button")]
        return [tensions.reply_form(tr, team, tension)]

    async def _tension_reply(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        tension = await tension_store.tension_by_id(turn.session, event.context.get("tension", ""))
        if tension is None or tension.team_id != team.id:
            return [self._refused(tr, "errors.stale_button")]
        return [await tensions.save_reply(turn.session, team, tension, event.values, tr, turn.now)]

    async def _success_submit(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None and turn.member is not None
        return [
            await successes.submit(
                turn.session,
                self.bank,
                turn.team,
                turn.member,
                event.values,
                event.context.get("prompt") or None,
                turn.tr,
                turn.now,
            )
        ]

    async def _reflexive_save(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None
        if not turn.is_coordinator:
            return [self._refused(turn.tr, "errors.coordinators_only")]
        return [
            await reflexive.save_schedule(
                turn.session, self.bank, turn.team, event.values, turn.tr, turn.now
            )
        ]

    async def _reflexive_pre(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        assert turn.team is not None
        occurrence = await reflexive_store.occurrence_by_id(
            turn.session, _int(event.context.get("occurrence"))
        )
        schedule = (
            await turn.session.get(ReflexiveSchedule, occurrence.schedule_id)
            if occurrence is not None
            else None
        )
        if occurrence is None or schedule is None or schedule.team_id != turn.team.id:
            return [self._refused(turn.tr, "errors.stale_button")]
        return [
            await reflexive.save_pre_reflection(
                turn.session, occurrence, event.values, turn.tr, turn.now
            )
        ]

    async def _open_review(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        status = "visible" if event.action == "open.approve" else "hidden"
        done = await open_review.decide(turn.session, team, event.context.get("answer", ""), status)
        key = f"open_review.done_{status}" if done else "open_review.already"
        return [Card(title=tr("open_review.title"), blocks=[Paragraph(text=tr(key))])]

    async def _settings_save(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        team_admin.apply_settings(team, event.values, tr)
        turn.calendar_changed.add(team.id)
        return [notice(tr("settings.saved_title"), tr("settings.saved"))]

    async def _schedule_save(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_coordinator:
            return [self._refused(tr, "errors.coordinators_only")]
        team_admin.apply_schedule(team, event.values, tr)
        turn.calendar_changed.add(team.id)
        return [notice(tr("settings.saved_title"), tr("schedule.saved"))]

    async def _setup_save(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        tr = turn.tr
        if turn.place is None:
            return [self._refused(tr, "setup.in_channel")]
        team, coordinator = await team_admin.create_team(
            turn.session, turn.actor, turn.place, event.values, tr, turn.now
        )
        await self._welcome(turn, team, coordinator)
        turn.calendar_changed.add(team.id)
        return [
            Card(
                title=tr("setup.done_title"),
                blocks=[Paragraph(text=tr("setup.done", team=team.name, k=team.k))],
            )
        ]

    # ----------------------------------------------------------------- membership
    async def _joined(self, turn: Turn, event: MemberJoined) -> list[Card]:
        session, actor = turn.session, turn.actor
        channel = await teams.channel_at(
            session, event.place.platform, event.place.workspace, event.place.channel_ref
        )
        if channel is None:
            return []
        team = await teams.team_by_id(session, channel.team_id)
        assert team is not None
        member = await teams.member_in(
            session, team.id, actor.platform, actor.workspace, actor.user_ref
        )
        if member is None:
            member = Member(
                team_id=team.id,
                platform=actor.platform,
                workspace=actor.workspace,
                user_ref=actor.user_ref,
                display_name=actor.display_name,
                language=language_of(actor.locale, team.language) if actor.locale else None,
                timezone=actor.timezone,
                active=True,
                onboarded=False,
            )
            session.add(member)
            await session.flush()
        else:
            member.active = True
            member.display_name = actor.display_name or member.display_name
            member.timezone = member.timezone or actor.timezone
        await self._welcome(turn, team, member)
        await checkins.late_joiner(session, self.bank, team, member, turn.now)
        return []

    async def _welcome(self, turn: Turn, team: Any, member: Member) -> None:
        if member.onboarded:
            return
        tr = Tr(member.language or team.language)
        card = profile.profile_card(tr, team, member, welcome=True)
        await outbound.to_member(
            turn.session,
            team,
            member,
            card,
            key=f"welcome:{member.id}",
            now=turn.now,
            respect_quiet_hours=False,
        )

    async def _left(self, turn: Turn) -> list[Card]:
        await resolve(turn)
        if turn.member is not None:
            turn.member.active = False
        return []

    async def _installed(self, turn: Turn) -> list[Card]:
        await resolve(turn)
        tr = turn.tr
        if turn.team is not None:
            return [
                Card(
                    title=tr("setup.linked_title"),
                    blocks=[Paragraph(text=tr("setup.linked", team=turn.team.name))],
                )
            ]
        assert turn.place is not None
        return [team_admin.setup_card(tr, turn.place)]


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1


@dataclass(frozen=True)
class Person:
    """Someone an adapter can show in a people list (the sandbox's persona switcher)."""

    user_ref: str
    display_name: str
    team_slug: str
    team_name: str
    sector: str | None
    position: str | None
    language: str
    is_coordinator: bool


async def directory(engine: Engine, platform: str, workspace: str = "") -> list[Person]:
    """Active members on one platform, across teams."""
    people: list[Person] = []
    async with engine.database.session() as session:
        for team in await teams.all_teams(session):
            for m in await teams.active_members(session, team.id):
                if m.platform == platform and m.workspace == workspace:
                    people.append(
                        Person(
                            m.user_ref,
                            m.display_name,
                            team.slug,
                            team.name,
                            m.sector,
                            m.position,
                            m.language or team.language,
                            m.is_coordinator,
                        )
                    )
    return people


async def team_channels(engine: Engine, team_slug: str, platform: str) -> list[tuple[str, str]]:
    """(channel_ref, name) of a team's channels on one platform."""
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, team_slug)
        if team is None:
            return []
        return [
            (c.channel_ref, c.name)
            for c in await teams.channels_of(session, team.id)
            if c.platform == platform
        ]
