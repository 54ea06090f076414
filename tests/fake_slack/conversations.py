"""auth.test, conversations.*, users.info and team.info."""

from __future__ import annotations

from typing import Any

from tests.fake_slack.errors import SlackError, cursor_member, flag, member_cursor
from tests.fake_slack.records import Channel, Team, TokenInfo
from tests.fake_slack.state import SlackState


class ConversationsApi(SlackState):
    """Who is who and where: tokens, conversations, users, the team."""

    def _auth_test(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        team = self.teams.get(auth.team_id) or Team(auth.team_id, auth.team_id, auth.team_id)
        user = self.users.get(auth.user_id)
        body: dict[str, Any] = {
            "ok": True,
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": user.name if user else auth.user_id,
            "team_id": auth.team_id,
            "user_id": auth.user_id,
            "is_enterprise_install": False,
        }
        if auth.bot_id:
            body["bot_id"] = auth.bot_id
        return body

    def _conversations_open(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        return_im = flag(params.get("return_im"))
        if params.get("channel"):
            channel = self._channel(params["channel"])
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel.id}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for user_id in users:
            user = self.users.get(user_id)
            if user is None or user.deleted:
                raise SlackError("user_not_found")
            if user.is_bot and len(users) == 1:
                raise SlackError("cannot_dm_bot")
        if len(users) == 1:
            existed = users[0] in self._dms
            channel = self.channels[self.dm_id(users[0])]
        else:
            key = tuple(sorted(users))
            existed = key in self._mpims
            if not existed:
                mpim = Channel(
                    id=self._new_id("G"),
                    name="mpdm-" + "--".join(key) + "-1",
                    members=[*key, auth.user_id],
                    is_private=True,
                    is_mpim=True,
                    team_id=auth.team_id,
                )
                self.channels[mpim.id] = mpim
                self._mpims[key] = mpim.id
            channel = self.channels[self._mpims[key]]
        body: dict[str, Any] = {"ok": True}
        if existed:
            body |= {"no_op": True, "already_open": True}
        body["channel"] = channel.to_dict(self.bot_user_id) if return_im else {"id": channel.id}
        return body

    def _conversations_members(
        self, params: dict[str, Any], auth: TokenInfo | None
    ) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        try:
            limit = int(params.get("limit") or 100)
        except ValueError as exc:
            raise SlackError("invalid_limit") from exc
        limit = max(1, min(limit, 1000))
        start = 0
        if params.get("cursor"):
            member_id = cursor_member(str(params["cursor"]))
            if member_id not in channel.members:
                raise SlackError("invalid_cursor")
            start = channel.members.index(member_id)
        page = channel.members[start : start + limit]
        rest = channel.members[start + limit :]
        return {
            "ok": True,
            "members": page,
            "response_metadata": {"next_cursor": member_cursor(rest[0]) if rest else ""},
        }

    def _conversations_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        info = channel.to_dict(self.bot_user_id, flag(params.get("include_num_members")))
        if flag(params.get("include_locale")):
            info["locale"] = "en-US"
        return {"ok": True, "channel": info}

    def _users_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": user.to_dict(flag(params.get("include_locale")))}

    def _team_info(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        team = self.teams.get(str(params.get("team") or auth.team_id))
        if team is None:
            raise SlackError("team_not_found")
        return {
            "ok": True,
            "team": {
                "id": team.id,
                "name": team.name,
                "url": f"https://{team.domain}.slack.com/",
                "domain": team.domain,
                "email_domain": "",
                "icon": {"image_default": True},
                "avatar_base_url": "https://ca.slack-edge.com/",
                "is_verified": False,
            },
        }
