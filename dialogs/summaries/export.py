"""The coordinator's CSV export: the same published figures as the summary, nothing more.

Written for the spreadsheet the reader opens it in: headers, dimension, group and status in
their language; rounds named as the summary names them, with their date; UTF-8 with a byte
order mark (without it Excel reads UTF-8 as Windows-1252 and garbles every accent); in French
`;` between fields and `,` in numbers, as Excel set to French expects (it would split "3,25" on
a comma), and in English `,` between fields and `.` in numbers.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import Mapping

from dialogs.cards import Attachment, Card, Paragraph
from dialogs.content import ContentBank
from dialogs.disclosure import Figure, Withheld
from dialogs.i18n import Tr
from dialogs.summaries.pulse import PulseSummary, Unit

BOM = "\ufeff"
DIAGNOSTIC = "diagnostic:"
HEADERS = (
    "team",
    "round",
    "date",
    "dimension",
    "breakdown",
    "group",
    "respondents",
    "mean",
    "count_1",
    "count_2",
    "count_3",
    "count_4",
    "count_5",
    "status",
)
# The round a unit covers, on which day: (kind, seq) -> the day that round opened.
RoundDays = Mapping[tuple[str, int], dt.date]


def separator(tr: Tr) -> str:
    """`;` for a French reader (their decimal comma would split a `,` file), `,` otherwise."""
    return ";" if tr.language == "fr" else ","


def decimal(value: float, tr: Tr, digits: int = 2) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if tr.language == "fr" else text


def day_label(day: dt.date, tr: Tr) -> str:
    """3 novembre 2026 / November 3, 2026."""
    return tr("summary.csv.day", day=day.day, month=tr(f"month.{day.month}"), year=day.year)


def round_label(unit: Unit, tr: Tr, days: RoundDays) -> str:
    """« Bilan nᵒ 4 — 3 novembre 2026 », « Bilans nᵒˢ 3 à 4 — 3 novembre 2026 »."""
    if unit.first_seq == unit.last_seq:
        label = tr("summary.csv.round_one", seq=unit.first_seq)
    else:
        label = tr("summary.csv.round_pooled", first=unit.first_seq, last=unit.last_seq)
    day = days.get((unit.kind, unit.last_seq))
    return tr("summary.csv.dated", round=label, day=day_label(day, tr)) if day else label


def summary_csv(
    summary: PulseSummary, tr: Tr, bank: ContentBank, days: RoundDays | None = None
) -> str:
    """The CSV's text (its BOM first); encode it as UTF-8."""
    days = days or {}
    units = {
        u.key: u for u in [*summary.units, *([summary.diagnostic] if summary.diagnostic else [])]
    }
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=separator(tr))
    writer.writerow(
        [
            tr("summary.csv.count", value=h[-1])
            if h.startswith("count_")
            else tr(f"summary.csv.{h}")
            for h in HEADERS
        ]
    )
    rows: list[Figure | Withheld] = [*summary.disclosure.figures, *summary.disclosure.withheld]
    for row in rows:
        unit = units[row.unit]
        day = days.get((unit.kind, unit.last_seq))
        start = [
            _inert(summary.team_name),
            round_label(unit, tr, days),
            day.isoformat() if day else "",
            _dimension(row.dimension, tr, bank),
            tr(f"summary.csv.breakdown_{row.breakdown}"),
            _group(row.breakdown, row.segment, tr),
        ]
        if isinstance(row, Figure):
            counts = [str(c) for c in row.counts] if row.counts else [""] * 5
            status = tr("summary.csv.shown")
            writer.writerow([*start, row.respondents, decimal(row.mean, tr), *counts, status])
        else:
            # Nothing of a withheld figure: not its people, mean or answers. Only why.
            status = tr(f"summary.csv.hidden_{row.reason}", k=summary.k)
            writer.writerow([*start, "", "", "", "", "", "", "", status])
    return out.getvalue()


def _inert(text: str) -> str:
    """A typed name a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _dimension(dimension: str, tr: Tr, bank: ContentBank) -> str:
    if dimension.startswith(DIAGNOSTIC):
        return bank.condition(dimension.removeprefix(DIAGNOSTIC)).label.get(tr.language)
    return tr(f"dimension.{dimension}")


def _group(breakdown: str, segment: str | None, tr: Tr) -> str:
    if breakdown == "all":
        return tr("summary.csv.group_all")
    if segment is None:
        return tr("summary.csv.group_unstated")
    return tr(f"{breakdown}.{segment}")


def export_card(
    summary: PulseSummary,
    tr: Tr,
    team_slug: str,
    bank: ContentBank,
    days: RoundDays | None = None,
) -> Card:
    text = summary_csv(summary, tr, bank, days)
    return Card(
        title=tr("export.title", team=summary.team_name),
        blocks=[Paragraph(text=tr("export.intro", k=summary.k))],
        attachments=[
            Attachment(
                filename=f"passerelle-{team_slug}.csv",
                media_type="text/csv",
                data=base64.b64encode(text.encode("utf-8")).decode(),
                description=tr("export.caption"),
            )
        ],
    )
