"""The pulse summary for managers and coordinators of both sectors, never under k.

Computing (`compute`) and showing (`summary_card`) are apart: the figures come from one grouped
query and pass through `dialogs.disclosure` before anything is rendered.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.cards import Attachment, Button, Card, Paragraph, Table, TableCell, TableRow
from dialogs.content import ContentBank
from dialogs.i18n import Tr
from dialogs.summaries.pulse import (
    RECENT_DAYS,
    Change,
    PulseSummary,
    Unit,
    changes,
    compute,
    moved_most,
)
from dialogs.turn import is_reader
from storage import teams
from storage.models import Team

SECTORS = ("public", "community", "other")
POSITIONS = ("front_line", "manager", "coordinator")


# --------------------------------------------------------------------------- rendering
# A distribution drawn with characters: no answer sits on the baseline, any answer is at least
# one step up, the most frequent value reaches the top.
BAR_EMPTY = "▁"
BAR_LEVELS = "▂▃▄▅▆▇█"
STEADY = 0.05  # a change that rounds to 0,0 is shown as steady (→)


def summary_card(
    summary: PulseSummary,
    bank: ContentBank,
    tr: Tr,
    *,
    chart: bytes | None,
    team_slug: str,
    coordinator: bool,
) -> Card:
    """In the order a manager reads it in ten seconds: the headline (who answered, what moved
    most), one row per dimension, the gaps between sectors and positions when they can be
    shown, the diagnostic, the open answers, then the team's activity."""
    found = changes(summary)
    blocks: list[Paragraph | Table] = [*_headline(summary, found, tr)]
    latest = summary.latest
    if latest is not None:
        blocks.append(_dimension_table(summary, latest, found, tr))
        for breakdown in ("sector", "position"):
            blocks += _gap_blocks(summary, latest, breakdown, tr)
    blocks += _diagnostic_blocks(summary, bank, tr)
    if summary.texts and latest is not None:
        blocks.append(Paragraph(text=tr("summary.open_answers", n=len(summary.texts))))
        blocks += [Paragraph(text=text, from_user=True) for _, text in summary.texts]
    blocks.append(_activity_table(summary, bank, tr))
    attachments = []
    if chart is not None:
        from dialogs.summaries.charts import alt_text  # matplotlib loads only with a chart

        attachments.append(
            Attachment(
                filename="passerelle-summary.png",
                media_type="image/png",
                data=base64.b64encode(chart).decode(),
                description=alt_text(summary, tr),
                title=tr("summary.chart_title", team=summary.team_name),
            )
        )
    buttons = (
        [
            Button(
                label=tr("summary.export_button"),
                action="command",
                context={"team": team_slug, "text": "summary csv"},
            )
        ]
        if coordinator
        else []
    )
    return Card(
        title=tr("summary.title", team=summary.team_name),
        blocks=blocks,
        attachments=attachments,
        buttons=buttons,
    )


def _headline(summary: PulseSummary, found: list[Change], tr: Tr) -> list[Paragraph]:
    """Participation in words (people who answered, of people asked), said once, and the
    dimension that moved most; then why the latest round is not shown, if it is not."""
    round_ = summary.latest_round
    if round_ is None:
        return [Paragraph(text=tr("summary.no_round"))]
    line = tr("summary.headline", seq=round_.seq, n=round_.answered, asked=round_.asked)
    moved = moved_most(found) if summary.latest_published else None
    if moved is not None:
        assert moved.delta is not None
        if abs(moved.delta) < STEADY:
            line += " " + tr("summary.moved_none")
        else:
            line += " " + tr(
                "summary.moved",
                dimension=tr(f"dimension.{moved.dimension}"),
                change=_arrow(moved.delta, tr),
            )
    lines = [Paragraph(text=line)]
    if not summary.latest_published:
        key = "summary.pooling_next" if summary.pooling else "summary.not_enough"
        lines.append(Paragraph(text=tr(key, k=summary.k)))
    return lines


def _results_caption(summary: PulseSummary, unit: Unit, tr: Tr) -> str:
    """Which rounds the table shows; their participation only when the headline has not said
    it already (a pooled unit, or an earlier round than the latest)."""
    if unit.first_seq != unit.last_seq:
        return tr(
            "summary.caption_pooled",
            first=unit.first_seq,
            last=unit.last_seq,
            n=unit.answered,
            asked=unit.asked,
        )
    round_ = summary.latest_round
    if round_ is not None and round_.seq == unit.last_seq and round_.kind == unit.kind:
        return tr("summary.caption_one", seq=unit.last_seq)
    return tr("summary.caption_earlier", seq=unit.last_seq, n=unit.answered, asked=unit.asked)


