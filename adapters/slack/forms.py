"""The cards behind "open the form" buttons, so a click can open the whole form in a modal.

A posted message carries only the form's reference (action and context); the modal needs the
card. Most cards are rebuilt by the engine from their reference (`dialogs.engine.form_card`),
on whichever process the click reaches. A card that came back to one person with what they
typed in it (`Form.refilled`: a warning, a draft to edit) cannot be rebuilt, and what they
typed may be a tension or a ballot, which nothing stored may tie to them.

So such a card is kept in `form_drafts` under a random id, encrypted under a random key of its
own; the id and the key travel in the form's context (`draft`), that is in the button of the
message that only this person sees. Whoever clicks that button brings the key back, on any
process. The database holds neither the key nor anything derived from the person: a copy of
it, even with the server's key, opens no draft and names no owner
(`tests/test_shared_state_privacy.py`). Slack, which shows the person the message, holds the
key, and already holds what they typed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from adapters.slack.block_values import decode_form_reference
from adapters.slack.blocks import form_metadata
from dialogs.cards import Card
from storage import form_drafts
from storage.database import Database

DRAFT_HOURS = 24
DRAFT = "draft"  # the context entry carrying "<id>.<key>"
NONCE_BYTES = 12


def _seal(key: bytes, draft_id: str, card: Card) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    plain = card.model_dump_json().encode()
    return nonce + AESGCM(key).encrypt(nonce, plain, draft_id.encode())


def _open(key: bytes, draft_id: str, blob: bytes) -> Card:
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    return Card.model_validate_json(AESGCM(key).decrypt(nonce, sealed, draft_id.encode()))


def _capability(reference: str) -> tuple[str, bytes] | None:
    """(draft id, key) named by a button's reference, if it names one well formed."""
    try:
        _, context = decode_form_reference(reference)
        draft_id, _, encoded = str(context.get(DRAFT, "")).partition(".")
        key = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    if len(draft_id) != 32 or len(key) != 32:
        return None
    return draft_id, key


class FormCards:
    def __init__(
        self, database: Database, clock: Callable[[], dt.datetime], hours: int = DRAFT_HOURS
    ) -> None:
        self.database, self.clock = database, clock
        self.ttl = dt.timedelta(hours=hours)

    async def keep(self, card: Card) -> Card:
        """The card to post: a refilled one is stored encrypted and comes back carrying its
        draft's id and key; any other card is returned as it is (the engine rebuilds it)."""
        if card.form is None or not card.form.refilled:
            return card
        draft_id, key = secrets.token_hex(16), AESGCM.generate_key(bit_length=256)
        capability = f"{draft_id}.{base64.urlsafe_b64encode(key).decode('ascii')}"
        form = card.form.model_copy(
            update={"context": {**card.form.context, DRAFT: capability}, "refilled": False}
        )
        carried = card.model_copy(update={"form": form})
        try:
            form_metadata(form)
        except ValueError:  # too long for a button with its key: rebuilt (empty) instead
            return card
        async with self.database.session() as session, session.begin():
            await form_drafts.keep(
                session, draft_id, _seal(key, draft_id, carried), self.clock() + self.ttl
            )
        return carried

    async def card(self, reference: str) -> Card | None:
        """The draft a button's reference carries the key of, if it is still kept."""
        capability = _capability(reference)
        if capability is None:
            return None
        draft_id, key = capability
        async with self.database.session() as session:
            blob = await form_drafts.find(session, draft_id, self.clock())
        if blob is None:
            return None
        try:
            return _open(key, draft_id, blob)
        except (InvalidTag, ValidationError, ValueError):  # a forged or mismatched key
            return None
