"""Who the Slack app is in each workspace: the Bolt app, its installation and bot tokens.

- One workspace: a signing secret and a bot token (SLACK_BOT_TOKEN); Bolt authorizes every
  request with that token. `resume_if_authorized` checks it at start-up (auth.test): a new
  token after a revocation resumes the sends to its workspace.
- Many workspaces: an OAuth client (SLACK_CLIENT_ID); installations are kept in our database
  (adapters/slack/installations.py) and Bolt serves /slack/install and /slack/oauth_redirect
  (mounted by adapters/slack/routes.py). A re-install resumes the workspace when it is saved.
- `token_for` gives the bot token of a workspace to what calls Slack without a request (the
  outbox's sender, the intake worker); `suspend` holds a workspace's sends after
  `tokens_revoked` / `app_uninstalled` or a revoked token (nothing is lost: they wait).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from adapters.slack import installations
from adapters.slack.installations import InstallationStore
from adapters.slack.sender import web_client
from storage.database import Database

log = logging.getLogger(__name__)
SCOPES = [
    "commands",
    "chat:write",
    "im:write",
    "channels:read",
    "groups:read",
    "users:read",
    "files:write",
]


def authorize_url(api_url: str) -> str:
    """Slack's consent page next to its Web API (the fake's too)."""
    base = api_url.rstrip("/")
    base = base.removesuffix("/api")
    return f"{base}/oauth/v2/authorize"


class Authorization:
    """The Bolt app (one workspace or OAuth) and the bot token of each workspace."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], dt.datetime],
        *,
        signing_secret: str,
        api_url: str,
        bot_token: str = "",
        client_id: str = "",
        client_secret: str = "",
    ) -> None:
        self.database = database
        self.clock = clock
        self.bot_token = bot_token
        self.installations: InstallationStore | None = None
        if client_id:
            self.installations = InstallationStore(database, client_id)
            oauth_settings = AsyncOAuthSettings(
                client_id=client_id,
                client_secret=client_secret,
                scopes=SCOPES,
                installation_store=self.installations,
                state_store=installations.state_store(database),
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
                authorization_url=authorize_url(api_url),
                install_page_rendering_enabled=False,
            )
            self.app = AsyncApp(
                signing_secret=signing_secret,
                client=web_client(api_url, retries=2),
                oauth_settings=oauth_settings,
                # Listeners run inline; slow work goes after the ack (adapters/slack/lifecycle.py).
                process_before_response=True,
            )
        else:
            self.app = AsyncApp(
                signing_secret=signing_secret,
                # Its token is the app's: Bolt then authorizes one workspace.
                client=web_client(api_url, bot_token, retries=2),
                process_before_response=True,
            )

    async def token_for(self, workspace: str) -> str | None:
        """The workspace's bot token; None when the app is not installed there."""
        if self.installations is None:
            return self.bot_token or None
        return await self.installations.bot_token(workspace)

    async def suspend(self, workspace: str) -> None:
        """Hold the sends to a workspace that revoked or uninstalled the app."""
        await installations.suspend_workspace(self.database, workspace, self.clock())

    async def resume_if_authorized(self) -> None:
        """One workspace: a bot token that works (a new SLACK_BOT_TOKEN after a revocation)
        resumes the sends to its workspace. OAuth installs resume when they are saved."""
        if self.installations is not None or not self.bot_token:
            return
        try:
            answer = await self.app.client.auth_test()
        except Exception as error:  # no network at start-up must not stop the server
            log.warning("slack auth.test failed at start-up: %r", error)
            return
        if answer.get("team_id"):
            await installations.resume_workspace(self.database, str(answer["team_id"]))
