"""A modal's title and buttons are cut after a word, never inside one (Slack allows 24)."""

from __future__ import annotations

from adapters.slack.block_limits import VIEW_BUTTON, VIEW_TITLE, ulen
from adapters.slack.blocks import modal_view, short_label
from dialogs.cards import Card, Form, TextInput


def test_a_long_label_is_cut_after_a_word() -> None:
    assert short_label("Envoyer mes remerciements", VIEW_BUTTON) == "Envoyer mes…"
    assert short_label("Lecture des sommaires — Équipe mixte") == "Lecture des sommaires"
    assert short_label("Envoyer", VIEW_BUTTON) == "Envoyer"


def test_a_modals_submit_and_close_keep_whole_words() -> None:
    card = Card(
        title="Remercier une ou un partenaire de l’équipe",
        blocks=[TextInput(name="text", label="Votre message")],
        form=Form(action="thanks.send", submit_label="Envoyer mes remerciements"),
    )
    view = modal_view(card, private_metadata="x", close_label="Fermer sans rien envoyer ici")
    title, submit, close = (view[k]["text"] for k in ("title", "submit", "close"))
    assert (title, submit, close) == ("Remercier une ou un…", "Envoyer mes…", "Fermer sans rien…")
    assert ulen(title) <= VIEW_TITLE and ulen(submit) <= VIEW_BUTTON and ulen(close) <= VIEW_BUTTON
