"""The cards behind "open the form" buttons, so a click can open the whole form in a modal.

A posted message carries only the form's reference (action and context); the modal needs the
card. Cards the adapter posts are remembered here (bounded, in memory); a reference this
process did not post (after a restart) is rebuilt by the engine (`dialogs.engine.form_card`).
"""

from __future__ import annotations

from collections import OrderedDict

from adapters.slack.blocks import form_metadata
from dialogs.cards import Card


class FormCards:
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._cards: OrderedDict[str, Card] = OrderedDict()

    def remember(self, card: Card) -> None:
        if card.form is None:
            return
        try:
            key = form_metadata(card.form)
        except ValueError:  # too long for a button: it cannot be posted either
            return
        self._cards[key] = card
        self._cards.move_to_end(key)
        while len(self._cards) > self.size:
            self._cards.popitem(last=False)

    def card(self, reference: str) -> Card | None:
        return self._cards.get(reference)
