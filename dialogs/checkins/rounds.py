"""Check-in rounds: drawing items, asking, recording once, one reminder, closing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound, times
from dialogs.anonymity import recording_scheme
from dialogs.calendar import zone
from dialogs.cards import Button, Card, Form, Paragraph, ScaleInput, TextInput, notice
from dialogs.checkins import ballot_store, quiet, round_store
from dialogs.checkins.models import Round
from dialogs.content import DIMENSIONS, ContentBank
from dialogs.forms import CardRejected, FormError, refill
from dialogs.i18n import Tr
from dialogs.texts import clean
from dialogs.turn import Turn
from storage import outbox, teams
from storage.models import Member, Team
from storage.sealing import Sealer

OPEN_TEXT_LIMIT = 500
SKIP = "skip"


@dataclass(frozen=True)
class Draw:
    kind: str
    items: list[str]
    open_question_id: str | None


def draw_items(bank: ContentBank, team: Team, seq: int, history: list[list[str]]) -> Draw:
    """Pick the next round's items: every dimension once, the least recently asked first.

    With the usual five items, one dimension gets a second item, rotating by round; every
    `diagnostic_every_rounds`-th round is the six-conditions diagnostic instead.
    """
    if team.diagnostic_every_rounds and seq % team.diagnostic_every_rounds == 0:
        by_condition: dict[str, list[str]] = {}
        for d in bank.diagnostic_items:
            by_condition.setdefault(d.condition, []).append(d.id)
        turn = seq // team.diagnostic_every_rounds
        diagnostic = [ids[turn % len(ids)] for ids in by_condition.values()]
        return Draw("diagnostic", diagnostic, None)
    last_seen: dict[str, int] = {}
    for age, past in enumerate(history):
        for item in past:
            last_seen.setdefault(item, age)
    per_dimension = {d: 1 for d in DIMENSIONS}
    for extra in range(max(0, team.items_per_round - len(DIMENSIONS))):
        per_dimension[DIMENSIONS[(seq + extra) % len(DIMENSIONS)]] += 1
    items: list[str] = []
    for dimension in DIMENSIONS:
        candidates = sorted(
            bank.likert_items(dimension), key=lambda i: (-last_seen.get(i.id, 10_000), i.id)
        )
        items += [c.id for c in candidates[: per_dimension[dimension]]]
    open_id = None
    if team.open_question:
        opens = sorted(bank.open_items(), key=lambda i: (-last_seen.get(i.id, 10_000), i.id))
        open_id = opens[seq % len(opens)].id if opens else None
    return Draw("checkin", items, open_id)


def round_card(
    tr: Tr,
    bank: ContentBank,
    team: Team,
    round_: Round,
    *,
    member: Member | None = None,
    reminder: bool = False,
    again: bool = False,
) -> Card:
    """The round's card for `member`: its deadline on their clock (`dialogs.times`)."""
    intro = tr(
        "checkin.ask_again" if again else "checkin.reminder" if reminder else "checkin.intro",
        team=team.name,
        count=len(round_.items),
        closes=times.shown(tr, round_.closes_at, team, member),
    )
    blocks: list[Paragraph | ScaleInput | TextInput] = [
        Paragraph(text=intro),
        Paragraph(text=tr("checkin.anonymity", k=team.k)),
    ]
    for item_id in round_.items:
        blocks.append(
            ScaleInput(
                name=f"item:{item_id}",
                label=bank.any_item_text(item_id).get(tr.language),
                low_label=tr("scale.low"),
                high_label=tr("scale.high"),
                skip_label=tr("scale.skip"),
            )
        )
    if round_.open_question_id:
        question = bank.any_item_text(round_.open_question_id).get(tr.language)
        blocks.append(
            TextInput(
                name="open",
                label=tr("checkin.open_label", question=question),
                max_length=OPEN_TEXT_LIMIT,
                placeholder=tr("checkin.open_hint"),
            )
        )
    context = {"team": team.slug, "round": str(round_.id)}
    return Card(
        title=tr("checkin.title", seq=round_.seq, team=team.name),
        blocks=blocks,
        form=Form(action="checkin.submit", submit_label=tr("checkin.submit"), context=context),
        buttons=[Button(label=tr("checkin.skip"), action="checkin.skip", context=context)],
    )


