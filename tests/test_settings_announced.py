"""A change to the team's promises is announced in its channels: the smallest group shown (k)
and who reads the summaries; other settings change quietly."""

from __future__ import annotations

from bot.demo import DEMO_CHANNEL
from bot.outbox_worker import OutboxWorker
from dialogs.cards import Card
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage import teams
from storage.database import Database
from tests.conftest import SQLITE_ONLY, RecordingSender
from tests.helpers import say, seeded, submit_card, text_of

pytestmark = SQLITE_ONLY  # dialogs, not SQL


async def _settings(engine: Engine) -> Card:
    card = (await say(engine, "emilie", "parametres"))[0]
    assert card.form is not None and card.form.action == "settings.save"
    return card


def _values(card: Card, **changes: str) -> dict[str, str]:
    values = {i.name: i.default or "" for i in card.inputs() if hasattr(i, "default")}
    return values | changes


async def test_a_new_k_and_a_new_readers_rule_are_announced_in_the_team_s_language(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender
) -> None:
    await seeded(engine)
    card = await _settings(engine)
    old = int(_values(card)["k"])
    replies = await submit_card(engine, "emilie", card, _values(card, k=str(old + 2)))
    assert "⚠" not in text_of(replies)
    await worker.drain()
    posted = sender.to(DEMO_CHANNEL.channel_ref, "channel")
    tr = Tr("fr")
    assert [d.card.title for d in posted] == [tr("settings.k_changed_title")]
    assert tr(
        "settings.k_changed", team="Équipe mixte Passerelle (démo)", k=old + 2, old=old
    ) in text_of([posted[0].card])

    card = await _settings(engine)
    await submit_card(engine, "emilie", card, _values(card, summary_readers="everyone"))
    await worker.drain()
    posted = sender.to(DEMO_CHANNEL.channel_ref, "channel")[1:]
    rule = tr("readers.rule.everyone")
    assert text_of([posted[0].card]).count(rule) == 1


async def test_other_settings_change_quietly(
    engine: Engine, worker: OutboxWorker, sender: RecordingSender, database: Database
) -> None:
    await seeded(engine)
    card = await _settings(engine)
    await submit_card(engine, "emilie", card, _values(card, tension_weekly_limit="9"))
    await worker.drain()
    assert sender.to(DEMO_CHANNEL.channel_ref, "channel") == []
    async with database.session() as session:
        team = await teams.team_by_slug(session, "demo")
        assert team is not None and team.tension_weekly_limit == 9