def _dimension_table(summary: PulseSummary, latest: Unit, found: list[Change], tr: Tr) -> Table:
    by_dimension = {c.dimension: c for c in found}
    rows = []
    for dimension in summary.dimensions():
        label = tr(f"dimension.{dimension}")
        change = by_dimension.get(dimension)
        if change is None:  # withheld in the latest unit: fewer than k people
            rows.append(
                TableRow(
                    label=label,
                    cells=[
                        TableCell(text="—"),
                        TableCell(text="—"),
                        TableCell(text=tr("summary.hidden", k=summary.k)),
                    ],
                )
            )
            continue
        figure = change.figure
        assert figure.counts is not None
        rows.append(
            TableRow(
                label=label,
                cells=[
                    TableCell(text=_num(figure.mean, tr)),
                    TableCell(text="—" if change.delta is None else _arrow(change.delta, tr)),
                    _spread(figure.counts, tr),
                ],
            )
        )
    return Table(
        caption=_results_caption(summary, latest, tr),
        header=[
            tr("summary.col_dimension"),
            tr("summary.col_mean"),
            tr("summary.col_change"),
            tr("summary.col_spread"),
        ],
        rows=rows,
        note=tr("summary.note"),
    )


def _spread(counts: tuple[int, int, int, int, int], tr: Tr) -> TableCell:
    """The answers of 1 to 5 as a five-step bar, labelled as answers (a person answers each
    item of a dimension, so there are more answers than people)."""
    total = sum(counts)
    top = max(counts) or 1
    bar = "".join(
        BAR_LEVELS[min(len(BAR_LEVELS) - 1, round(c / top * (len(BAR_LEVELS) - 1)))]
        if c
        else BAR_EMPTY
        for c in counts
    )
    listed = ", ".join(str(c) for c in counts)
    return TableCell(
        text=tr("summary.spread", bar=bar, n=total),
        alt=tr("summary.spread_alt", n=total, counts=listed),
    )


def _gap_blocks(
    summary: PulseSummary, latest: Unit, breakdown: str, tr: Tr
) -> list[Paragraph | Table]:
    """A table of the segments' means per dimension, only where at least two segments can be
    shown (`dialogs.disclosure` decides: never under k, even by subtraction), and a sentence
    when some comparisons are withheld."""
    segments = SECTORS if breakdown == "sector" else POSITIONS
    shown: list[tuple[str, dict[str, float]]] = []
    hidden = False
    for dimension in summary.dimensions():
        figures = [
            f
            for s in segments
            if (f := summary.disclosure.get(latest.key, dimension, breakdown, s))
        ]
        if len(figures) < 2:
            hidden = hidden or summary.disclosure.get(latest.key, dimension) is not None
            continue
        shown.append((dimension, {str(f.segment): f.mean for f in figures}))
    if breakdown == "position":
        # Positions are optional: say so only when a recorded position was withheld, not for
        # a team that never records them (sectors, the comparison the summary exists for,
        # are always accounted for).
        hidden = any(
            w.unit == latest.key and w.breakdown == breakdown and w.segment is not None
            for w in summary.disclosure.withheld
        )
    blocks: list[Paragraph | Table] = []
    if shown:
        columns = [s for s in segments if any(s in means for _, means in shown)]
        rows = [
            TableRow(
                label=tr(f"dimension.{dimension}"),
                cells=[TableCell(text=_num(means[s], tr) if s in means else "—") for s in columns]
                + [TableCell(text=_num(max(means.values()) - min(means.values()), tr))],
            )
            for dimension, means in shown
        ]
        blocks.append(
            Table(
                caption=tr(f"summary.gap_title_{breakdown}"),
                header=[
                    tr("summary.col_dimension"),
                    *(tr(f"summary.segment.{s}") for s in columns),
                    tr("summary.col_gap"),
                ],
                rows=rows,
            )
        )
    if hidden:
        blocks.append(Paragraph(text=tr(f"summary.gap_hidden_{breakdown}", k=summary.k)))
    return blocks


