"""What the ack bench sends: a new check-in round per level, and per member either a valid
submission of its modal (held by the fake, as if views.open had shown it) or a click on the
round's "open the form" button; and what it reads back (ballots recorded)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from adapters.slack.app import SlackBridge
from adapters.slack.blocks import OPEN_FORM_ACTION, messages_for
from bench.harness.remote_slack import RemoteSlack
from bench.harness.slack_team import SLUG, ShiftedClock
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.events import Actor
from storage import teams
from tests.slack_signing import TEAM_ID, action, block_actions, interaction, view_submission


async def open_round(engine: Engine, clock: ShiftedClock) -> int:
    """Close the team's round and open a new one; its id."""
    await engine.jobs.run("close", SLUG)
    clock.offset += dt.timedelta(days=1)  # a new minute: a new forced occurrence
    result = await engine.jobs.run("checkin", SLUG)
    async with engine.database.session() as session:
        team = await teams.team_by_slug(session, SLUG)
        assert team is not None
        round_ = await rounds.open_round_of(session, team.id)
        assert round_ is not None, result
        return round_.id


def submissions(
    bridge: SlackBridge, slack: RemoteSlack, card: Card, refs: Sequence[str]
) -> tuple[list[bytes], list[str]]:
    """Signed-to-be submission bodies, and the id of each one's modal."""
    # Each modal's metadata is signed for the person it is opened for.
    views = [bridge.modal(card, Actor("slack", TEAM_ID, ref)) for ref in refs]
    view = views[0]
    names = [
        b["element"]["action_id"]
        for b in view["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "radio_buttons"
    ]
    bodies = []
    held = slack.add_views(
        [(v, f"VB{n:08d}{secrets.token_hex(3).upper()}") for n, v in enumerate(views)]
    )
    for n, (ref, shown) in enumerate(zip(refs, held, strict=True)):
        answers = {name: str((n + i) % 5 + 1) for i, name in enumerate(names)}
        payload = view_submission(shown, answers, user_id=ref, strict=False)
        bodies.append(interaction(payload))
    return bodies, [str(shown["id"]) for shown in held]


def clicks(bridge: SlackBridge, slack: RemoteSlack, card: Card, refs: Sequence[str]) -> list[bytes]:
    """A click on "open the form" in the round's DM, one per member."""
    (_, blocks), *_ = messages_for(card)
    bodies = []
    for ref in refs:
        # The round's DM as the outbox's sender posts it (the engine rebuilds the form when
        # "open the form" is clicked).
        message = {"ts": "1700000000.000100", "blocks": blocks, "text": "", "type": "message"}
        payload = block_actions(
            [action(blocks, OPEN_FORM_ACTION)],
            user_id=ref,
            channel_id=slack.dm_id(ref),
            message=message,
        )
        bodies.append(interaction(payload))
    return bodies


async def answered(engine: Engine, round_id: int) -> int:
    """Ballots recorded in the round."""
    async with engine.database.session() as session:
        members = await rounds.members_with_status(session, round_id, rounds.ANSWERED)
        return len(members)
