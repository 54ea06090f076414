"""The baselines' rows: answers in the clear, one row per item of a ballot, with the columns
of the `answers` table Passerelle had before ballots were sealed (migration 0005 dropped it).
Benches create such tables of their own; nothing in dialogs/ or storage/ reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String


def clear_answer_columns() -> list[Column[Any]]:
    """Fresh Column objects (a Column belongs to one table): the answer's id, its round, the
    ballot it came in, the item and its dimension, the value (None: not answered), and the
    segment the ballot recorded."""
    return [
        Column("id", String(32), primary_key=True),
        Column("round_id", Integer, nullable=False),
        Column("ballot", String(32), nullable=False),
        Column("item_id", String(16), nullable=False),
        Column("dimension", String(40), nullable=False),
        Column("value", Integer),
        Column("sector", String(16)),
        Column("position", String(16)),
    ]