def parse_ballot(
    bank: ContentBank, round_: Round, values: dict[str, str], tr: Tr
) -> tuple[list[round_store.ItemValue], str]:
    parsed: list[round_store.ItemValue] = []
    for item_id in round_.items:
        raw = (values.get(f"item:{item_id}") or "").strip()
        if raw == SKIP:
            value = None
        elif raw in {"1", "2", "3", "4", "5"}:
            value = int(raw)
        else:
            raise FormError(
                "errors.scale_missing", item=bank.any_item_text(item_id).get(tr.language)
            )
        parsed.append(round_store.ItemValue(item_id, bank.dimension_of(item_id), value))
    open_text = clean(values.get("open"), max_length=OPEN_TEXT_LIMIT, required=False)
    return parsed, open_text


async def submit(turn: Turn, round_: Round, values: dict[str, str]) -> Card:
    session, bank, tr, now, sealer = turn.session, turn.bank, turn.tr, turn.now, turn.sealer
    team, member = turn.team, turn.member
    assert team is not None and member is not None
    if round_.closed or round_.closes_at <= now:
        return await open_instead(turn, round_) or closed_notice(tr)
    status = await round_store.status_of(session, round_.id, member.id)
    if status is None:
        return notice(tr("checkin.not_asked_title"), tr("checkin.not_asked"))
    if status != round_store.ASKED:
        return notice(tr("checkin.already_title"), tr(f"checkin.already_{status}"))
    card = refill(round_card(tr, bank, team, round_, member=member), values)
    try:
        parsed, open_text = parse_ballot(bank, round_, values, tr)
    except FormError as problem:
        raise BallotRejected(card, problem.key, problem.params) from None
    scheme = recording_scheme(await teams.group_sizes(session, team.id), team.k)
    sector, position = scheme.apply(member.sector, member.position)
    recorded = await ballot_store.record_ballot(
        session,
        sealer,
        round_=round_,
        member_id=member.id,
        values=parsed,
        sector=sector,
        position=position,
        open_text=open_text or None,
    )
    if not recorded:
        return notice(tr("checkin.already_title"), tr("checkin.already_answered"))
    return Card(
        title=tr("checkin.thanks_title"), blocks=[Paragraph(text=tr("checkin.thanks", k=team.k))]
    )


def closed_notice(tr: Tr) -> Card:
    return notice(tr("checkin.closed_title"), tr("checkin.closed"))


async def open_instead(turn: Turn, stale: Round) -> Card | None:
    """The card of the round open now, for someone who answered a closed one's card: what
    they can still answer is shown rather than lost, with a line saying the earlier round
    closed. None when no other round is open or they were not asked in it (paused, or they
    already answered or skipped it)."""
    team, member = turn.team, turn.member
    assert team is not None and member is not None
    current = await round_store.open_round_of(turn.session, team.id)
    if current is None or current.id == stale.id or current.closes_at <= turn.now:
        return None
    if await round_store.status_of(turn.session, current.id, member.id) != round_store.ASKED:
        return None
    tr = turn.tr
    card = round_card(tr, turn.bank, team, current, member=member)
    note = Paragraph(text=tr("checkin.stale", old=stale.seq, seq=current.seq))
    return card.model_copy(update={"blocks": [note, *card.blocks]})


class BallotRejected(CardRejected):
    """A ballot that does not fit its round any more: its card again, with what was typed."""


