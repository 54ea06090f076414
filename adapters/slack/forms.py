"""The cards behind "open the form" buttons, so a click can open the whole form in a modal.

A posted message carries only the form's reference (action and context); the modal needs the
card. Cards the adapter posts are remembered here (bounded, in memory); a reference this
process did not post (after a restart) is rebuilt by the engine (`dialogs.engine.form_card`).

A card sent to one person is remembered for that person only (`owner`): the same reference
(a round's check-in) can stand for cards in other languages, or for a form that came back with
what this person typed in it, which nobody else may see. A card posted in a channel has no
owner and opens for anyone in it.
"""

from __future__ import annotations

from collections import OrderedDict

from adapters.slack.blocks import form_metadata
from dialogs.cards import Card


def owner_of(workspace: str, user_id: str) -> str:
    return f"{workspace}:{user_id}"


class FormCards:
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._cards: OrderedDict[tuple[str, str], Card] = OrderedDict()

    def remember(self, card: Card, owner: str = "") -> None:
        if card.form is None:
            return
        try:
            key = (owner, form_metadata(card.form))
        except ValueError:  # too long for a button: it cannot be posted either
            return
        self._cards[key] = card
        self._cards.move_to_end(key)
        while len(self._cards) > self.size:
            self._cards.popitem(last=False)

    def card(self, reference: str, owner: str = "") -> Card | None:
        """The card `owner` was sent under `reference`, else one posted in a channel."""
        return self._cards.get((owner, reference)) or self._cards.get(("", reference))
