"""The pulse summary for managers and coordinators of both sectors, never under k."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.anonymity import effective_k
from dialogs.cards import Card, Paragraph
from dialogs.content import DIMENSIONS, ContentBank
from dialogs.i18n import Tr
from storage import aggregates, rounds, teams
from storage.models import Round, Team


def latest_closed(all_rounds: list[Round]) -> Round | None:
    closed = [r for r in all_rounds if r.closed]
    return closed[-1] if closed else None


async def summary_card(session: AsyncSession, bank: ContentBank, team: Team, tr: Tr) -> Card:
    k = effective_k(team.k)
    round_ = latest_closed(list(await rounds.rounds_of(session, team.id)))
    blocks = [Paragraph(text=tr("summary.perceptions"))]
    if round_ is None:
        blocks.append(Paragraph(text=tr("summary.no_round")))
    else:
        answered = round_.answered_count or 0
        blocks.append(
            Paragraph(
                text=tr(
                    "summary.participation",
                    seq=round_.seq,
                    answered=answered,
                    asked=round_.asked_count or 0,
                )
            )
        )
        if answered < k:
            blocks.append(Paragraph(text=tr("summary.not_enough", k=k)))
        else:
            distributions = await aggregates.dimension_distributions(session, round_.id)
            for dimension in _ordered(distributions):
                dist = distributions[dimension]
                label = _dimension_label(bank, dimension, tr)
                if dist.answered < k or dist.mean is None:
                    blocks.append(
                        Paragraph(text=tr("summary.dimension_hidden", dimension=label, k=k))
                    )
                    continue
                spread = " · ".join(f"{v}: {dist.counts.get(v, 0)}" for v in range(1, 6))
                blocks.append(
                    Paragraph(
                        text=tr(
                            "summary.dimension",
                            dimension=label,
                            mean=f"{dist.mean:.1f}",
                            spread=spread,
                            n=dist.answered,
                        )
                    )
                )
            texts = await aggregates.visible_open_answers(session, round_.id)
            if texts:
                blocks.append(Paragraph(text=tr("summary.open_answers", count=len(texts))))
                blocks += [Paragraph(text=text, from_user=True) for text in texts]
    themes = await aggregates.tension_themes(session, team.id)
    raised = sum(sum(by_theme.values()) for by_theme in themes.values())
    published = themes.get("published", {})
    theme_list = (
        ", ".join(
            f"{bank.theme(th).label.get(tr.language)} ({n})" for th, n in sorted(published.items())
        )
        or "—"
    )
    blocks.append(
        Paragraph(
            text=tr(
                "summary.tensions",
                raised=raised,
                published=sum(published.values()),
                themes=theme_list,
            )
        )
    )
    successes = await aggregates.success_counts(session, team.id)
    blocks.append(Paragraph(text=tr("summary.successes", count=sum(successes.values()))))
    return Card(title=tr("summary.title", team=team.name), blocks=blocks)


def _ordered(distributions: dict[str, aggregates.Distribution]) -> list[str]:
    return sorted(distributions, key=lambda d: (DIMENSIONS.index(d) if d in DIMENSIONS else 99, d))


def _dimension_label(bank: ContentBank, dimension: str, tr: Tr) -> str:
    if dimension.startswith("diagnostic:"):
        return bank.condition(dimension.split(":", 1)[1]).label.get(tr.language)
    return tr(f"dimension.{dimension}")


async def send_to_readers(
    session: AsyncSession, bank: ContentBank, team: Team, now: dt.datetime, occasion: str
) -> int:
    """Every manager and coordinator, of both sectors, at the same moment, in their language.

    Quiet hours are not applied here on purpose: symmetry between sectors comes first.
    """
    sent = 0
    for member in await teams.active_members(session, team.id):
        if member.is_coordinator or member.position in ("manager", "coordinator"):
            card = await summary_card(session, bank, team, Tr(member.language or team.language))
            sent += await outbound.to_member(
                session,
                team,
                member,
                card,
                key=f"summary:{team.id}:{occasion}:{member.id}",
                now=now,
                respect_quiet_hours=False,
            )
    return sent
