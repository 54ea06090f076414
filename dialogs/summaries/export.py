"""The coordinator's CSV export: the same published figures as the summary, nothing more."""

from __future__ import annotations

import base64
import csv
import io

from dialogs.cards import Attachment, Card, Paragraph
from dialogs.i18n import Tr
from dialogs.summaries.pulse import PulseSummary

COLUMNS = (
    "rounds",
    "dimension",
    "breakdown",
    "segment",
    "respondents",
    "mean",
    "count_1",
    "count_2",
    "count_3",
    "count_4",
    "count_5",
    "status",
)


def summary_csv(summary: PulseSummary) -> str:
    units = {
        u.key: u for u in [*summary.units, *([summary.diagnostic] if summary.diagnostic else [])]
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for figure in summary.disclosure.figures:
        unit = units[figure.unit]
        counts = list(figure.counts) if figure.counts else [""] * 5
        writer.writerow(
            [
                f"{unit.first_seq}-{unit.last_seq}",
                figure.dimension,
                figure.breakdown,
                figure.segment or "",
                figure.respondents,
                f"{figure.mean:.2f}",
                *counts,
                "shown",
            ]
        )
    for hidden in summary.disclosure.withheld:
        unit = units[hidden.unit]
        writer.writerow(
            [
                f"{unit.first_seq}-{unit.last_seq}",
                hidden.dimension,
                hidden.breakdown,
                hidden.segment or "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                f"hidden:{hidden.reason}",
            ]
        )
    return out.getvalue()


def export_card(summary: PulseSummary, tr: Tr, team_slug: str) -> Card:
    data = base64.b64encode(summary_csv(summary).encode("utf-8")).decode()
    return Card(
        title=tr("export.title", team=summary.team_name),
        blocks=[Paragraph(text=tr("export.intro", k=summary.k))],
        attachments=[
            Attachment(
                filename=f"passerelle-{team_slug}.csv",
                media_type="text/csv",
                data=data,
                description=tr("export.caption"),
            )
        ],
    )
