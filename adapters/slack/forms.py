"""The cards behind "open the form" buttons, so a click can open the whole form in a modal.

A posted message carries only the form's reference (action and context); the modal needs the
card. Most cards are rebuilt by the engine from their reference (`dialogs.engine.form_card`),
on whichever process the click reaches. A card that came back to one person with what they
typed in it (a warning, a draft to edit) cannot be rebuilt: it is kept, sealed under the
server's key, in `form_drafts` for DRAFT_HOURS, under a keyed hash of (its owner, its
reference), so it opens on any process for that person only (nobody else may see what they
typed). Opening it again after the form was recorded is prevented by `forget`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import ValidationError

from adapters.slack.blocks import form_metadata
from dialogs.cards import Card
from storage import form_drafts
from storage.database import Database
from storage.sealing import SealBroken, Sealer

DRAFT_HOURS = 24


def owner_of(workspace: str, user_id: str) -> str:
    return f"{workspace}:{user_id}"


def typed(card: Card) -> bool:
    """Whether a card carries values in its inputs (a rebuilt form would lose them)."""
    return card.form is not None and any(i.default not in (None, "") for i in card.inputs())


class FormCards:
    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        clock: Callable[[], dt.datetime],
        hours: int = DRAFT_HOURS,
    ) -> None:
        self.database, self.sealer, self.clock = database, sealer, clock
        self.ttl = dt.timedelta(hours=hours)

    def _key(self, owner: str, reference: str) -> str:
        return self.sealer.tag("slack form draft", owner, reference)

    def remember(self, card: Card, owner: str = "") -> None:
        """Cards sent by the outbox (fan-outs, reminders): rebuilt by the engine from their
        reference, nothing to keep (kept for the sender's call)."""

    async def keep(self, card: Card, owner: str) -> None:
        """A card sent to `owner`: kept sealed when it holds what they typed; otherwise any
        older draft under its reference goes (the engine rebuilds the form as sent)."""
        if card.form is None or not owner:
            return
        try:
            reference = form_metadata(card.form)
        except ValueError:  # too long for a button: it cannot be posted either
            return
        key = self._key(owner, reference)
        async with self.database.session() as session, session.begin():
            if not typed(card):
                await form_drafts.forget(session, key)
                return
            blob = self.sealer.seal(f"form draft {key}", card.model_dump(mode="json"))
            await form_drafts.keep(session, key, blob, self.clock() + self.ttl)

    async def card(self, reference: str, owner: str) -> Card | None:
        """The draft `owner` was sent under `reference`, if any (else the engine rebuilds)."""
        if not owner:
            return None
        key = self._key(owner, reference)
        async with self.database.session() as session:
            blob = await form_drafts.find(session, key, self.clock())
        if blob is None:
            return None
        try:
            return Card.model_validate(self.sealer.open(f"form draft {key}", blob))
        except (SealBroken, ValidationError, ValueError):  # a rotated-out key: rebuilt
            return None

    async def forget(self, reference: str, owner: str) -> None:
        """The form was recorded: its draft must not open again."""
        async with self.database.session() as session, session.begin():
            await form_drafts.forget(session, self._key(owner, reference))
