"""The authorization matrix (issue 11): every command and every form action, as every role, with
forged action ids, forged ids of another team's rounds, tensions, answers, occurrences and
members, forged Slack `private_metadata` and forged Teams card `data`.

Roles: a member, a summary reader (confirmed), the coordinator of team A, the coordinator of
team B acting on A's things (a member of another team), and someone in no team. Passerelle has
no platform-wide administrator role (whoever runs the server holds the database, not a chat
role), so there is no such row.

A cell's expected answer is "allowed" or "refused". A refused cell must answer with a refusal
(never an error, never silence) and leave every table exactly as it was; refused cells run one
after another on one copy of the world, each between two snapshots of every table (a cell
that changes something fails, and the copy is replaced so the cells after it start from the
world again). An allowed cell changes the world, so it gets one of its own: a file copy on
SQLite, a transaction rolled back afterwards on PostgreSQL (tests/authz_copies.py). Both
databases run every cell. `test_forbidden_cells_allowed` prints the matrix's size and the
count of forbidden cells allowed (aim 0).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from adapters.slack import events as slack_events
from adapters.slack.blocks import form_metadata
from dialogs.administration import team_forms as team_admin
from dialogs.cards import Card
from dialogs.engine import Engine
from dialogs.events import Actor, Place
from dialogs.i18n import Tr
from dialogs.rituals import registry
from tests.authorization_cases import CASES, CELLS, Case
from tests.authorization_world import (
    ACTORS,
    ERROR_TITLES,
    OUTSIDER_TITLES,
    REFUSAL_TITLES,
    ROLES,
    SEALER,
    World,
    build,
)
from tests.authz_copies import Copies, PostgresCopies, SqliteCopies, changed_tables, prepared
from tests.conftest import POSTGRES_ADMIN_URL, START, unavailable


# --------------------------------------------------------------------------- copies of the world
@dataclass
class Matrix:
    """One database's world and its copies (tests/authz_copies.py), and what its cells did."""

    copies: Copies
    world: World
    ran: dict[str, int] = field(default_factory=lambda: {"allowed": 0, "refused": 0})


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool
) -> AsyncIterator[Matrix]:
    copies: Copies
    if request.param == "sqlite":
        copies = SqliteCopies(tmp_path_factory.mktemp("authz"))
    else:
        if not postgres_ok:
            unavailable("PostgreSQL is not reachable at " + POSTGRES_ADMIN_URL)
        copies = PostgresCopies()
        await copies.create()
    try:
        made = Matrix(copies, await prepared(copies, build))
        MATRICES[copies.kind] = made
        yield made
        await copies.close()
    finally:
        if isinstance(copies, PostgresCopies):
            await copies.destroy()


# --------------------------------------------------------------------------- one cell
def outcome(cards: list[Card]) -> str:
    if not cards:
        return "silent"
    titles = {card.title for card in cards}
    if titles & ERROR_TITLES:
        return "error"
    if titles & (REFUSAL_TITLES | OUTSIDER_TITLES):
        return "refused"
    return "allowed"


FORBIDDEN_ALLOWED: list[str] = []

MATRICES: dict[str, Matrix] = {}  # per database, for the figures


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("case", "role"), CELLS, ids=[f"{c.name} | {r}" for c, r in CELLS])
async def test_cell(case: Case, role: str, matrix: Matrix) -> None:
    event = case.make(matrix.world, ACTORS[role])
    label = f"{case.name} | {role}"
    copies = matrix.copies
    if role in case.allowed:
        matrix.ran["allowed"] += 1
        async with copies.own() as database:  # a world of its own: allowed cells change it
            cards = await Engine(database, clock=lambda: START, sealer=SEALER).handle(event)
        assert outcome(cards) == "allowed", (label, [c.title for c in cards], cards)
        return
    # Refused: on the shared copy, right after the cell before, between two snapshots.
    matrix.ran["refused"] += 1
    database = copies.shared
    before = await copies.snapshot(database)
    cards = await Engine(database, clock=lambda: START, sealer=SEALER).handle(event)
    after = await copies.snapshot(database)
    got = outcome(cards)
    changed = changed_tables(before, after)
    if changed:
        await copies.renew()  # the cells after this one start from the world again
    if got != "refused" or changed:
        FORBIDDEN_ALLOWED.append(f"{copies.kind}: {label}: answered {got}, changed {changed}")
    assert got == "refused", (label, cards)
    assert not changed, (label, changed)


def test_forbidden_cells_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix's figures, printed whatever pytest captures (run after the cells)."""
    forbidden = sum(1 for case, role in CELLS if role not in case.allowed)
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {len(CASES)} cases x {len(ROLES)} roles = {len(CELLS)} "
            f"cells per database ({forbidden} forbidden, {len(CELLS) - forbidden} allowed)"
        )
        for kind, made in MATRICES.items():
            print(
                f"  {kind}: {made.ran['refused']} forbidden cells run on one copy, "
                f"{made.ran['allowed']} allowed cells each on a world of its own; "
                f"database copies made: {made.copies.copies_made}"
            )
        print(f"  forbidden cells allowed: {len(FORBIDDEN_ALLOWED)}")
        for line in FORBIDDEN_ALLOWED:
            print("  allowed:", line)
    assert FORBIDDEN_ALLOWED == []


def test_the_slack_bridge_refuses_forged_private_metadata() -> None:
    """Slack's `private_metadata` is signed for the person the modal is for: metadata naming
    another channel, or signed for someone else, never reaches the engine."""
    asker = Actor("slack", "T0", "U0ASKER")
    other = Actor("slack", "T0", "U0OTHER")
    card = team_admin.setup_card(Tr("fr"), Place("slack", "T0", "C0ONE", "un"), asker, SEALER)
    assert card.form is not None
    reference = form_metadata(card.form)

    def body(metadata: str) -> dict[str, Any]:
        return {"view": {"private_metadata": metadata, "state": {"values": {}}}}

    signed = slack_events.ModalMetadata(reference, "C0ONE", "un").signed(
        SEALER.tag, "T0", "U0ASKER"
    )
    event, _ = slack_events.submission(body(signed), asker, SEALER.tag)
    assert event.place is not None and event.place.channel_ref == "C0ONE"
    assert team_admin.setup_requested_by(SEALER, asker, event.place, event.context)
    forged = json.loads(signed) | {"ch": "C0TWO"}  # another channel, the signature kept
    with pytest.raises(slack_events.ForgedMetadata):
        slack_events.submission(body(json.dumps(forged)), asker, SEALER.tag)
    with pytest.raises(slack_events.ForgedMetadata):  # signed for the asker, sent by another
        slack_events.submission(body(signed), other, SEALER.tag)
    # Signed for the other person (the form re-opened by them) but bound to the asker's card:
    resigned = slack_events.ModalMetadata(reference, "C0ONE", "un").signed(
        SEALER.tag, "T0", "U0OTHER"
    )
    event, _ = slack_events.submission(body(resigned), other, SEALER.tag)
    assert event.place is not None
    assert not team_admin.setup_requested_by(SEALER, other, event.place, event.context)
    # ... and a card bound to channel one, re-signed for channel two, is not channel two's.
    moved = slack_events.ModalMetadata(reference, "C0TWO", "deux").signed(
        SEALER.tag, "T0", "U0ASKER"
    )
    event, _ = slack_events.submission(body(moved), asker, SEALER.tag)
    assert event.place is not None
    assert not team_admin.setup_requested_by(SEALER, asker, event.place, event.context)
    outside = [name for name, spec in registry().actions.items() if spec.outside_team]
    assert outside == ["setup.save"]  # the only action taken outside a team
