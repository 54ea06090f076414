"""What a ritual declares, and the index the engine, the calendar and the help card read.

A ritual package (`dialogs/checkins/`, `dialogs/tensions/`...) exposes `RITUAL`, a `Ritual`
listing what it brings, as data: the command words people type, the buttons and forms it
answers (and how to rebuild a lost form), its jobs and their triggers, the help lines and home
buttons it adds, and its hooks into other rituals' moments. Its strings are in its own
`locales/`, registered by its `__init__`. Nothing outside the package names its handlers;
`dialogs.rituals` lists the packages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Card
from dialogs.commands import Command
from dialogs.content import ContentBank
from dialogs.events import FormSubmitted, InboundEvent
from dialogs.team_fields import FieldGroup, TeamForm
from dialogs.turn import Turn
from storage.models import Member, Team
from storage.sealing import Sealer

Audience = Literal["member", "reader", "coordinator"]
T = TypeVar("T")


@dataclass(frozen=True)
class Occasion:
    """One run of a job for one team, in the transaction that does its work."""

    session: AsyncSession
    team: Team
    now: dt.datetime
    bank: ContentBank
    sealer: Sealer
    forced: bool = False  # run "now" by a person or the CLI: no cadence, no claim
    fire_time: dt.datetime | None = None  # the calendar's scheduled time (else `now`)

    @property
    def scheduled(self) -> dt.datetime:
        return self.fire_time or self.now


class ClosedRound(Protocol):
    """The round an `on_round_closed` hook is told about (a check-in round, whose model is the
    check-ins' own): what a hook may read of it, so the core names no ritual."""

    @property
    def id(self) -> int: ...

    @property
    def team_id(self) -> int: ...

    @property
    def seq(self) -> int: ...

    @property
    def kind(self) -> str: ...


CommandRun = Callable[[Turn, Command, Mapping[str, str]], Awaitable[list[Card]]]
ActionRun = Callable[[Turn, FormSubmitted], Awaitable[list[Card]]]
FormRun = Callable[[Turn, Mapping[str, str]], Awaitable[Card | None]]
JobRun = Callable[[Occasion], Awaitable[tuple[str, int]]]  # (an i18n key under jobs.*, a count)
EventRun = Callable[[Turn, InboundEvent], Awaitable[list[Card]]]
MemberJoinedHook = Callable[[Turn, Team, Member], Awaitable[None]]
RoundClosedHook = Callable[[Occasion, ClosedRound], Awaitable[int]]
# After a member saved their profile (with the position they had): notice keys to add.
ProfileSavedHook = Callable[[Turn, Team, Member, str | None], Awaitable[list[str]]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    words: tuple[str, ...]  # English and French, folded (no accents, lower case)
    run: CommandRun
    audience: Audience = "member"
    outside_team: bool = False  # may be run where no team is set up yet (setup)
    menu: bool = True  # offered in a platform's command menu (Teams'), which has little room


@dataclass(frozen=True)
class ActionSpec:
    run: ActionRun
    coordinator: bool = False
    outside_team: bool = False
    # The empty form behind this action, as the person would get it now (a lost card rebuilt,
    # or a refused submission shown again with what they typed); None: gone, or not theirs.
    form: FormRun | None = None


@dataclass(frozen=True)
class JobSpec:
    """A job by name. Several rituals may bring parts of one job (the weekly batch)."""

    name: str
    run: JobRun
    # The calendar's trigger for a team, or None when the team does not want this job.
    trigger: Callable[[Team], CronTrigger | None] | None = None
    runnable: bool = True  # by name: coordinators ("now"), the CLI, the sandbox
    on_tick: bool = False  # checked by the minute tick for every team


@dataclass(frozen=True)
class Entry:
    """A line of the help card (`help.cmd.<key>`) and, with `home`, a home-tab button."""

    key: str
    audience: Audience = "member"
    home: str | None = None  # the command the button runs


@dataclass(frozen=True)
class Ritual:
    name: str
    commands: tuple[CommandSpec, ...] = ()
    actions: Mapping[str, ActionSpec] = field(default_factory=dict)
    jobs: tuple[JobSpec, ...] = ()
    events: Mapping[type[InboundEvent], EventRun] = field(default_factory=dict)
    entries: tuple[Entry, ...] = ()
    # Its fields in the team's setup, settings and calendar forms (`dialogs.team_fields`).
    settings: tuple[FieldGroup, ...] = ()
    # A card's context is client data (Teams builds it): False refuses it as a stale button.
    accepts: Callable[[ContentBank, Mapping[str, str]], bool] | None = None
    on_member_joined: MemberJoinedHook | None = None
    on_round_closed: RoundClosedHook | None = None
    # After coordinators released a closed round's reviewed open answers.
    on_answers_released: RoundClosedHook | None = None
    on_profile_saved: ProfileSavedHook | None = None


class Registry:
    """Every ritual's declarations, indexed; two rituals may not claim one word or action."""

    def __init__(self, rituals: tuple[Ritual, ...]) -> None:
        self.rituals = rituals
        self.words: dict[str, CommandSpec] = {}
        self.owner: dict[str, Ritual] = {}  # command and action names -> their ritual
        self.actions: dict[str, ActionSpec] = {}
        self.jobs: dict[str, list[JobSpec]] = {}
        self.word_names: dict[str, str] = {}  # what `commands.parse` reads
        for ritual in rituals:
            for command in ritual.commands:
                for word in (command.name, *command.words):
                    self._claim(self.words, word, command, ritual)
                    self.word_names[word] = command.name
                self.owner[command.name] = ritual
            for name, spec in ritual.actions.items():
                self._claim(self.actions, name, spec, ritual)
                self.owner[name] = ritual
            for job in ritual.jobs:
                self.jobs.setdefault(job.name, []).append(job)

    @staticmethod
    def _claim(index: dict[str, T], key: str, value: T, ritual: Ritual) -> None:
        if key in index and index[key] is not value:
            raise ValueError(f"{ritual.name} declares {key!r}, already declared")
        index[key] = value

    def command(self, word: str) -> CommandSpec | None:
        return self.words.get(word)

    def accepts(self, name: str, bank: ContentBank, context: Mapping[str, str]) -> bool:
        ritual = self.owner.get(name)
        return ritual is None or ritual.accepts is None or ritual.accepts(bank, context)

    def job_names(self) -> tuple[str, ...]:
        return tuple(name for name, parts in self.jobs.items() if parts[0].runnable)

    def tick_steps(self) -> Iterator[JobSpec]:
        for parts in self.jobs.values():
            yield from (part for part in parts if part.on_tick)

    def entries(self, audience: Audience) -> list[Entry]:
        return [e for r in self.rituals for e in r.entries if e.audience == audience]

    def outside_team_entries(self) -> list[Entry]:
        """The help lines of the commands a person may run where no team is set up (setup)."""
        outside = {c.name for r in self.rituals for c in r.commands if c.outside_team}
        return [e for r in self.rituals for e in r.entries if e.key in outside]

    def field_groups(self, form: TeamForm) -> list[FieldGroup]:
        """The rituals' fields in one of the team's forms, in the rituals' order."""
        return [g for r in self.rituals for g in r.settings if g.form == form]

    def event_handler(self, event: InboundEvent) -> EventRun | None:
        for ritual in self.rituals:
            handler = ritual.events.get(type(event))
            if handler is not None:
                return handler
        return None

    def member_joined_hooks(self) -> list[MemberJoinedHook]:
        return [r.on_member_joined for r in self.rituals if r.on_member_joined is not None]

    def round_closed_hooks(self) -> list[RoundClosedHook]:
        return [r.on_round_closed for r in self.rituals if r.on_round_closed is not None]

    def answers_released_hooks(self) -> list[RoundClosedHook]:
        return [r.on_answers_released for r in self.rituals if r.on_answers_released is not None]

    def profile_saved_hooks(self) -> list[ProfileSavedHook]:
        return [r.on_profile_saved for r in self.rituals if r.on_profile_saved is not None]
