"""Pulse summaries for the managers and coordinators of both sectors, never under k.

`pulse` computes the figures once from the frozen units (through dialogs.disclosure); `card`,
`charts` and `export` render them as a card, a chart and a CSV; `handlers` says when, and sends
the open answers coordinators release after their review (`on_answers_released`).
"""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.registry import CommandSpec, Entry, JobSpec, Ritual
from dialogs.summaries import handlers

RITUAL = Ritual(
    name="summaries",
    # `export` alone is `summary csv` (handlers.EXPORT_WORDS).
    commands=(
        CommandSpec(
            "summary", ("sommaire", "export", "exporter"), handlers.summary_command, "reader"
        ),
    ),
    jobs=(JobSpec("summary", handlers.monthly, trigger=handlers.monthly_trigger),),
    entries=(Entry("summary", "reader", home="summary"), Entry("export", "coordinator")),
    on_round_closed=handlers.after_close,
    on_answers_released=handlers.after_release,
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
