"""A neutral card as lines of text, the way a console shows it."""

from __future__ import annotations

from dialogs.cards import Card, ChoiceInput, Paragraph, ScaleInput, Table, TextInput


def card_lines(card: Card) -> list[str]:
    lines = [f"== {card.title}"]
    for block in card.blocks:
        if isinstance(block, Paragraph | Table):  # a table as its plain-text fallback
            lines.append(block.text)
        elif isinstance(block, ChoiceInput) and any(o.group for o in block.options):
            lines.append(f"[{block.name}] {block.label}")  # long (time zones): one line a group
            lines += _groups(block)
        elif isinstance(block, ChoiceInput):
            options = " | ".join(f"{o.value}={o.label}" for o in block.options)
            lines.append(f"[{block.name}] {block.label} ({options})")
        elif isinstance(block, ScaleInput):
            lines.append(f"[{block.name}] {block.label} (1-5 | skip)")
        elif isinstance(block, TextInput):
            lines.append(f"[{block.name}] {block.label}{_shape(block)}")
    lines += [f"<{button.action}> {button.label}" for button in card.buttons]
    if card.form is not None:
        lines.append(f"> {card.form.submit_label}")
    return lines


# What a console user may type in a picker's place; the server reads all of these.
_SHAPES = {"date": " (2026-12-03)", "time": " (13:30, 13 h 30)"}


def _shape(block: TextInput) -> str:
    if block.picker == "number" and block.low is not None and block.high is not None:
        return f" ({block.low}–{block.high})"
    return _SHAPES.get(block.picker, "")


def _groups(block: ChoiceInput) -> list[str]:
    grouped: dict[str, list[str]] = {}
    for o in block.options:
        grouped.setdefault(o.group, []).append(f"{o.value}={o.label}")
    return [f"  {group}: " + " | ".join(items) for group, items in grouped.items()]


def defaults(card: Card) -> dict[str, str]:
    """What a form holds before anyone types: its inputs' defaults."""
    found: dict[str, str] = {}
    for block in card.blocks:
        if isinstance(block, ChoiceInput | ScaleInput | TextInput) and block.default:
            found[block.name] = block.default
    return found
