"""Inbound events: what adapters hand to the engine, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """A person on a platform. `workspace` is the Slack team or Teams tenant ('' in the sandbox)."""

    platform: str
    workspace: str
    user_ref: str
    display_name: str = ""
    timezone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Place:
    """A channel on a platform, when the event happened in one."""

    platform: str
    workspace: str
    channel_ref: str
    name: str = ""
    # The platform shows the answers to this event to everyone in the channel (a Teams card
    # submitted or a setup typed there), not to its author alone: they speak the team's
    # language. Not part of the channel's identity.
    public: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class CommandReceived:
    """`/passerelle <text>` in Slack, a message to the bot in Teams or the sandbox."""

    actor: Actor
    text: str
    place: Place | None = None


@dataclass(frozen=True)
class FormSubmitted:
    """A card's form submitted or one of its buttons pressed."""

    actor: Actor
    action: str
    context: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    place: Place | None = None


@dataclass(frozen=True)
class MemberJoined:
    actor: Actor
    place: Place


@dataclass(frozen=True)
class MemberLeft:
    actor: Actor
    place: Place


@dataclass(frozen=True)
class TeamInstalled:
    """The bot was added to a channel; `actor` is whoever added it."""

    actor: Actor
    place: Place


InboundEvent = CommandReceived | FormSubmitted | MemberJoined | MemberLeft | TeamInstalled
