"""Steps of the journey, as an adapter would send them."""

from __future__ import annotations

from bot.demo import DEMO_CHANNEL, PERSONAS, actor_of, seed
from dialogs.cards import Card, ChoiceInput, Paragraph, ScaleInput, TextInput
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted

PEOPLE = {p.user_ref: p for p in PERSONAS}


def actor(user_ref: str) -> Actor:
    return actor_of(PEOPLE[user_ref])


async def seeded(engine: Engine) -> None:
    """The demo team with everyone onboarded through the welcome form."""
    assert await seed(engine)
    for persona in PERSONAS:
        values = {
            "sector": persona.sector,
            "position": persona.position,
            "language": persona.language,
            "timezone": persona.timezone,
            "paused_until": "",
            "quiet_start": "20",
            "quiet_end": "8",
        }
        cards = await submit(engine, persona.user_ref, "profile.save", {"team": "demo"}, values)
        assert "⚠" not in " ".join(b.text for c in cards for b in c.blocks if hasattr(b, "text"))


async def say(engine: Engine, user_ref: str, text: str, *, in_channel: bool = False) -> list[Card]:
    place = DEMO_CHANNEL if in_channel else None
    return await engine.handle(CommandReceived(actor(user_ref), text, place))


async def submit(
    engine: Engine,
    user_ref: str,
    action: str,
    context: dict[str, str],
    values: dict[str, str] | None = None,
) -> list[Card]:
    return await engine.handle(FormSubmitted(actor(user_ref), action, context, values or {}))


async def submit_card(
    engine: Engine, user_ref: str, card: Card, values: dict[str, str]
) -> list[Card]:
    assert card.form is not None, card.title
    return await submit(engine, user_ref, card.form.action, card.form.context, values)


def scale_names(card: Card) -> list[str]:
    return [b.name for b in card.blocks if isinstance(b, ScaleInput)]


def field_names(card: Card) -> list[str]:
    return [b.name for b in card.blocks if isinstance(b, ScaleInput | ChoiceInput | TextInput)]


def text_of(cards: list[Card]) -> str:
    return "\n".join(
        [c.title for c in cards] + [b.text for c in cards for b in c.blocks if hasattr(b, "text")]
    )


def lead(card: Card) -> str:
    """The text of a card's first block, a paragraph (where a refusal says why)."""
    block = card.blocks[0]
    assert isinstance(block, Paragraph), block
    return block.text


def paragraphs(card: Card) -> list[str]:
    """The texts of a card's paragraphs, in order."""
    return [b.text for b in card.blocks if isinstance(b, Paragraph)]


def reflexive_schedule(recurrence: str) -> dict[str, str]:
    """The reflexive-session form filled in: prompt X1 on 3 December 2026 at 13:30, invitations
    a day ahead, for everyone; `recurrence` is "once" or "weekly"."""
    return {
        "prompt": "X1",
        "custom": "",
        "date": "2026-12-03",
        "time": "13:30",
        "recurrence": recurrence,
        "lead": "24",
        "channel": "all",
    }
