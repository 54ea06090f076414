"""A submission's ack speaks the language its modal was rendered in, which the modal's signed
`private_metadata` carries: no database read before the ack (statements are counted on the
real engine, SQLite and PostgreSQL), even with the database unreachable or the member's row
saying otherwise. The field cannot be forged (changed, added or removed: the modal is
refused; a value other than 'fr'/'en' is never read), and a modal signed before it existed
still gets the stored language."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from adapters.slack.acks import REFUSED_CALLBACK_ID
from adapters.slack.events import ForgedMetadata, ModalMetadata, card_language
from dialogs.cards import Card, Form, notice
from dialogs.engine import Engine
from dialogs.i18n import Tr
from storage.database import Database
from storage.models import Intake, Member
from storage.sealing import Sealer
from tests.conftest import Clock
from tests.fake_slack import FakeSlack
from tests.faults import database_away
from tests.slack_rig import (
    CHANNEL,
    COORDINATOR,
    PEOPLE,
    Rig,
    acked_at_once,
    add_people,
    defaults,
    rig_for,
    set_up,
)
from tests.slack_signing import TEAM_ID, interaction, post_signed, view_submission

SECRET = "ack-language-secret-0123456789-abcdefghijkl"
# U0BEN's Slack locale is en-US: a modal in French can only have come from the stored row.
PERSON = "U0BEN"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        add_people(fake)
        fake.add_channel(CHANNEL, "partenariat", members=[COORDINATOR, *PEOPLE])
        yield fake


@pytest.fixture
async def rig(database: Database, slack: FakeSlack) -> AsyncIterator[Rig]:
    rig = await rig_for(Engine(database, clock=Clock(), sealer=Sealer(SECRET)), slack)
    try:
        await set_up(rig)  # PERSON is a member, their language stored from their locale
        yield rig
    finally:
        await rig.server.close()


@contextlib.contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement sent to the database in the block (attempted: before a fault)."""
    seen: list[str] = []

    def ran(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", ran)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", ran)


def about_members(seen: list[str]) -> list[str]:
    return [sql for sql in seen if "members" in sql.lower()]


async def store_language(database: Database, language: str) -> None:
    async with database.session() as session, session.begin():
        await session.execute(
            update(Member).where(Member.user_ref == PERSON).values(language=language)
        )


async def tension_form(rig: Rig) -> dict[str, Any]:
    await rig.command(PERSON, "tension")
    return rig.slack.last_view


async def submitted(rig: Rig, view: dict[str, Any], metadata: str | None = None) -> Any:
    """The ack of PERSON's tension, its modal's metadata replaced when given."""
    if metadata is not None:
        view = {**view, "private_metadata": metadata}
    values = {**defaults(view), "text": "Les décisions tardent.", "theme": "decisions"}
    payload = view_submission(view, values, user_id=PERSON)
    return await post_signed(rig.url, interaction(payload), rig.slack.signing_secret)


async def in_intake(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Intake)) or 0)


# ------------------------------------------------------------------ end to end
async def test_the_ack_speaks_the_modals_language_whatever_the_member_row_says(
    rig: Rig, database: Database
) -> None:
    view = await tension_form(rig)  # rendered in English: the stored language (from en-US)
    assert ModalMetadata.decode(view["private_metadata"]).language == "en"
    await store_language(database, "fr")  # changed since the modal opened
    with statements(database) as seen:
        reply = await submitted(rig, view)
    assert acked_at_once(reply)["title"]["text"] == "Thank you"
    assert seen, "the intake's commit is a statement: the counter counts"
    assert about_members(seen) == []  # no language read before the ack
    await rig.bridge.settle()
    assert await in_intake(database) == 0  # recorded


async def test_with_the_database_unreachable_the_not_saved_ack_speaks_the_modals_language(
    rig: Rig, database: Database
) -> None:
    """Stored French, Slack says en-US: the form opened in French. The database gone, the
    intake's commit fails and the ack says "not saved" in French without asking anyone
    (before, the language read failed and Slack's locale answered, in English)."""
    await store_language(database, "fr")
    view = await tension_form(rig)
    assert ModalMetadata.decode(view["private_metadata"]).language == "fr"
    with statements(database) as seen, database_away(database) as fault:
        reply = await submitted(rig, view)
    assert fault.struck  # the intake's commit was attempted and refused
    assert about_members(seen) == []
    answer = reply.json()
    assert answer["response_action"] == "errors", answer
    (message,) = answer["errors"].values()
    assert message.startswith("Non enregistré :")


