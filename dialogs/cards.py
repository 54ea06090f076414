"""Outbound cards: what the engine says, in a shape every adapter can render.

A card has a title, paragraphs of text, tables of figures, an optional form (1-5 scales,
choices, free text) and buttons. Adapters turn it into Block Kit, an Adaptive Card or HTML.
Cards are pydantic models so the outbox can store them as JSON and read them back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator


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
    """A choice's option. `group` names the heading it is listed under (a time zone's region):
    Slack shows option groups, the sandbox `<optgroup>`, Teams the group beside the label."""

    value: str
    label: str
    group: str = ""


class ChoiceInput(BaseModel):
    kind: Literal["choice"] = "choice"
    name: str
    label: str
    options: list[Option]
    default: str | None = None
    required: bool = True


# What a one-line field holds, so each platform can offer its picker: a date (sent back as
# YYYY-MM-DD), a time of day (HH:MM, 24 h) or a whole number between `low` and `high`.
Picker = Literal["text", "date", "time", "number"]


class TextInput(BaseModel):
    """A text box, or a platform's date, time or number picker (`picker`). A surface without
    that picker shows a text box, and the server reads typed text tolerantly
    (`dialogs.forms.parse_date`, `parse_time`, `parse_int`)."""

    kind: Literal["text"] = "text"
    name: str
    label: str
    max_length: int = 1000
    multiline: bool = True
    required: bool = False
    default: str = ""
    placeholder: str = ""
    picker: Picker = "text"
    low: int | None = None  # a number's bounds, when `picker` is "number"
    high: int | None = None


class TableCell(BaseModel):
    """One figure of a row. `alt` is what a screen reader says instead of `text` when the text
    is a picture drawn with characters (a bar such as "▁▃▇▅▂"); empty when `text` reads well."""

    text: str
    alt: str = ""


class TableRow(BaseModel):
    """A row: what it is about (a dimension, a condition), then one cell per column."""

    label: str
    cells: list[TableCell]


class Table(BaseModel):
    """Rows of figures under column headings: Slack shows them as section fields, Teams as an
    Adaptive Card `Table`, the sandbox as an HTML `<table>`, a console as lines (`text`).

    `header` names the label column first, then each cell column; every row has one cell per
    cell column. `note` says how to read the figures, under the table. Only the bot's own
    words and figures go in a table: never text written by a person.
    """

    kind: Literal["table"] = "table"
    caption: str
    header: list[str]
    rows: list[TableRow]
    note: str = ""

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        width = len(self.header) - 1
        if width < 1 or any(len(row.cells) != width for row in self.rows):
            raise ValueError("a table needs a label column and one cell per column in every row")
        return self

    @property
    def text(self) -> str:
        """The table as plain lines, for a surface that cannot draw one (and for searches)."""
        lines = [self.caption, f"{self.header[0]} — " + " · ".join(self.header[1:])]
        lines += [
            f"{row.label} — " + " · ".join(c.text for c in row.cells if c.text) for row in self.rows
        ]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


Input = Annotated[ScaleInput | ChoiceInput | TextInput, Field(discriminator="kind")]
Block = Annotated[
    Paragraph | Table | ScaleInput | ChoiceInput | TextInput, Field(discriminator="kind")
]


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
    title: str = ""  # a short name shown with the file (Slack's title); "": the description


class Card(BaseModel):
    title: str
    blocks: Sequence[Block] = Field(default_factory=list)
    form: Form | None = None
    buttons: Sequence[Button] = Field(default_factory=list)
    attachments: Sequence[Attachment] = Field(default_factory=list)

    def inputs(self) -> list[ScaleInput | ChoiceInput | TextInput]:
        return [b for b in self.blocks if isinstance(b, ScaleInput | ChoiceInput | TextInput)]


def paragraph(text: str, *, from_user: bool = False) -> Paragraph:
    return Paragraph(text=text, from_user=from_user)


def table(caption: str, header: list[str], rows: list[TableRow], *, note: str = "") -> Table:
    return Table(caption=caption, header=header, rows=rows, note=note)


def notice(title: str, *texts: str) -> Card:
    """A card with only text: confirmations, errors, help."""
    return Card(title=title, blocks=[Paragraph(text=t) for t in texts if t])
