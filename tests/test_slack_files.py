"""A card's files on Slack, end to end: the real Bolt app in our server, slack_sdk's
AsyncWebClient and the fake Slack Web API (tests/fake_slack/), whose three upload steps are
strict (tests/test_slack_files_fake.py).

- A summary asked for with `/passerelle summary` brings its chart (PNG, with its alternative
  text) into the person's DM; asked for in the channel, the whole answer goes to the DM (a
  file cannot be ephemeral) and the channel gets only an ephemeral line.
- The coordinator's CSV export arrives, by `summary csv` and by the summary's export button.
- A 429 on files.completeUploadExternal during the outbox's send of a summary: the retry
  posts only the chart; each reader sees the summary once and its chart once.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from adapters.slack.block_values import button_action
from dialogs.cards import Attachment, Card, Paragraph
from dialogs.i18n import Tr
from dialogs.ports import Delivery
from tests.conftest import Clock
from tests.fake_slack import FakeSlack
from tests.fake_slack.records import Message
from tests.slack_rig import (  # noqa: F401  (the rig and slack fixtures)
    CHANNEL,
    COORDINATOR,
    PROFILES,
    Rig,
    acked_at_once,
    onboarded,
    open_form,
    rig_fixture,
    scales,
    slack_fixture,
    team_slug,
)
from tests.slack_signing import TEAM_ID
from tests.test_summary_readers import trust_declared_positions

READERS = ["U0BEN", "U0CLEO", COORDINATOR]  # the managers (positions trusted) and the coordinator
COMPLETE = "files.completeUploadExternal"


async def answered_round(rig: Rig) -> str:
    """Everyone onboarded and their check-in answered in the modal; the team's slug. The
    managers' declared positions make them readers."""
    await onboarded(rig)
    slug = await team_slug(rig)
    await rig.engine.jobs.run("checkin", slug)
    await rig.deliver()
    for n, user in enumerate(PROFILES):
        view = await open_form(rig, user)
        answers: dict[str, Any] = {
            name: str((n + i) % 5 + 1) for i, name in enumerate(scales(view))
        }
        acked_at_once(await rig.submit(view, user, **answers))
    await trust_declared_positions(rig.engine.database)
    return slug


def file_of(slack: FakeSlack, message: Message) -> Any:
    (file_id,) = message.files
    return slack.files[file_id]


def with_files(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m.files]


def export_button(message: Message) -> str:
    """The action_id of the summary's "Export as CSV" button (a `command` button)."""
    for block in message.blocks:
        for element in block.get("elements", []):
            action_id = str(element.get("action_id", ""))
            if element.get("type") == "button" and button_action(action_id) == "command":
                return action_id
    raise AssertionError(f"no command button in {message.blocks}")


