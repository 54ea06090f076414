"""Neutral cards as plain, accessible HTML forms. Everything is escaped.

A table of figures is a `<table>` with its `<caption>`, column headings (`<th scope="col">`)
and a heading per row (`<th scope="row">`), so a screen reader says which dimension and which
column a figure belongs to; a cell drawn with characters (a bar such as "▁▃▇▅▂") is an image
(`role="img"`) named by its `alt` words. The table sits in a container that scrolls on its
own if it is ever wider than the screen, never the page.

A date, a time or a whole number is the browser's own picker (`<input type="date">`, `"time"`,
`"number"` with its bounds), which posts YYYY-MM-DD, HH:MM or digits; a choice whose options
name groups (time zones by region) is a `<select>` with an `<optgroup>` per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from dialogs.cards import (
    Attachment,
    Button,
    Card,
    ChoiceInput,
    Paragraph,
    ScaleInput,
    Table,
    TableCell,
    TextInput,
)
from dialogs.i18n import Tr

WARNING = "⚠"


@dataclass(frozen=True)
class CardView:
    """Who looks at a card, and how: the persona its forms act for, the page's language."""

    persona: str
    tr: Tr
    # The card's own language, when it is not the page's (a French card on an English page).
    lang: str | None = None
    # The page language the person chose, if any, kept across the submission.
    chosen_lang: str | None = None


def card_html(card: Card, *, number: int, view: CardView) -> str:
    lang = f' lang="{escape(view.lang)}"' if view.lang else ""
    parts = [
        f'<article class="card" id="m{number}" aria-labelledby="m{number}-title"{lang}>',
        f'<h3 id="m{number}-title">{escape(card.title)}</h3>',
    ]
    inputs: list[str] = []
    for index, block in enumerate(card.blocks):
        field_id = f"m{number}-f{index}"
        if isinstance(block, Paragraph):
            (inputs if card.form else parts).append(_paragraph(block))
        elif isinstance(block, Table):
            (inputs if card.form else parts).append(_table(block, field_id))
        elif isinstance(block, ScaleInput):
            inputs.append(_scale(block, field_id, block.default))
        elif isinstance(block, ChoiceInput):
            inputs.append(_choice(block, field_id))
        elif isinstance(block, TextInput):
            inputs.append(_text(block, field_id, view.tr))
    if card.form is not None:
        hidden = _hidden(view, card.form.action, card.form.context)
        parts.append(
            f'<form method="post" action="/sandbox/submit" class="card-form">{hidden}'
            + "".join(inputs)
            + f'<button type="submit" class="primary">{escape(card.form.submit_label)}</button>'
            "</form>"
        )
    parts += [_attachment(a, view) for a in card.attachments]
    if card.buttons:
        parts.append(
            '<div class="buttons">' + "".join(_button(b, view) for b in card.buttons) + "</div>"
        )
    parts.append("</article>")
    return "".join(parts)


def _paragraph(block: Paragraph) -> str:
    text = escape(block.text).replace("\n", "<br>")
    if block.from_user:
        return f'<p class="user-text">{text}</p>'
    if block.text.startswith(WARNING):
        return f'<p class="warning" role="alert">{text}</p>'
    return f"<p>{text}</p>"


def _table(table: Table, table_id: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    body = "".join(
        f'<tr><th scope="row">{escape(row.label)}</th>'
        + "".join(_cell(c) for c in row.cells)
        + "</tr>"
        for row in table.rows
    )
    note = ""
    described = ""
    if table.note:
        note = f'<p class="table-note" id="{table_id}-note">{escape(table.note)}</p>'
        described = f' aria-describedby="{table_id}-note"'
    return (
        # Reachable by keyboard, should a phone have to scroll it sideways.
        f'<div class="table-scroll" tabindex="0">'
        f'<table class="figures" id="{table_id}"{described}>'
        f"<caption>{escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{note}"
    )


def _cell(cell: TableCell) -> str:
    if cell.alt:
        return (
            f'<td class="drawn"><span role="img" aria-label="{escape(cell.alt)}">'
            f"{escape(cell.text)}</span></td>"
        )
    return f"<td>{escape(cell.text)}</td>"


def _hidden(view: CardView, action: str, context: dict[str, str]) -> str:
    fields = [("as", view.persona), ("action", action)]
    if view.chosen_lang:
        fields.append(("lang", view.chosen_lang))
    fields += [(f"ctx.{key}", value) for key, value in context.items()]
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields
    )


