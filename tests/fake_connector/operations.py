"""The connector operations a route maps to, applied to the state."""

from __future__ import annotations

import copy
import fnmatch
import time
from typing import Any

from tests.fake_connector.protocol import (
    ConnectorError,
    check_activity,
    decode_token,
    encode_token,
    uuid_from,
)
from tests.fake_connector.records import (
    CREATE_CONVERSATION,
    DEFAULT_PAGE_SIZE,
    DELETE_ACTIVITY,
    FORBIDDEN_MESSAGE,
    GET_MEMBER,
    GET_MEMBERS,
    GET_PAGED_MEMBERS,
    GET_TEAM_CHANNELS,
    GET_TEAM_DETAILS,
    POST_ACTIVITY,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    UPDATE_ACTIVITY,
    Conversation,
    Forced,
    Posted,
    Team,
    Update,
    User,
)
from tests.fake_connector.state import ConnectorState


class ConnectorOperations(ConnectorState):
    """One method per ConnectorClient operation; errors raise ConnectorError."""

    def _take_forced(self, kind: str, path: str) -> Forced | None:
        with self._lock:
            for key, queue in self._forced:
                if not queue:
                    continue
                posting = key == POST_ACTIVITY and kind in (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY)
                if key is None or key == kind or posting or fnmatch.fnmatchcase(path, key):
                    forced = queue.pop(0)
                    self._forced = [entry for entry in self._forced if entry[1]]
                    return forced
        return None

    def _handle(self, kind: str, params: dict[str, str], body: Any, query: Any) -> tuple[int, Any]:
        if kind == CREATE_CONVERSATION:
            return 201, self._create_conversation(body)
        if kind in (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY):
            self._writable(params["conversation"])
            check_activity(body)
            reply_to = params.get("activity") or body.get("replyToId")
            posted = self._post(params["conversation"], body, kind, reply_to)
            return 201, {"id": posted.id}
        if kind == UPDATE_ACTIVITY:
            self._writable(params["conversation"])
            check_activity(body)
            if body.get("text") and body.get("attachments"):
                # What Teams (and the Agents Playground) answer: text and a card are two
                # messages, and one message cannot be updated into two.
                raise ConnectorError(
                    400, "BadSyntax", "Activity resulted into multiple skype activities"
                )
            posted = self._find_posted(params["conversation"], params["activity"])
            posted.history.append(posted.activity)
            updated = copy.deepcopy(body)
            updated["id"] = posted.id
            posted.activity = updated
            self.updates.append(Update(params["conversation"], posted.id, copy.deepcopy(body)))
            return 200, {"id": posted.id}
        if kind == DELETE_ACTIVITY:
            self._conversation(params["conversation"])
            posted = self._find_posted(params["conversation"], params["activity"])
            posted.deleted = True
            self.deletes.append((params["conversation"], posted.id))
            return 200, None
        if kind == GET_MEMBERS:
            conversation = self._conversation(params["conversation"])
            return 200, [self._member(m).to_json() for m in conversation.members]
        if kind == GET_PAGED_MEMBERS:
            return 200, self._paged_members(params["conversation"], query)
        if kind == GET_MEMBER:
            conversation = self._conversation(params["conversation"])
            member = self._find_member(conversation, params["member"])
            return 200, member.to_json()
        if kind == GET_TEAM_CHANNELS:
            team = self._team(params["team"])
            channels = [
                {"id": cid} if cname is None else {"id": cid, "name": cname}
                for cid, cname in team.channels
            ]
            return 200, {"conversations": channels}
        if kind == GET_TEAM_DETAILS:
            team = self._team(params["team"])
            return 200, {
                "id": team.id,
                "name": team.name,
                "aadGroupId": team.aad_group_id,
                "channelCount": len(team.channels),
                "memberCount": len(team.members),
                "type": "standard",
            }
        raise ConnectorError(404, "NotFound", kind)

    def _create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(copy.deepcopy(body))
        channel_data = body.get("channelData") or {}
        if not isinstance(channel_data, dict):
            raise ConnectorError(400, "BadArgument", "channelData must be an object.")
        tenant = (channel_data.get("tenant") or {}).get("id") or body.get("tenantId")
        tenant = tenant or body.get("tenantID")
        if not tenant:
            raise ConnectorError(400, "BadArgument", "A tenant id is required (channelData).")
        activity = body.get("activity")
        if activity is not None:
            check_activity(activity)
        channel_id = (channel_data.get("channel") or {}).get("id")
        if channel_id:  # a new thread in a team channel
            conversation = self._conversation(channel_id)
            if conversation.kind != "channel":
                raise ConnectorError(400, "BadArgument", "Not a channel.")
            if activity is None:
                raise ConnectorError(400, "BadArgument", "A channel post needs an activity.")
            activity_id = self._next_activity_id()
            thread_id = f"{channel_id};messageid={activity_id}"
            self._post(thread_id, activity, CREATE_CONVERSATION, None, activity_id)
            return {"id": thread_id, "activityId": activity_id, "serviceUrl": self.service_url}
        members = body.get("members") or []
        if body.get("isGroup") or len(members) != 1:
            raise ConnectorError(
                400, "BadArgument", "Only a 1:1 conversation with one member can be created."
            )
        member = members[0] if isinstance(members[0], dict) else {}
        user = self._user_by_any_id(str(member.get("id") or ""))
        if user is None:
            raise ConnectorError(404, "NotFound", "The user is not found in the tenant.")
        if user.tenant_id != tenant:
            raise ConnectorError(403, "Forbidden", "The user is in another tenant.")
        if not user.app_installed:
            raise ConnectorError(403, "Forbidden", FORBIDDEN_MESSAGE)
        conversation_id = self.personal_conversation_id(user.id, tenant)
        result: dict[str, Any] = {"id": conversation_id, "serviceUrl": self.service_url}
        if activity is not None:
            result["activityId"] = self._post(
                conversation_id, activity, CREATE_CONVERSATION, None
            ).id
        return result

    def _post(
        self,
        conversation_id: str,
        activity: dict[str, Any],
        kind: str,
        reply_to_id: str | None,
        activity_id: str | None = None,
    ) -> Posted:
        stored = copy.deepcopy(activity)
        posted_id = activity_id or self._next_activity_id()
        stored["id"] = posted_id
        posted = Posted(conversation_id, posted_id, stored, kind, reply_to_id)
        self.activities[conversation_id].append(posted)
        return posted

    def _next_activity_id(self) -> str:
        self._activity_clock = max(self._activity_clock + 1, int(time.time() * 1000))
        return str(self._activity_clock)

    def _conversation(self, conversation_id: str) -> Conversation:
        base = conversation_id.split(";messageid=")[0]
        conversation = self.conversations.get(base)
        if conversation is None:
            raise ConnectorError(404, "ConversationNotFound", "Conversation not found.")
        return conversation

    def _writable(self, conversation_id: str) -> Conversation:
        conversation = self._conversation(conversation_id)
        if conversation.kind == "personal":
            for member_id in conversation.members:
                user = self.users.get(member_id)
                if user is not None and not user.app_installed:
                    raise ConnectorError(403, "Forbidden", FORBIDDEN_MESSAGE)
        return conversation

    def _find_posted(self, conversation_id: str, activity_id: str) -> Posted:
        base = conversation_id.split(";messageid=")[0]
        for key, posts in self.activities.items():
            if key.split(";messageid=")[0] != base:
                continue
            for posted in posts:
                if posted.id == activity_id and not posted.deleted:
                    return posted
        raise ConnectorError(404, "ActivityNotFound", "Activity not found.")

    def _member(self, member_id: str) -> User:
        user = self.users.get(member_id)
        if user is None:  # a roster entry the test did not describe
            user = User(member_id, member_id, str(uuid_from(member_id)), self.tenant)
        return user

    def _user_by_any_id(self, member_id: str) -> User | None:
        user = self.users.get(member_id)
        if user is None:
            user = next((u for u in self.users.values() if u.aad_object_id == member_id), None)
        return user

    def _find_member(self, conversation: Conversation, member_id: str) -> User:
        for candidate in conversation.members:
            user = self._member(candidate)
            if member_id in (user.id, user.aad_object_id):
                return user
        raise ConnectorError(
            404, "MemberNotFoundInConversation", "The member is not found in conversation."
        )

    def _paged_members(self, conversation_id: str, query: Any) -> dict[str, Any]:
        conversation = self._conversation(conversation_id)
        try:
            size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
        except ValueError as exc:
            raise ConnectorError(400, "BadArgument", "pageSize must be an integer.") from exc
        size = max(1, min(size, 500))
        token = query.get("continuationToken")
        start = decode_token(token) if token else 0
        if start > len(conversation.members):
            raise ConnectorError(400, "BadArgument", "Invalid continuation token.")
        page = conversation.members[start : start + size]
        result: dict[str, Any] = {"members": [self._member(m).to_json() for m in page]}
        if start + size < len(conversation.members):
            result["continuationToken"] = encode_token(start + size)
        return result

    def _team(self, team_id: str) -> Team:
        team = self.teams.get(team_id)
        if team is None:
            raise ConnectorError(404, "NotFound", "Team not found or the bot is not in it.")
        return team
