"""The dialog engine: one neutral event in, the replies for its author out.

Each event is handled in one database transaction. What goes to other people or to channels is
queued in the outbox inside that transaction; what answers the author is returned to the adapter.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from dialogs.cards import Button, Card, Paragraph, notice
from dialogs.commands import Command, parse
from dialogs.content import ContentBank, default_bank
from dialogs.events import Actor, CommandReceived, FormSubmitted, InboundEvent, Place
from dialogs.forms import CardRejected, FormError, refill, refused, with_error
from dialogs.help import help_card
from dialogs.home import home_card
from dialogs.jobs import Jobs
from dialogs.operator import Operator
from dialogs.registry import ActionSpec
from dialogs.rituals import registry
from dialogs.texts import TextRejected
from dialogs.turn import Turn, resolve
from storage import intake, marks
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
        operator: Operator | None = None,
    ) -> None:
        self.database = database
        self.operator = operator or Operator()
        self.bank = bank or default_bank()
        self.clock = clock
        # No sealer given (tests, one-shot tools): a key that lives only in this process.
        self.sealer = sealer or Sealer.ephemeral()
        self.jobs = Jobs(database, self.bank, clock, self.sealer)
        self.rituals = registry()
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
                operator=self.operator,
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
            command = parse(event.text, self.rituals.word_names)
            return await self._command(turn, command, team_hint=None)
        if isinstance(event, FormSubmitted):
            return await self._form(turn, event)
        handler = self.rituals.event_handler(event)
        if handler is None:
            raise TypeError(f"unknown event {event!r}")
        return await handler(turn, event)

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
        spec = self.rituals.command(command.name)
        if spec is not None and spec.outside_team:
            return await spec.run(turn, command, context or {})
        if spec is None or team is None or member is None:
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
        if spec.audience == "coordinator" and not turn.is_coordinator:
            return [refused(tr, "errors.coordinators_only")]
        if spec.audience == "reader" and not turn.is_reader:
            return [refused(tr, "errors.readers_only")]
        if not self.rituals.accepts(spec.name, self.bank, context or {}):
            return [refused(tr, "errors.stale_button")]
        return await spec.run(turn, command, context or {})

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
                parse(context.get("text", "help"), self.rituals.word_names),
                team_hint=context.get("team"),
                context=context,
            )
        spec = self.rituals.actions.get(event.action)
        if spec is None or not self.rituals.accepts(event.action, self.bank, event.context):
            return [refused(turn.tr, "errors.stale_button")]
        if not spec.outside_team:
            hint = event.context.get("team")
            await resolve(turn, hint)
            if turn.member is None or turn.team is None:
                return [refused(turn.tr, "errors.not_member")]
            if hint and hint != turn.team.slug:  # a card of another team, sent in this channel
                return [refused(turn.tr, "errors.stale_button")]
            if spec.coordinator and not turn.is_coordinator:
                return [refused(turn.tr, "errors.coordinators_only")]
        try:
            return await spec.run(turn, event)
        except (FormError, TextRejected) as problem:
            card = await rebuilt_form(spec, turn, event.context)
            again = refill(card or Card(title=turn.tr("errors.refused_title")), event.values)
            return [with_error(again, turn.tr, problem.key, **problem.params)]
        except CardRejected as rejected:
            return [with_error(rejected.card, turn.tr, rejected.key, **rejected.params)]


async def rebuilt_form(spec: ActionSpec, turn: Turn, context: dict[str, str]) -> Card | None:
    """The empty form behind an action, as the person would get it now; None when it no
    longer exists or is not theirs (a closed round, another team, not a coordinator)."""
    if spec.form is None:
        return None
    if not spec.outside_team:
        if turn.team is None or turn.member is None:
            return None
        if spec.coordinator and not turn.is_coordinator:
            return None
    return await spec.form(turn, context)


async def home(engine: Engine, actor: Actor) -> Card:
    """The person's home card (Slack's App Home tab)."""
    async with engine.database.session() as session:
        return await home_card(session, actor)


async def form_card(
    engine: Engine, actor: Actor, place: Place | None, action: str, context: dict[str, str]
) -> Card | None:
    """Rebuild the form a message refers to (an adapter lost the card, e.g. after a restart)."""
    async with engine.database.session() as session:
        turn = Turn(
            session,
            engine.clock(),
            engine.bank,
            actor,
            place,
            sealer=engine.sealer,
            operator=engine.operator,
        )
        await resolve(turn, context.get("team"))
        spec = engine.rituals.actions.get(action)
        return await rebuilt_form(spec, turn, context) if spec is not None else None
