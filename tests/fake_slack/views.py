"""views.open, views.push, views.update, views.publish, and what Slack does with a
view_submission's ack."""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from tests.fake_slack.block_kit import check_view
from tests.fake_slack.errors import SlackError, invalid, json_param, require
from tests.fake_slack.records import TokenInfo
from tests.fake_slack.state import SlackState
from tests.slack_signing import (
    trigger_issued_at,
)


class ViewsApi(SlackState):
    """Modals and App Home views, with Slack's trigger id rules."""

    @property
    def last_view(self) -> dict[str, Any]:
        """The modal or home view most recently opened, pushed, updated or published."""
        if not self._last_view_id:
            raise LookupError("no view yet")
        return self.views[self._last_view_id]

    def add_view(self, view: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        """A modal as if views.open had shown it (no trigger id needed): for benchmarks and
        tests that build submissions without clicking first. Returns the stored view."""
        auth = self.tokens[self.bot_token]
        self._store_view({"view": view}, auth, ("modal",), view_id=view_id)
        return self.views[view_id or self._last_view_id or ""]

    def answer_submission(self, submitted: dict[str, Any], response: Any) -> None:
        """What Slack does with the ack of a view_submission: ``response_action: update``
        replaces the modal (unless the app updated it since: its hash moved), ``errors``
        leaves it as it is, any other answer closes it (later views.update: ``not_found``)."""
        view_id = str(submitted.get("id") or "")
        current = self.views.get(view_id)
        action = response.get("response_action") if isinstance(response, dict) else None
        if current is None or action == "errors" or action == "push":
            return
        if action != "update":
            self.closed_views.add(view_id)
            return
        if current.get("hash") != submitted.get("hash"):
            return  # a views.update from the app already came after the ack
        auth = self.tokens[self.bot_token]
        self._store_view(
            {"view": response["view"]},
            auth,
            ("modal",),
            view_id=view_id,
            root_view_id=current["root_view_id"],
        )

    def close_view(self, view_id: str) -> None:
        """The person closes the modal (the app hears of it only with notify_on_close)."""
        self.closed_views.add(view_id)

    def _use_trigger(self, params: dict[str, Any]) -> None:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise invalid("invalid_arguments", ["missing required field: trigger_id"])
        issued_at = trigger_issued_at(str(trigger_id))
        if issued_at is None:
            raise SlackError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("trigger_exchanged")
        if time.time() - issued_at > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(str(trigger_id))

    def _store_view(
        self,
        params: dict[str, Any],
        auth: TokenInfo,
        kinds: tuple[str, ...],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
    ) -> dict[str, Any]:
        view = json_param(params, "view")
        errors = check_view(view, kinds)
        if errors:
            raise invalid("invalid_arguments", errors)
        view_id = view_id or self._new_id("V")
        stored = copy.deepcopy(view)
        stored |= {
            "id": view_id,
            "team_id": auth.team_id,
            "app_id": auth.app_id,
            "app_installed_team_id": auth.team_id,
            "bot_id": auth.bot_id,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": root_view_id or view_id,
            "previous_view_id": None,
            "state": {"values": {}},
        }
        for name, default in (
            ("private_metadata", ""),
            ("callback_id", ""),
            ("external_id", ""),
            ("clear_on_close", False),
            ("notify_on_close", False),
            ("blocks", []),
        ):
            stored.setdefault(name, default)
        self.views[view_id] = stored
        self._last_view_id = view_id
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_open(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        view = json_param(params, "view")
        errors = check_view(view, ("modal",))
        if errors:
            raise invalid("invalid_arguments", errors)
        self._use_trigger(params)
        return self._store_view(params, auth, ("modal",))

    def _views_push(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        return self._views_open(params, auth)

    def _find_view(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("view_id"):
            found = self.views.get(str(params["view_id"]))
        elif params.get("external_id"):
            found = next(
                (v for v in self.views.values() if v.get("external_id") == params["external_id"]),
                None,
            )
        else:
            raise invalid("invalid_arguments", ["must provide view_id or external_id"])
        if found is None or found["id"] in self.closed_views:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != found["hash"]:
            raise SlackError("hash_conflict")
        return found

    def _views_update(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        current = self._find_view(params)
        kinds = ("home",) if current.get("type") == "home" else ("modal",)
        return self._store_view(
            params, auth, kinds, view_id=current["id"], root_view_id=current["root_view_id"]
        )

    def _views_publish(self, params: dict[str, Any], auth: TokenInfo | None) -> dict[str, Any]:
        assert auth is not None
        require(params, "user_id")
        user_id = str(params["user_id"])
        if user_id not in self.users:
            raise SlackError("user_not_found")
        current = self.home_views.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        result = self._store_view(
            params, auth, ("home",), view_id=current["id"] if current else None
        )
        self.home_views[user_id] = self.views[result["view"]["id"]]
        return result
