"""A neutral card as lines of text, the way a console shows it."""

from __future__ import annotations

from dialogs.cards import Card, ChoiceInput, Paragraph, ScaleInput, Table, TextInput


def card_lines(card: Card) -> list[str]:
    lines = [f"== {card.title}"]
    for block in card.blocks:
        if isinstance(block, Paragraph | Table):  # a table as its plain-text fallback
            lines.append(block.text)
        elif isinstance(block, ChoiceInput):
            options = " | ".join(f"{o.value}={o.label}" for o in block.options)
            lines.append(f"[{block.name}] {block.label} ({options})")
        elif isinstance(block, ScaleInput):
            lines.append(f"[{block.name}] {block.label} (1-5 | skip)")
        elif isinstance(block, TextInput):
            lines.append(f"[{block.name}] {block.label}")
    lines += [f"<{button.action}> {button.label}" for button in card.buttons]
    if card.form is not None:
        lines.append(f"> {card.form.submit_label}")
    return lines


def defaults(card: Card) -> dict[str, str]:
    """What a form holds before anyone types: its inputs' defaults."""
    found: dict[str, str] = {}
    for block in card.blocks:
        if isinstance(block, ChoiceInput | ScaleInput | TextInput) and block.default:
            found[block.name] = block.default
    return found