def _scale(block: ScaleInput, field_id: str, chosen: str | None) -> str:
    options = [(str(v), str(v)) for v in range(1, 6)]
    if block.allow_skip:
        options.append(("skip", block.skip_label))
    radios = "".join(
        f'<label class="scale-option"><input type="radio" name="{escape(block.name)}" '
        f'value="{escape(value)}"'
        f"{' required' if block.required and i == 0 else ''}"
        f"{' checked' if value == chosen else ''}> "
        f"{escape(label)}</label>"
        for i, (value, label) in enumerate(options)
    )
    hint = f"1 = {escape(block.low_label)} · 5 = {escape(block.high_label)}"
    return (
        f'<fieldset class="scale" id="{field_id}" aria-describedby="{field_id}-hint">'
        f"<legend>{escape(block.label)}</legend>"
        f'<p class="hint" id="{field_id}-hint">{hint}</p>'
        f'<div class="scale-options">{radios}</div></fieldset>'
    )


def _option(block: ChoiceInput, value: str, label: str) -> str:
    # An empty value is a placeholder ("— Choisir —"): shown while nothing is chosen, never
    # chosen again, never read out as a choice.
    if value == "":
        selected = " selected" if not block.default else ""
        return f'<option value=""{selected} disabled>{escape(label)}</option>'
    selected = " selected" if value == block.default else ""
    return f'<option value="{escape(value)}"{selected}>{escape(label)}</option>'


def _choice(block: ChoiceInput, field_id: str) -> str:
    parts: list[str] = []
    group: str | None = None
    for o in block.options:
        if o.group != group and group:
            parts.append("</optgroup>")
        if o.group and o.group != group:
            parts.append(f'<optgroup label="{escape(o.group)}">')
        group = o.group
        parts.append(_option(block, o.value, o.label))
    if group:
        parts.append("</optgroup>")
    options = "".join(parts)
    required = " required" if block.required else ""
    return (
        f'<p class="field"><label for="{field_id}">{escape(block.label)}</label>'
        f'<select id="{field_id}" name="{escape(block.name)}"{required}>{options}</select></p>'
    )


def _picker(block: TextInput, field_id: str) -> str:
    """The browser's date, time or number field: no "characters at most" hint, as the picker
    itself says what it takes (a number's bounds are in its label)."""
    required = " required" if block.required else ""
    attributes = f'type="{block.picker}" id="{field_id}" name="{escape(block.name)}"'
    if block.picker == "number":
        attributes += ' step="1" inputmode="numeric"'
        if block.low is not None:
            attributes += f' min="{block.low}"'
        if block.high is not None:
            attributes += f' max="{block.high}"'
    label = f'<label for="{field_id}">{escape(block.label)}</label>'
    control = f'<input {attributes} value="{escape(block.default)}"{required}>'
    return f'<p class="field">{label} {control}</p>'


def _text(block: TextInput, field_id: str, tr: Tr) -> str:
    if block.picker != "text":
        return _picker(block, field_id)
    required = " required" if block.required else ""
    hint_id = f"{field_id}-hint"
    common = (
        f'id="{field_id}" name="{escape(block.name)}" maxlength="{block.max_length}"'
        f' aria-describedby="{hint_id}"{required}'
    )
    if block.placeholder:
        common += f' placeholder="{escape(block.placeholder)}"'
    limit = tr("sandbox.max_chars", limit=block.max_length)
    if block.required:
        limit = f"{tr('sandbox.required')} {limit}"
    hint = f'<span class="hint" id="{hint_id}">{escape(limit)}</span>'
    if block.multiline:
        control = f'<textarea {common} rows="4">{escape(block.default)}</textarea>'
    else:
        control = f'<input type="text" {common} value="{escape(block.default)}">'
    label = f'<label for="{field_id}">{escape(block.label)}</label>'
    return f'<p class="field">{label} {hint}{control}</p>'


def _button(button: Button, view: CardView) -> str:
    return (
        f'<form method="post" action="/sandbox/submit" class="inline">'
        f"{_hidden(view, button.action, button.context)}"
        f'<button type="submit" class="{button.style}">{escape(button.label)}</button></form>'
    )


def _attachment(attachment: Attachment, view: CardView) -> str:
    """A picture inline with its alternative text; any other file as a download link."""
    source = f"data:{escape(attachment.media_type)};base64,{escape(attachment.data)}"
    if attachment.media_type.startswith("image/"):
        return (
            f'<figure><img src="{source}" alt="{escape(attachment.description)}" '
            'class="attachment"></figure>'
        )
    label = view.tr("sandbox.download", name=attachment.filename)
    return (
        f'<p><a href="{source}" download="{escape(attachment.filename)}">'
        f'{escape(label)}</a> <span class="hint">{escape(attachment.description)}</span></p>'
    )
