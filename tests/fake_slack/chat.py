"""chat.postMessage, chat.update, chat.postEphemeral, and the test's view of messages."""

from __future__ import annotations

from typing import Any

from tests.fake_slack.block_kit import MAX_MESSAGE_BLOCKS, check_blocks
from tests.fake_slack.errors import SlackError, invalid, json_param, require
from tests.fake_slack.records import Message, TokenInfo
from tests.fake_slack.state import SlackState


class ChatApi(SlackState):
    """Messages: what the app posts and what a test reads back."""

    def messages_in(self, channel_id: str, *, include_ephemeral: bool = False) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.channel == channel_id and (include_ephemeral or m.ephemeral_to is None)
        ]

    def messages_to(self, user_id: str) -> list[Message]:
        """Messages in the bot's DM with ``user_id``."""
        dm = self._dms.get(user_id)
        return [m for m in self.messages if dm is not None and m.channel == dm]

    def ephemerals_for(self, user_id: str) -> list[Message]:
        return [m for m in self.messages if m.ephemeral_to == user_id]

    def message(self, channel_id: str, ts: str) -> Message:
        for m in self.messages:
            if m.channel == channel_id and m.ts == ts:
                return m
        raise KeyError((channel_id, ts))

    @staticmethod
    def _message_content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        blocks = json_param(params, "blocks", "invalid_blocks_format")
        attachments = json_param(params, "attachments", "invalid_attachments")
        text = params.get("text")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text and len(text) > 40000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            errors = check_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if errors:
                raise invalid("invalid_blocks", errors)
        return text or "", list(blocks or [])

    def _chat_post_message(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        channel = self._channel(params.get("channel"), user_ids_open_dm=True)
        self._postable(channel, auth)
        text, blocks = self._message_content(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts and not any(
            m.channel == channel.id and m.ts == thread_ts for m in self.messages
        ):
            raise SlackError("thread_not_found")
        metadata = json_param(params, "metadata")
        message = self._post_as(auth, channel, text, blocks, thread_ts=thread_ts, metadata=metadata)
        return {"ok": True, "channel": channel.id, "ts": message.ts, "message": message.to_dict()}

    def _chat_update(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        channel = self._channel(params.get("channel"))
        ts = params.get("ts")
        found = [m for m in self.messages if m.channel == channel.id and m.ts == ts]
        if not found or found[0].ephemeral_to is not None:
            raise SlackError("message_not_found")
        message = found[0]
        if message.user != auth.user_id:
            raise SlackError("cant_update_message")
        text, blocks = self._message_content(params)
        message.text = text
        if "blocks" in params:
            message.blocks = blocks
        message.edits += 1
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_dict(),
        }

    def _chat_post_ephemeral(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        assert auth is not None
        require(params, "user")
        channel = self._channel(params.get("channel"), user_ids_open_dm=True)
        self._postable(channel, auth)
        user_id = params["user"]
        if user_id not in self.users:
            raise SlackError("user_not_found")
        if user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        text, blocks = self._message_content(params)
        thread_ts = params.get("thread_ts") or None
        message = self._post_as(
            auth, channel, text, blocks, thread_ts=thread_ts, ephemeral_to=user_id
        )
        return {"ok": True, "message_ts": message.ts}
