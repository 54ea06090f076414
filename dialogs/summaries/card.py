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
from dialogs.cards import Attachment, Button, Card, Paragraph
from dialogs.content import ContentBank
from dialogs.i18n import Tr
from dialogs.summaries.pulse import RECENT_DAYS, PulseSummary, Unit, compute, trend
from dialogs.turn import is_reader
from storage import teams
from storage.models import Team

SECTORS = ("public", "community", "other")
POSITIONS = ("front_line", "manager", "coordinator")


# --------------------------------------------------------------------------- rendering
def summary_card(
    summary: PulseSummary,
    bank: ContentBank,
    tr: Tr,
    *,
    chart: bytes | None,
    team_slug: str,
    coordinator: bool,
) -> Card:
    blocks = [Paragraph(text=tr("summary.perceptions"))]
    blocks += _participation(summary, tr)
    latest = summary.latest
    if latest is not None:
        blocks.append(
            Paragraph(
                text=tr(
                    "summary.unit",
                    rounds=_rounds(latest, tr),
                    answered=latest.answered,
                    asked=latest.asked,
                )
            )
        )
        blocks += [Paragraph(text=line) for line in _dimension_lines(summary, latest, tr)]
        blocks += [Paragraph(text=line) for line in _gap_lines(summary, latest, "sector", tr)]
        blocks += [Paragraph(text=line) for line in _gap_lines(summary, latest, "position", tr)]
    blocks += [Paragraph(text=line) for line in _diagnostic_lines(summary, bank, tr)]
    if summary.texts and latest is not None:
        blocks.append(Paragraph(text=tr("summary.open_answers", count=len(summary.texts))))
        blocks += [Paragraph(text=text, from_user=True) for _, text in summary.texts]
    blocks += [
        Paragraph(text=_tension_line(summary, bank, tr)),
        Paragraph(text=tr("summary.successes", count=summary.successes, days=RECENT_DAYS)),
    ]
    attachments = []
    if chart is not None:
        attachments.append(
            Attachment(
                filename="passerelle-summary.png",
                media_type="image/png",
                data=base64.b64encode(chart).decode(),
                description=chart_description(summary, tr),
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


def _rounds(unit: Unit, tr: Tr) -> str:
    if unit.first_seq == unit.last_seq:
        return tr("summary.one_round", seq=unit.first_seq)
    return tr("summary.pooled_rounds", first=unit.first_seq, last=unit.last_seq)


def _participation(summary: PulseSummary, tr: Tr) -> list[Paragraph]:
    round_ = summary.latest_round
    if round_ is None:
        return [Paragraph(text=tr("summary.no_round"))]
    lines = [
        Paragraph(
            text=tr(
                "summary.participation",
                seq=round_.seq,
                answered=round_.answered,
                asked=round_.asked,
            )
        )
    ]
    if not summary.latest_published:
        key = "summary.pooling_next" if summary.pooling else "summary.not_enough"
        lines.append(Paragraph(text=tr(key, k=summary.k)))
    return lines


def _dimension_lines(summary: PulseSummary, latest: Unit, tr: Tr) -> list[str]:
    lines = []
    for dimension in summary.dimensions():
        label = tr(f"dimension.{dimension}")
        figure = summary.disclosure.get(latest.key, dimension)
        if figure is None:
            lines.append(tr("summary.dimension_hidden", dimension=label, k=summary.k))
            continue
        assert figure.counts is not None
        spread = " · ".join(f"{v}: {n}" for v, n in zip(range(1, 6), figure.counts, strict=True))
        line = tr(
            "summary.dimension",
            dimension=label,
            mean=_num(figure.mean, tr),
            n=figure.respondents,
            spread=spread,
        )
        history = [f for _, f in trend(summary, dimension)]
        previous = next((f for f in reversed(history[:-1]) if f is not None), None)
        if previous is not None:
            line += " " + tr("summary.change", change=_signed(figure.mean - previous.mean, tr))
        shown = [_num(f.mean, tr) for f in history if f is not None]
        if len(shown) >= 3:
            line += " " + tr("summary.trend", values=" → ".join(shown))
        lines.append(line)
    return lines


def _gap_lines(summary: PulseSummary, latest: Unit, breakdown: str, tr: Tr) -> list[str]:
    segments = SECTORS if breakdown == "sector" else POSITIONS
    lines = []
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
        parts = " · ".join(f"{tr(f'{breakdown}.{f.segment}')} {_num(f.mean, tr)}" for f in figures)
        gap = max(f.mean for f in figures) - min(f.mean for f in figures)
        lines.append(
            tr(
                "summary.gap",
                dimension=tr(f"dimension.{dimension}"),
                parts=parts,
                gap=_num(gap, tr),
            )
        )
    if lines:
        lines.insert(0, tr(f"summary.gap_title_{breakdown}"))
    if hidden:
        lines.append(tr(f"summary.gap_hidden_{breakdown}", k=summary.k))
    return lines


def _diagnostic_lines(summary: PulseSummary, bank: ContentBank, tr: Tr) -> list[str]:
    unit = summary.diagnostic
    if unit is None:
        return []
    lines = [tr("summary.diagnostic", rounds=_rounds(unit, tr))]
    for condition in bank.conditions:
        label = condition.label.get(tr.language)
        figure = summary.disclosure.get(unit.key, f"diagnostic:{condition.id}")
        if figure is None:
            lines.append(tr("summary.dimension_hidden", dimension=label, k=summary.k))
        else:
            lines.append(
                tr(
                    "summary.condition",
                    condition=label,
                    mean=_num(figure.mean, tr),
                    n=figure.respondents,
                )
            )
    return lines


def _tension_line(summary: PulseSummary, bank: ContentBank, tr: Tr) -> str:
    raised = sum(sum(by_theme.values()) for by_theme in summary.tensions.values())
    published = summary.tensions.get("published", {})
    themes = (
        ", ".join(
            f"{bank.theme(th).label.get(tr.language)} ({n})" for th, n in sorted(published.items())
        )
        or "—"
    )
    return tr(
        "summary.tensions",
        raised=raised,
        published=sum(published.values()),
        themes=themes,
        days=RECENT_DAYS,
    )


def chart_description(summary: PulseSummary, tr: Tr) -> str:
    return tr("summary.chart_alt", units=len(summary.units))


def _num(value: float, tr: Tr) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if tr.language == "fr" else text


def _signed(value: float, tr: Tr) -> str:
    if abs(value) < 0.05:
        return _num(0.0, tr)
    return ("+" if value > 0 else "") + _num(value, tr)


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