async def start_round(
    session: AsyncSession, bank: ContentBank, team: Team, *, occurrence: str, now: dt.datetime
) -> Round | None:
    """Open a round and queue each member's card; None if this occurrence already ran or a
    round is still open."""
    if await round_store.open_round_of(session, team.id) is not None:
        return None
    everyone = await teams.active_members(session, team.id)
    members = [
        m
        for m in everyone
        if m.paused_until is None
        or m.paused_until < now.astimezone(zone(m.timezone, team.timezone)).date()
    ]
    closes_at = now + dt.timedelta(hours=team.response_window_hours)
    history = await round_store.past_items(session, team.id)
    seq = len(await round_store.rounds_of(session, team.id)) + 1
    draw = draw_items(bank, team, seq, history)
    round_ = await round_store.open_round(
        session,
        team_id=team.id,
        occurrence=occurrence,
        kind=draw.kind,
        items=draw.items,
        open_question_id=draw.open_question_id,
        opened_at=now,
        opened_on=now.astimezone(zone(team.timezone)).date(),
        remind_at=now + dt.timedelta(hours=team.reminder_after_hours),
        closes_at=closes_at,
        member_ids=[m.id for m in members],
    )
    if round_ is None:
        return None
    in_time, too_late = quiet.reachable_in_time(team, members, now, closes_at)
    await outbound.to_each(
        session,
        team,
        in_time,
        lambda tr, member: round_card(tr, bank, team, round_, member=member),
        key=f"checkin:{round_.id}",
        now=now,
    )
    coordinators = [m for m in everyone if m.is_coordinator]
    await quiet.tell_coordinators(session, team, round_, len(too_late), coordinators, now)
    return round_


async def remind(
    session: AsyncSession, bank: ContentBank, team: Team, round_: Round, now: dt.datetime
) -> int:
    """The round's one reminder, to those the ledger says have not answered."""
    if round_.reminded or round_.closed:
        return 0
    waiting = set(await round_store.members_with_status(session, round_.id, round_store.ASKED))
    sent = await outbound.to_each(
        session,
        team,
        [m for m in await teams.active_members(session, team.id) if m.id in waiting],
        lambda tr, member: round_card(tr, bank, team, round_, member=member, reminder=True),
        key=f"remind:{round_.id}",
        now=now,
    )
    round_.reminded = True
    return sent


async def ask_again(
    session: AsyncSession,
    sealer: Sealer,
    bank: ContentBank,
    team: Team,
    round_: Round,
    now: dt.datetime,
) -> int:
    """Members whose sealed ballot this server can no longer open (its key was lost or
    retired too early) are asked again, never silently dropped."""
    if round_.closed or round_.closes_at <= now:
        return 0
    lost = set(await ballot_store.unreadable_ballots(session, sealer, round_))
    await outbound.to_each(
        session,
        team,
        [m for m in await teams.active_members(session, team.id) if m.id in lost],
        lambda tr, member: round_card(tr, bank, team, round_, member=member, again=True),
        key=lambda member: f"checkin-again:{round_.id}:{member.id}:{sealer.key_id}",
        now=now,
    )
    return len(lost)


async def close(session: AsyncSession, team: Team, round_: Round) -> bool:
    """Close: counts replace the ledger, unsent asks are dropped (the ballots stay sealed
    until `results.freeze_new_units`). False when another closer closed it first."""
    if not await round_store.close_round(session, round_):
        return False
    await outbox.forget(session, f"checkin:{round_.id}:")
    await outbox.forget(session, f"remind:{round_.id}:")
    await outbox.forget(session, f"checkin-again:{round_.id}:")
    return True


async def late_joiner(
    session: AsyncSession, bank: ContentBank, team: Team, member: Member, now: dt.datetime
) -> None:
    """Someone joining while a round is open is asked too."""
    round_ = await round_store.open_round_of(session, team.id)
    if round_ is None or round_.closes_at <= now:
        return
    if await round_store.ask_late_joiner(session, round_.id, member.id):
        card = round_card(outbound.speaking(team, member), bank, team, round_, member=member)
        await outbound.to_member(
            session, team, member, card, key=f"checkin:{round_.id}:{member.id}", now=now
        )