async def test_a_modal_signed_before_the_language_rode_along_gets_the_stored_one(
    rig: Rig, database: Database
) -> None:
    view = await tension_form(rig)  # in English
    current = ModalMetadata.decode(view["private_metadata"])
    old = ModalMetadata(current.reference, current.channel_id, current.channel_name)
    signed = old.signed(rig.engine.sealer.tag, TEAM_ID, PERSON)
    assert '"l"' not in signed
    await store_language(database, "fr")
    with statements(database) as seen:
        reply = await submitted(rig, view, signed)
    assert acked_at_once(reply)["title"]["text"] == "Merci"  # the row's language
    assert about_members(seen), "the fallback reads the member's row"


async def test_an_unknown_language_added_to_an_old_modal_is_ignored(
    rig: Rig, database: Database
) -> None:
    view = await tension_form(rig)
    current = ModalMetadata.decode(view["private_metadata"])
    old = ModalMetadata(current.reference, current.channel_id, current.channel_name)
    fields = json.loads(old.signed(rig.engine.sealer.tag, TEAM_ID, PERSON))
    await store_language(database, "fr")
    reply = await submitted(rig, view, json.dumps({**fields, "l": "de"}))
    assert acked_at_once(reply)["title"]["text"] == "Merci"  # not read: the stored one


@pytest.mark.parametrize("how", ["changed", "added", "removed"])
async def test_a_forged_language_is_refused_and_nothing_is_kept(
    rig: Rig, database: Database, how: str
) -> None:
    view = await tension_form(rig)  # signed with "l": "en"
    fields = json.loads(view["private_metadata"])
    if how == "changed":
        fields["l"] = "fr"
    elif how == "removed":
        del fields["l"]
    else:  # an old-style signature with a language added
        current = ModalMetadata.decode(view["private_metadata"])
        old = ModalMetadata(current.reference, current.channel_id, current.channel_name)
        fields = {**json.loads(old.signed(rig.engine.sealer.tag, TEAM_ID, PERSON)), "l": "fr"}
    reply = await submitted(rig, view, json.dumps(fields))
    answer = reply.json()
    assert answer["response_action"] == "update"
    assert answer["view"]["callback_id"] == REFUSED_CALLBACK_ID
    await rig.bridge.settle()
    assert await in_intake(database) == 0


# ------------------------------------------------------------------ the metadata itself
SIGNER = Sealer(SECRET).tag


def test_the_language_is_signed_with_the_rest() -> None:
    metadata = ModalMetadata("f", "C1", "un", "fr")
    raw = metadata.signed(SIGNER, TEAM_ID, PERSON)
    assert ModalMetadata.verified(raw, SIGNER, TEAM_ID, PERSON) == metadata
    assert ModalMetadata.decode(metadata.encode()) == metadata  # as the intake keeps it
    with pytest.raises(ForgedMetadata):
        ModalMetadata.verified(raw.replace('"l":"fr"', '"l":"en"'), SIGNER, TEAM_ID, PERSON)


@pytest.mark.parametrize("odd", ["de", "FR", "fr ", 7, ["fr"], None, ""])
def test_a_language_other_than_fr_or_en_is_never_read(odd: object) -> None:
    raw = json.dumps({**json.loads(ModalMetadata("f").signed(SIGNER, TEAM_ID, PERSON)), "l": odd})
    assert ModalMetadata.verified(raw, SIGNER, TEAM_ID, PERSON).language == ""


def test_a_channel_name_cannot_pass_for_a_language() -> None:
    """The signer joins its parts with \\x1f: a channel name ending in "\\x1ffr" signed the
    old way must not verify as the same modal in French."""
    old = ModalMetadata("f", "C1", "un\x1ffr").signed(SIGNER, TEAM_ID, PERSON)
    fields = {**json.loads(old), "cn": "un", "l": "fr"}
    with pytest.raises(ForgedMetadata):
        ModalMetadata.verified(json.dumps(fields), SIGNER, TEAM_ID, PERSON)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_form_card_tells_the_language_of_its_submit_button(language: str) -> None:
    tr = Tr(language)
    card = Card(title="t", form=Form(action="a", submit_label=tr("checkin.submit")))
    assert card_language(card) == language
    assert card_language(notice(tr("slack.recording_title"))) == ""  # no form
    shared = Card(title="t", form=Form(action="a", submit_label="Passerelle"))
    assert card_language(shared) == ""  # a text both languages hold
