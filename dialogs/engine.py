"""The dialog engine: one neutral event in, the replies for its author out.

Each event is handled in one database transaction. What goes to other people or to channels is
queued in the outbox inside that transaction; what answers the author is returned to the adapter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from dialogs import (
    actions,
    checkins,
    linking,
    membership,
    profile,
    pulse,
    readers,
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
    Actor,
    CommandReceived,
    FormSubmitted,
    InboundEvent,
    MemberJoined,
    MemberLeft,
    Place,
    TeamInstalled,
)
from dialogs.export import export_card
from dialogs.forms import FormError, refused, with_error
from dialogs.home import home_card
from dialogs.jobs import Jobs
from dialogs.rate_limit import WeeklyLimiter
from dialogs.texts import TextRejected
from dialogs.turn import Turn, resolve
from storage import intake, marks, rounds
from storage.database import Database, unavailable
from storage.sealing import Sealer

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


class AlreadyHandled(Exception):
    """The delivery's mark (`Engine.handle(..., once=...)`) was there: handled before, by this
    process or another; nothing was done."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Engine:
    def __init__(
        self,
        database: Database,
        bank: ContentBank | None = None,
        clock: Clock = utcnow,
        *,
        sealer: Sealer | None = None,
    ) -> None:
        self.database = database
        self.bank = bank or default_bank()
        self.clock = clock
        # No sealer given (tests, one-shot tools): a key that lives only in this process.
        self.sealer = sealer or Sealer.ephemeral()
        self.jobs = Jobs(database, self.bank, clock, self.sealer)
        self.tension_limiter = WeeklyLimiter()
        # Called with a team id when its calendar changes, so the scheduler can follow.
        self.on_schedule_change: list[Callable[[int], Any]] = []

    # ----------------------------------------------------------------- entry point
    async def handle(
        self, event: InboundEvent, *, intake_id: str | None = None, once: str | None = None
    ) -> list[Card]:
        """The replies to `event`, for its author, once its transaction has committed.

        `intake_id`: the event came from the intake (storage/intake.py). Its row is deleted
        in this transaction, after the event's own writes (on SQLite that keeps the write
        lock short), so what is recorded and the row's removal commit together: a crash
        either keeps both undone (the row is processed again) or both done. Then a failure
        is raised to the caller, who keeps the row and tries again, rather than answered
        with an error card; `intake.AlreadyConsumed` means another worker recorded it.

        `once`: the delivery's de-duplication mark (a keyed hash, storage/marks.py), written
        as the transaction's first statement: a turn that fails leaves no mark, so the
        platform's retry is handled; `AlreadyHandled` (nothing done) when the mark is there.
        On PostgreSQL a concurrent duplicate waits on the mark until this turn commits.

        While the database is away (`storage.database.unavailable`), the author is told so
        (`outage.*`) and one warning line is logged, without a traceback.
        """
        changed: set[int] = set()
        async with self.database.session() as session:
            turn = Turn(
                session,
                self.clock(),
                self.bank,
                event.actor,
                event.place,
                calendar_changed=changed,
                sealer=self.sealer,
            )
            try:
                async with session.begin():
                    if once is not None and not await marks.first_time(
                        session, once, marks.DELIVERY_TTL, turn.now
                    ):
                        raise AlreadyHandled()
                    cards = await self._dispatch(turn, event)
                    if intake_id is not None:
                        await intake.consume(session, intake_id)
            except (intake.AlreadyConsumed, AlreadyHandled):
                raise
            except Exception as error:
                away = unavailable(error)
                if away:
                    log.warning(
                        "event %s: the database is unavailable (%s)",
                        type(event).__name__,
                        type(error).__name__,
                    )
                else:
                    log.exception("event %s failed", type(event).__name__)
                if intake_id is not None:
                    raise
                tr = turn.last_tr()  # rolled back: the member's row cannot be read any more
                if away:
                    return [notice(tr("outage.title"), tr("outage.retry"))]
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
            return await membership.joined(turn, event, self.bank)
        if isinstance(event, MemberLeft):
            return await membership.left(turn)
        if isinstance(event, TeamInstalled):
            return await membership.installed(turn)
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
            return await self._setup(turn, command)
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
        prompt = (context or {}).get("prompt") or None
        if command.name in ("tension", "success") and not self._known_prompt(command.name, prompt):
            return [refused(tr, "errors.stale_button")]
        if command.name == "tension":
            if command.args:
                return [await tensions.followup_card(session, bank, " ".join(command.args), tr)]
            return [tensions.form_card(tr, bank, team, prompt_id=prompt)]
        if command.name == "success":
            return [successes.form_card(tr, bank, team, prompt_id=prompt)]
        if command.name == "summary":
            return [await self._summary(turn, command)]
        if not turn.is_coordinator:
            return [refused(tr, "errors.coordinators_only")]
        if command.name == "reflexive":
            return [await reflexive.schedule_form(session, tr, bank, team, now)]
        if command.name == "schedule":
            return [team_admin.schedule_card(tr, team)]
        if command.name == "settings":
            return [team_admin.settings_card(tr, team)]
        if command.name == "readers":
            return [await readers.readers_card(session, tr, team)]
        raise AssertionError(command.name)

    def _known_prompt(self, kind: str, prompt_id: str | None) -> bool:
        """A prompt id from a card is client data (Teams builds `data` itself): one the
        content bank does not hold is refused, not looked up."""
        if not prompt_id:
            return True
        prompts = self.bank.tension_prompts if kind == "tension" else self.bank.success_prompts
        return any(p.id == prompt_id for p in prompts)

    async def _checkin_command(self, turn: Turn, command: Command) -> list[Card]:
        tr, team, member, session, now = turn.tr, turn.team, turn.member, turn.session, turn.now
        assert team is not None and member is not None
        argument = command.first_arg
        if argument == "now":
            if not turn.is_coordinator:
                return [refused(tr, "errors.coordinators_only")]
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
            return [await actions.skip(turn, round_.id)]
        status = await rounds.status_of(session, round_.id, member.id)
        if status != rounds.ASKED:
            key = "checkin.not_asked" if status is None else f"checkin.already_{status}"
            return [Card(title=tr("checkin.already_title"), blocks=[Paragraph(text=tr(key))])]
        return [checkins.round_card(tr, self.bank, team, round_)]

    async def _summary(self, turn: Turn, command: Command) -> Card:
        tr, team = turn.tr, turn.team
        assert team is not None
        if not turn.is_reader:
            return refused(tr, "errors.readers_only")
        if command.args and fold(command.args[0]) in ("csv", "export", "exporter"):
            if not turn.is_coordinator:
                return refused(tr, "errors.coordinators_only")
            computed = await pulse.compute(turn.session, team, turn.today)
            return export_card(computed, tr, team.slug)
        return await summary.card_for(
            turn.session, self.bank, team, tr, turn.today, coordinator=turn.is_coordinator
        )

    async def _setup(self, turn: Turn, command: Command) -> list[Card]:
        tr = turn.tr
        if turn.place is None:
            return [refused(tr, "setup.in_channel")]
        if command.args:  # `setup <code>`: link this channel to an existing team
            return await linking.link(turn, "".join(command.args))
        if turn.team is not None:
            if not turn.is_coordinator:
                return [refused(tr, "errors.already_linked")]
            return [team_admin.settings_card(tr, turn.team)]
        return [team_admin.setup_card(tr, turn.place, turn.actor, turn.sealer)]

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

    # ----------------------------------------------------------------- forms
    async def _form(self, turn: Turn, event: FormSubmitted) -> list[Card]:
        if event.action == "command":  # a button that runs a command, e.g. for another team
            context = event.context
            return await self._command(
                turn,
                parse(context.get("text", "help")),
                team_hint=context.get("team"),
                context=context,
            )
        handler = actions.ACTIONS.get(event.action)
        if handler is None:
            return [refused(turn.tr, "errors.stale_button")]
        family = event.action.split(".", 1)[0]
        if family in ("tension", "success") and not self._known_prompt(
            family, event.context.get("prompt")
        ):
            return [refused(turn.tr, "errors.stale_button")]
        if event.action not in actions.OUTSIDE_A_TEAM:
            hint = event.context.get("team")
            await resolve(turn, hint)
            if turn.member is None or turn.team is None:
                return [refused(turn.tr, "errors.not_member")]
            if hint and hint != turn.team.slug:  # a card of another team, sent in this channel
                return [refused(turn.tr, "errors.stale_button")]
            if event.action in actions.COORDINATOR_ONLY and not turn.is_coordinator:
                return [refused(turn.tr, "errors.coordinators_only")]
        kit = actions.Kit(self.bank, self.tension_limiter)
        try:
            return await handler(kit, turn, event)
        except (FormError, TextRejected) as problem:
            card = await actions.form_again(kit, turn, event)
            return [with_error(card, turn.tr, problem.key, **problem.params)]
        except checkins.BallotRejected as rejected:
            return [with_error(rejected.card, turn.tr, rejected.key, **rejected.params)]


async def home(engine: Engine, actor: Actor) -> Card:
    """The person's home card (Slack's App Home tab)."""
    async with engine.database.session() as session:
        return await home_card(session, actor)


async def form_card(
    engine: Engine, actor: Actor, place: Place | None, action: str, context: dict[str, str]
) -> Card | None:
    """Rebuild the form a message refers to (an adapter lost the card, e.g. after a restart)."""
    async with engine.database.session() as session:
        turn = Turn(session, engine.clock(), engine.bank, actor, place, sealer=engine.sealer)
        await resolve(turn, context.get("team"))
        kit = actions.Kit(engine.bank, engine.tension_limiter)
        return await actions.form_card(kit, turn, action, context)
