"""Outbound cards: what the engine says, in a shape every adapter can render.

A card has a title, paragraphs of text, an optional form (1-5 scales, choices, free text) and
buttons. Adapters turn it into Block Kit, an Adaptive Card or HTML. Cards are pydantic models so
the outbox can store them as JSON and read them back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Paragraph(BaseModel):
    """A paragraph. `from_user` marks text written by a person: adapters neutralise its markup."""

    kind: Literal["paragraph"] = "paragraph"
    text: str
    from_user: bool = False


class ScaleInput(BaseModel):
    """A 1-5 agreement item; `allow_skip` adds a "prefer not to answer" option."""

    kind: Literal["scale"] = "scale"
    name: str
    label: str
    low_label: str
    high_label: str
    skip_label: str
    allow_skip: bool = True
    required: bool = True
    default: str | None = None  # "1".."5" or "skip", when a form comes back


class Option(BaseModel):
    value: str
    label: str


class ChoiceInput(BaseModel):
    kind: Literal["choice"] = "choice"
    name: str
    label: str
    options: list[Option]
    default: str | None = None
    required: bool = True


class TextInput(BaseModel):
    kind: Literal["text"] = "text"
    name: str
    label: str
    max_length: int = 1000
    multiline: bool = True
    required: bool = False
    default: str = ""
    placeholder: str = ""


Input = Annotated[ScaleInput | ChoiceInput | TextInput, Field(discriminator="kind")]
Block = Annotated[Paragraph | ScaleInput | ChoiceInput | TextInput, Field(discriminator="kind")]


class Button(BaseModel):
    """A button; pressing it is a `FormSubmitted` with this action and context and no values."""

    label: str
    action: str
    context: dict[str, str] = Field(default_factory=dict)
    style: Literal["primary", "default", "danger"] = "default"


class Form(BaseModel):
    """The inputs of a card and where their submission goes.

    `context` travels with the card and comes back with the submission (a round id, a draft).
    It is never trusted: every handler checks it against the database.
    """

    action: str
    submit_label: str
    context: dict[str, str] = Field(default_factory=dict)
    # Holds what a person typed (`dialogs.forms.refill`): it cannot be rebuilt from `context`.
    refilled: bool = False


class Attachment(BaseModel):
    """A file shown or offered with a card: a chart (PNG) or an export (CSV)."""

    filename: str
    media_type: str
    data: str  # base64
    description: str  # alternative text for a picture, a caption for a file


class Card(BaseModel):
    title: str
    blocks: Sequence[Block] = Field(default_factory=list)
    form: Form | None = None
    buttons: Sequence[Button] = Field(default_factory=list)
    attachments: Sequence[Attachment] = Field(default_factory=list)

    def inputs(self) -> list[ScaleInput | ChoiceInput | TextInput]:
        return [b for b in self.blocks if not isinstance(b, Paragraph)]


def paragraph(text: str, *, from_user: bool = False) -> Paragraph:
    return Paragraph(text=text, from_user=from_user)


def notice(title: str, *texts: str) -> Card:
    """A card with only text: confirmations, errors, help."""
    return Card(title=title, blocks=[Paragraph(text=t) for t in texts if t])
