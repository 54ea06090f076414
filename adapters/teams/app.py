"""The Teams bridge: activities in, engine events out, cards back. Translation only.

- A message is a command (`setup`, `checkin`, `bilan`...), typed in the 1:1 chat or with an
  @mention in a channel. In a channel, only `setup` is answered there: every other answer is
  personal and goes to the person's 1:1 chat, with a short note in the channel.
- A message whose `value` is one of our cards' submissions is a `FormSubmitted`. The card is
  then replaced (`updateActivity`) by the engine's answer: the same form with a warning and
  the values kept, the next step, or a confirmation without buttons, so it cannot be sent
  twice. The engine's writes are idempotent besides, for a second submission that races.
- `conversationUpdate`: the bot added to a team offers `setup` (or says which partnership the
  team's channel belongs to); people added to or removed from a linked team join or leave the
  partnership. After `setup` (or `setup <code>`), the team's roster is onboarded.
- Each activity's conversation is remembered (1:1 chat, channel, team) for later sends, with
  the names it carries; a person added later without a name is named through the members API,
  a channel without one through the team's channel list (adapters/teams/names.py).
- Language (adapters/teams/language.py): the person's in a 1:1 chat, the team's in a channel.
- Redelivered activities (the same id in the same conversation) are handled once, whichever
  process they reach: each turn of the engine an activity causes carries a mark (`marks`, a
  keyed hash of the activity and of what the turn is about) written in the turn's own
  transaction (`Engine.handle(..., once=...)`). A turn that fails, the database gone included,
  leaves no mark, so the connector's retry is handled; a repeat of a turn that committed does
  nothing and answers nothing (on PostgreSQL a concurrent repeat waits for the first turn's
  commit). What follows a turn (onboarding a roster) has turns and marks of its own, so a
  retry after a partial failure does what is left.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from adapters import onboarding
from adapters.onboarding import is_setup, links_a_channel
from adapters.teams import activities as act
from adapters.teams import conversations, language, names
from adapters.teams.botframework import BotFramework, ConnectorError, TurnHandle
from adapters.teams.cards import activity_for, submission
from adapters.teams.sender import TeamsSender
from adapters.ttl_cache import SharedMarks
from dialogs.cards import Card, notice
from dialogs.engine import AlreadyHandled, Engine
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
from dialogs.i18n import Tr
from storage import marks, teams

log = logging.getLogger(__name__)
Json = dict[str, Any]


class TeamsBridge:
    def __init__(self, engine: Engine, framework: BotFramework) -> None:
        self.engine = engine
        self.database = engine.database
        self.framework = framework
        self.sender = TeamsSender(framework, engine.database)
        # The marks' keys (written by the engine, in each turn's transaction).
        self.seen = SharedMarks(
            engine.database, engine.sealer, "teams activity", marks.DELIVERY_TTL, engine.clock
        )

    async def on_turn(self, turn: TurnHandle) -> None:
        await self.handle(turn)

    def _once(self, turn: TurnHandle, *about: str) -> str | None:
        """The mark of one engine turn of this activity (None: an activity without an id)."""
        activity = turn.activity
        if not activity.get("id"):
            return None
        conversation = (activity.get("conversation") or {}).get("id")
        return self.seen.key("|".join([str(conversation), str(activity.get("id")), *about]))

    async def _engine(
        self, turn: TurnHandle, event: InboundEvent, *about: str
    ) -> list[Card] | None:
        """The engine's replies to `event`; None when this turn of the activity was handled
        already (a redelivery, the same activity on another process): nothing to answer."""
        try:
            return await self.engine.handle(event, once=self._once(turn, *about))
        except AlreadyHandled:
            log.info("teams activity delivered twice; handled once")
            return None

    async def handle(self, turn: TurnHandle) -> None:
        activity = turn.activity
        await self.remember(turn)
        kind = activity.get("type")
        if kind == "message":
            found = submission(activity.get("value"))
            if found is not None:
                await self.on_submission(turn, *found)
            elif act.command_text(activity):
                await self.on_command(turn, act.command_text(activity))
        elif kind == "conversationUpdate":
            await self.on_conversation_update(turn)
        elif kind == "installationUpdate":
            await self.on_installation(turn)

    # ----------------------------------------------------------------- references
    async def remember(self, turn: TurnHandle) -> None:
        activity = turn.activity
        tenant, service_url = act.tenant_of(activity), str(activity.get("serviceUrl") or "")
        if not tenant or not service_url:
            return
        reference = turn.reference()
        rows: list[tuple[str, str, Json, str | None]] = []
        team_id = act.team_id_of(activity)
        if act.conversation_type(activity) == "personal":
            user = str((activity.get("from") or {}).get("id") or "")
            if user:
                rows.append((conversations.PERSONAL, user, reference, None))
        elif team_id:
            channel = act.channel_id_of(activity)
            # New posts go to the channel itself, not to the thread this activity was in.
            at_channel = {**reference, "conversation": {**reference["conversation"], "id": channel}}
            rows.append((conversations.CHANNEL, channel, at_channel, team_id))
            rows.append((conversations.TEAM, team_id, at_channel, team_id))
        sender = activity.get("from") or {}
        async with self.database.session() as session, session.begin():
            for kind, key, ref, team_key in rows:
                await conversations.remember(
                    session,
                    tenant=tenant,
                    kind=kind,
                    key=key,
                    service_url=service_url,
                    reference=ref,
                    team_key=team_key,
                )
            await names.learn(session, activity)
            if activity.get("type") == "message":  # a person's own words: their name now
                await names.refresh_member(
                    session, tenant, str(sender.get("id") or ""), sender.get("name")
                )

    async def actor(self, turn: TurnHandle) -> Actor:
        """Who acts, with their last known client locale when this activity has none."""
        return await language.with_locale(self.database, turn.activity, act.actor_of(turn.activity))

    async def place(self, turn: TurnHandle) -> Place | None:
        """The channel, named (adapters/teams/names.py); None in a 1:1 chat."""
        place = act.place_of(turn.activity)
        if place is None or place.name:
            return place
        return replace(place, name=await names.channel_name(self.database, turn))

    # ----------------------------------------------------------------- messages
    async def on_command(self, turn: TurnHandle, text: str) -> None:
        actor, place = await self.actor(turn), await self.place(turn)
        setup = is_setup(text)
        if place is not None and setup:  # its answer is posted in the channel
            place = replace(place, public=True)
        event = CommandReceived(actor=actor, text=text, place=place)
        found = await self._engine(turn, event)
        if found is None:  # answered already; a roster left half onboarded is finished
            await self.onboard_after(turn, event)
            return
        cards = found
        if place is None or setup:
            for card in cards:
                await turn.send(activity_for(card))
            await self.onboard_after(turn, event)
            return
        # A channel is no place for someone's own forms and answers.
        delivered = await self.to_person(turn, actor.user_ref, cards)
        tr = Tr(await language.of_channel(self.database, place, actor))  # seen by the channel
        key = "msteams.sent_privately" if delivered else "msteams.open_chat"
        await turn.send(activity_for(notice(tr("msteams.private_title"), tr(key))))

    async def to_person(self, turn: TurnHandle, user_id: str, cards: list[Card]) -> bool:
        """Send `cards` to someone's 1:1 chat (opened if needed); False when impossible."""
        tenant = act.tenant_of(turn.activity)
        async with self.database.session() as session:
            row = await conversations.find(session, tenant, conversations.PERSONAL, user_id)
            reference = dict(row.reference) if row is not None else None
        try:
            if reference is None:
                reference = await self.sender.open_personal(
                    tenant,
                    user_id,
                    service_url=str(turn.activity.get("serviceUrl") or ""),
                    bot=dict(turn.activity.get("recipient") or {}),
                )
            await self.framework.send(reference, [activity_for(card) for card in cards])
        except ConnectorError as error:
            log.warning("teams 1:1 chat not reachable: %s", error.status)
            return False
        return True

    async def on_submission(
        self, turn: TurnHandle, action: str, context: dict[str, str], values: dict[str, str]
    ) -> None:
        activity = turn.activity
        actor, place = await self.actor(turn), await self.place(turn)
        if place is not None:  # a card in a channel is answered there, for everyone
            place = replace(place, public=True)
        event = FormSubmitted(
            actor=actor, action=action, context=context, values=values, place=place
        )
        found = await self._engine(turn, event)
        if found is None:  # answered already; a roster left half onboarded is finished
            await self.onboard_after(turn, event)
            return
        cards = found
        card_id = str(activity.get("replyToId") or "")
        if cards and card_id:
            # Replace the submitted card: it cannot be submitted again from there.
            try:
                await turn.update(card_id, activity_for(cards[0]))
                cards = cards[1:]
            except ConnectorError as error:
                log.info("teams card not replaced (%s); answering below it", error.status)
        for card in cards:
            await turn.send(activity_for(card))
        await self.onboard_after(turn, event)

    # ----------------------------------------------------------------- membership
    async def onboard_after(self, turn: TurnHandle, event: InboundEvent) -> None:
        """After a setup that may have linked the channel (adapters/onboarding.py)."""
        if links_a_channel(event) and event.place is not None:
            await self.onboard_if_linked(turn, event.place)

    async def onboard_if_linked(self, turn: TurnHandle, place: Place) -> None:
        """Everyone on the Teams team's roster joins the partnership linked to `place`; each
        person's turn is marked, so a redelivered activity repeats no one."""

        async def roster() -> AsyncIterator[Actor]:
            bot = act.bot_id_of(turn.activity)
            for account in await turn.roster():
                if account.get("id") and account.get("id") != bot:
                    yield act.actor_of(turn.activity, account)

        async def join(event: MemberJoined) -> object:
            about = ("onboard", event.actor.user_ref, place.channel_ref)
            return await self._engine(turn, event, *about)

        try:
            await onboarding.onboard(self.engine, place, roster, join)
        except ConnectorError as error:
            log.warning("teams roster not readable (%s): nobody onboarded", error.status)

    async def linked_places(self, activity: Json) -> list[Place]:
        """The partnership channels of the Teams team this activity is about."""
        tenant, team_id = act.tenant_of(activity), act.team_id_of(activity)
        if not team_id:
            return []
        places = []
        async with self.database.session() as session:
            for channel in await conversations.channels_of_team(session, tenant, team_id):
                if await teams.channel_at(session, act.PLATFORM, tenant, channel):
                    places.append(Place(act.PLATFORM, tenant, channel))
        return places

    async def on_conversation_update(self, turn: TurnHandle) -> None:
        activity = turn.activity
        bot = act.bot_id_of(activity)
        added, removed = (
            act.accounts(activity, "membersAdded"),
            act.accounts(activity, "membersRemoved"),
        )
        if any(a.get("id") == bot for a in added):
            await self.on_bot_added(turn)
        if any(a.get("id") == bot for a in removed):
            await self.on_bot_removed(turn)
        places = await self.linked_places(activity)
        if places:  # someone added later comes with an id only: their name, from the API
            added = [a if a.get("id") == bot else await names.named(turn, a) for a in added]
        changes: tuple[tuple[str, type[MemberJoined | MemberLeft], list[Json]], ...] = (
            ("joined", MemberJoined, added),
            ("left", MemberLeft, removed),
        )
        for change, event, accounts in changes:
            for account in accounts:
                if account.get("id") == bot:
                    continue
                for place in places:
                    actor = act.actor_of(activity, account)
                    about = (change, str(account.get("id")), place.channel_ref)
                    await self._engine(turn, event(actor=actor, place=place), *about)

    async def on_bot_added(self, turn: TurnHandle) -> None:
        actor, place = await self.actor(turn), await self.place(turn)
        if place is None:  # a 1:1 chat: say hello and what Passerelle does
            cards = await self._engine(turn, CommandReceived(actor=actor, text="help"), "added")
        else:  # the greeting is posted in the channel
            place = replace(place, public=True)
            cards = await self._engine(turn, TeamInstalled(actor=actor, place=place), "added")
            await self.onboard_if_linked(turn, place)
        for card in cards or []:
            await turn.send(activity_for(card))

    async def on_bot_removed(self, turn: TurnHandle) -> None:
        activity = turn.activity
        tenant = act.tenant_of(activity)
        async with self.database.session() as session, session.begin():
            if act.conversation_type(activity) == "personal":
                user = str((activity.get("from") or {}).get("id") or "")
                await conversations.forget(session, tenant, conversations.PERSONAL, user)

    async def on_installation(self, turn: TurnHandle) -> None:
        action = str(turn.activity.get("action") or "")
        if action.startswith("remove"):
            await self.on_bot_removed(turn)