def _diagnostic_blocks(summary: PulseSummary, bank: ContentBank, tr: Tr) -> list[Table]:
    unit = summary.diagnostic
    if unit is None:
        return []
    rows = []
    for condition in bank.conditions:
        figure = summary.disclosure.get(unit.key, f"diagnostic:{condition.id}")
        cells = (
            [TableCell(text="—"), TableCell(text=tr("summary.hidden", k=summary.k))]
            if figure is None
            else [
                TableCell(text=_num(figure.mean, tr)),
                TableCell(text=tr("summary.people", n=figure.respondents)),
            ]
        )
        rows.append(TableRow(label=condition.label.get(tr.language), cells=cells))
    return [
        Table(
            caption=tr("summary.diagnostic", rounds=_rounds(unit, tr)),
            header=[tr("summary.col_condition"), tr("summary.col_mean"), tr("summary.col_people")],
            rows=rows,
        )
    ]


def _activity_table(summary: PulseSummary, bank: ContentBank, tr: Tr) -> Table:
    raised = sum(sum(by_theme.values()) for by_theme in summary.tensions.values())
    published = summary.tensions.get("published", {})
    themes = ", ".join(
        f"{bank.theme(th).label.get(tr.language)} ({n})" for th, n in sorted(published.items())
    )
    count = str(sum(published.values()))
    return Table(
        caption=tr("summary.activity", days=RECENT_DAYS),
        header=[tr("summary.col_activity"), tr("summary.col_count")],
        rows=[
            TableRow(label=tr("summary.tensions_raised"), cells=[TableCell(text=str(raised))]),
            TableRow(
                label=tr("summary.tensions_published"),
                cells=[
                    TableCell(
                        text=tr("summary.themes", count=count, themes=themes) if themes else count
                    )
                ],
            ),
            TableRow(label=tr("summary.successes"), cells=[TableCell(text=str(summary.successes))]),
        ],
        note=tr("summary.perceptions"),
    )


def _rounds(unit: Unit, tr: Tr) -> str:
    if unit.first_seq == unit.last_seq:
        return tr("summary.one_round", seq=unit.first_seq)
    return tr("summary.pooled_rounds", first=unit.first_seq, last=unit.last_seq)


def _num(value: float, tr: Tr) -> str:
    """One decimal, with the language's separator: 3,3 in French, 3.3 in English."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if tr.language == "fr" else text


def _arrow(delta: float, tr: Tr) -> str:
    """↑ +0,4, ↓ −0,2 or → 0,0: the arrow says the direction before the figure is read."""
    if abs(delta) < STEADY:
        return "→ " + _num(0.0, tr)
    if delta > 0:
        return "↑ +" + _num(delta, tr)
    return "↓ −" + _num(-delta, tr)


# --------------------------------------------------------------------------- delivery
async def card_for(
    session: AsyncSession,
    bank: ContentBank,
    team: Team,
    tr: Tr,
    today: dt.date,
    *,
    coordinator: bool,
) -> Card:
    from dialogs.summaries.charts import (
        cached_chart,  # matplotlib loads only when a summary is drawn
    )

    summary = await compute(session, team, today)
    chart = await asyncio.to_thread(cached_chart, summary, tr) if summary.units else None
    return summary_card(
        summary, bank, tr, chart=chart, team_slug=team.slug, coordinator=coordinator
    )


async def send_to_readers(
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime, occasion: str
) -> int:
    """Every reader the team chose (`dialogs.turn.is_reader`), of both sectors, at the same
    moment, in their language.

    Quiet hours are not applied here on purpose: symmetry between sectors comes first.
    """
    from dialogs.summaries.charts import cached_chart

    summary = await compute(session, team, now.date())
    readers = [m for m in await teams.active_members(session, team.id) if is_reader(team, m)]
    charts: dict[str, bytes | None] = {}
    for language in sorted({outbound.speaking(team, m).language for m in readers}):
        # Drawing takes a fifth of a second: off the event loop, once per language.
        charts[language] = (
            await asyncio.to_thread(cached_chart, summary, Tr(language)) if summary.units else None
        )
    return await outbound.to_each(
        session,
        team,
        readers,
        lambda tr, member: summary_card(
            summary,
            bank,
            tr,
            chart=charts[tr.language],
            team_slug=team.slug,
            coordinator=member.is_coordinator,
        ),
        key=f"summary:{team.id}:{occasion}",
        now=now,
        respect_quiet_hours=False,
    )