async def test_the_summary_command_brings_its_chart_and_the_export_its_csv(rig: Rig) -> None:
    slug = await answered_round(rig)
    await rig.engine.jobs.run("close", slug)
    await rig.deliver()
    slack = rig.slack

    # In the DM: the summary, then its chart, shared in that DM with its alternative text.
    dm = slack.dm_id("U0BEN")
    before = len(slack.messages_to("U0BEN"))
    assert (await rig.command("U0BEN", "summary", channel=dm)).status == 200
    summary, chart = slack.messages_to("U0BEN")[before:]
    assert summary.blocks and not summary.files
    png = file_of(slack, chart)
    assert png.completed and png.channels == [dm] and png.filename.endswith(".png")
    assert png.content and png.content.startswith(b"\x89PNG")
    # Titled briefly (the card's title for it); described in full for a screen reader.
    assert png.title == Tr("en")("summary.chart_title", team="Partenariat Est")
    assert png.alt_txt and len(png.alt_txt) > len(png.title)
    (get_url,) = [
        c
        for c in slack.calls_to("files.getUploadURLExternal")
        if c.response.get("file_id") == png.id
    ]
    assert get_url.params["alt_txt"] == png.alt_txt  # the card's description, sent as alt text

    # In the channel (`sommaire`, in French): nothing shared there; the answer in the DM.
    in_channel = len(slack.messages_in(CHANNEL))
    before = len(slack.messages_to("U0CLEO"))
    assert (await rig.command("U0CLEO", "sommaire", channel=CHANNEL)).status == 200
    assert len(slack.messages_in(CHANNEL)) == in_channel  # no post, no file for everyone
    summary, chart = slack.messages_to("U0CLEO")[before:]
    assert summary.blocks and file_of(slack, chart).content.startswith(b"\x89PNG")
    (pointer,) = [m for m in slack.ephemerals_for("U0CLEO") if m.channel == CHANNEL][-1:]
    assert "conversation privée avec Passerelle" in pointer.text

    # The coordinator's export: `summary csv`, then the summary's button.
    coordinator_dm = slack.dm_id(COORDINATOR)
    before = len(slack.messages_to(COORDINATOR))
    await rig.command(COORDINATOR, "summary csv", channel=coordinator_dm)
    exported = with_files(slack.messages_to(COORDINATOR)[before:])
    (csv_message,) = exported
    csv = file_of(slack, csv_message)
    assert csv.completed and csv.filename.endswith(".csv") and csv.content
    assert csv.channels == [coordinator_dm]

    before = len(slack.messages_to(COORDINATOR))
    await rig.command(COORDINATOR, "summary", channel=coordinator_dm)
    summary, _chart = slack.messages_to(COORDINATOR)[before:]
    before = len(slack.messages_to(COORDINATOR))
    assert (await rig.click(COORDINATOR, summary, export_button(summary))).status == 200
    (by_button,) = with_files(slack.messages_to(COORDINATOR)[before:])
    again = file_of(slack, by_button)
    assert again.filename == csv.filename and again.content == csv.content
    assert again.channels == [coordinator_dm] and again.id != csv.id


async def test_a_429_on_the_charts_completion_posts_nothing_twice(rig: Rig, clock: Clock) -> None:
    slug = await answered_round(rig)
    slack = rig.slack
    before = {user: len(slack.messages_to(user)) for user in READERS}
    slack.fail_next(COMPLETE, 429, retry_after=30)  # longer than a sender waits: the outbox
    await rig.engine.jobs.run("close", slug)
    await rig.deliver()

    (limited,) = slack.rejected_calls_to(COMPLETE)
    assert limited.status == 429 and limited.retry_after == 30
    (waiting,) = [u for u in READERS if slack.dm_id(u) == limited.params["channel_id"]]
    posted = slack.messages_to(waiting)[before[waiting] :]
    assert posted and not with_files(posted)  # the summary is there, its chart not yet

    clock.advance(seconds=31)  # past Retry-After: the outbox tries the delivery again
    await rig.deliver()
    for user in READERS:
        new = slack.messages_to(user)[before[user] :]
        texts = [json.dumps(m.blocks, sort_keys=True) for m in new if not m.files]
        charts = with_files(new)
        assert texts and len(texts) == len(set(texts)), (user, texts)  # each part once
        assert len(charts) == 1, user
        assert file_of(slack, charts[0]).content.startswith(b"\x89PNG")
        assert new[-1] is charts[0]  # the chart under its summary
    completed = [c for c in slack.calls_to(COMPLETE) if c.ok]
    assert len(completed) == len(READERS)


def card_with_chart(text: str) -> Card:
    png = b"\x89PNG\r\n\x1a\n" + text.encode()
    return Card(
        title="Sommaire",
        blocks=[Paragraph(text=text)],
        attachments=[
            Attachment(
                filename="chart.png",
                media_type="image/png",
                data=base64.b64encode(png).decode(),
                description=f"Graphique : {text}",
            )
        ],
    )


async def test_a_delivery_sent_whole_leaves_no_mark_and_comes_again_whole(rig: Rig) -> None:
    """Progress is kept only until the delivery is through: the same card sent again later (a
    summary that did not change) is posted again, whole."""
    card = card_with_chart("Rien n’a changé")
    delivery = Delivery("slack", TEAM_ID, "direct", "U0EVA", card)
    await rig.bridge.sender.send(delivery)
    await rig.bridge.sender.send(delivery)
    messages = rig.slack.messages_to("U0EVA")
    assert [bool(m.files) for m in messages] == [False, True, False, True]
    alt = {file_of(rig.slack, m).alt_txt for m in with_files(messages)}
    assert alt == {"Graphique : Rien n’a changé"}
