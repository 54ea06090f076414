"""Neutral cards as plain, accessible HTML forms. Everything is escaped."""

from __future__ import annotations

from html import escape

from dialogs.cards import Button, Card, ChoiceInput, Paragraph, ScaleInput, TextInput
from dialogs.i18n import Tr


def card_html(card: Card, *, persona: str, number: int, tr: Tr) -> str:
    parts = [
        f'<article class="card" id="m{number}" aria-labelledby="m{number}-title">',
        f'<h3 id="m{number}-title">{escape(card.title)}</h3>',
    ]
    inputs: list[str] = []
    for index, block in enumerate(card.blocks):
        field_id = f"m{number}-f{index}"
        if isinstance(block, Paragraph):
            css = ' class="user-text"' if block.from_user else ""
            text = escape(block.text).replace("\n", "<br>")
            (inputs if card.form else parts).append(f"<p{css}>{text}</p>")
        elif isinstance(block, ScaleInput):
            inputs.append(_scale(block, field_id, tr))
        elif isinstance(block, ChoiceInput):
            inputs.append(_choice(block, field_id))
        elif isinstance(block, TextInput):
            inputs.append(_text(block, field_id, tr))
    if card.form is not None:
        hidden = _hidden(persona, card.form.action, card.form.context)
        parts.append(
            f'<form method="post" action="/sandbox/submit" class="card-form">{hidden}'
            + "".join(inputs)
            + f'<button type="submit" class="primary">{escape(card.form.submit_label)}</button>'
            "</form>"
        )
    if card.buttons:
        parts.append(
            '<div class="buttons">' + "".join(_button(b, persona) for b in card.buttons) + "</div>"
        )
    parts.append("</article>")
    return "".join(parts)


def _hidden(persona: str, action: str, context: dict[str, str]) -> str:
    fields = [("as", persona), ("action", action)]
    fields += [(f"ctx.{key}", value) for key, value in context.items()]
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields
    )


def _scale(block: ScaleInput, field_id: str, tr: Tr) -> str:
    options = [(str(v), str(v)) for v in range(1, 6)]
    if block.allow_skip:
        options.append(("skip", block.skip_label))
    radios = "".join(
        f'<label class="scale-option"><input type="radio" name="{escape(block.name)}" '
        f'value="{escape(value)}"{" required" if block.required and i == 0 else ""}> '
        f"{escape(label)}</label>"
        for i, (value, label) in enumerate(options)
    )
    hint = f"{escape(block.low_label)} · {escape(block.high_label)}"
    return (
        f'<fieldset class="scale" id="{field_id}"><legend>{escape(block.label)}</legend>'
        f'<p class="hint">{hint}</p>{radios}</fieldset>'
    )


def _choice(block: ChoiceInput, field_id: str) -> str:
    options = "".join(
        f'<option value="{escape(o.value)}"{" selected" if o.value == block.default else ""}>'
        f"{escape(o.label)}</option>"
        for o in block.options
    )
    required = " required" if block.required else ""
    return (
        f'<p><label for="{field_id}">{escape(block.label)}</label>'
        f'<select id="{field_id}" name="{escape(block.name)}"{required}>{options}</select></p>'
    )


def _text(block: TextInput, field_id: str, tr: Tr) -> str:
    required = " required" if block.required else ""
    common = (
        f'id="{field_id}" name="{escape(block.name)}" maxlength="{block.max_length}"'
        f' placeholder="{escape(block.placeholder)}"{required}'
    )
    limit = f'<span class="hint">{escape(tr("sandbox.max_chars", limit=block.max_length))}</span>'
    if block.multiline:
        control = f'<textarea {common} rows="4">{escape(block.default)}</textarea>'
    else:
        control = f'<input type="text" {common} value="{escape(block.default)}">'
    return f'<p><label for="{field_id}">{escape(block.label)}</label> {limit}{control}</p>'


def _button(button: Button, persona: str) -> str:
    return (
        f'<form method="post" action="/sandbox/submit" class="inline">'
        f"{_hidden(persona, button.action, button.context)}"
        f'<button type="submit" class="{button.style}">{escape(button.label)}</button></form>'
    )
