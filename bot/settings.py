"""Settings from the environment: the outside contract in `docs/configuration.md`.

This is the only module that reads the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialogs.operator import Operator
from storage.database import DEFAULT_URL

Role = Literal["web", "worker", "all"]
ROLES: tuple[Role, ...] = ("web", "worker", "all")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(DEFAULT_URL, validation_alias="PASSERELLE_DATABASE_URL")
    host: str = Field("127.0.0.1", validation_alias="PASSERELLE_HOST")
    port: int = Field(3978, validation_alias="PASSERELLE_PORT")
    # What `serve` runs (`--role` overrides it): "web" the HTTP endpoints; "worker" the
    # calendar, the outbox worker and the Slack intake's recording, with /healthz and /metrics
    # only; "all" both (docs/operations.md, "Roles").
    role: Role = Field("all", validation_alias="PASSERELLE_ROLE")
    # Off in tests and for CLI one-shots; `serve` runs the calendar and the outbox worker.
    scheduler_enabled: bool = Field(True, validation_alias="PASSERELLE_SCHEDULER")
    outbox_interval_seconds: float = Field(1.0, validation_alias="PASSERELLE_OUTBOX_INTERVAL")
    # How long a claimed outbox message stays with its worker: a killed worker's messages wait
    # this long before another process sends them (renewed while a batch is sent).
    outbox_lease_seconds: float = Field(30.0, validation_alias="PASSERELLE_OUTBOX_LEASE")
    # How many messages one process holds claimed and unsent: its share of a fan-out at a time.
    outbox_batch: int = Field(50, ge=1, le=1000, validation_alias="PASSERELLE_OUTBOX_BATCH")
    # The calendar's tick (reminders, closes): one minute in production; tests shorten it.
    tick_seconds: float = Field(60.0, validation_alias="PASSERELLE_TICK_SECONDS")
    # Unset: the sandbox is served only while no chat platform is configured, so a server
    # behind a reverse proxy for Slack or Teams does not expose it by accident.
    sandbox_enabled: bool | None = Field(None, validation_alias="PASSERELLE_SANDBOX")
    log_level: str = Field("INFO", validation_alias="PASSERELLE_LOG_LEVEL")
    # What people read in the privacy card (`privacy`): the operator's privacy policy and whom
    # to write to about one's personal information (Law 25's person in charge).
    privacy_url: str = Field("", validation_alias="PASSERELLE_PRIVACY_URL")
    privacy_contact: str = Field("", validation_alias="PASSERELLE_PRIVACY_CONTACT")

    @property
    def operator(self) -> Operator:
        return Operator(self.privacy_url.strip(), self.privacy_contact.strip())

    # The sealing key (bot/keys.py turns these into a Sealer). SecretStr: a repr, a log line or
    # a traceback of the settings shows '**********', never the secret. Empty means unset.
    secret_key: SecretStr = Field(SecretStr(""), validation_alias="PASSERELLE_SECRET_KEY")
    secret_key_file: str = Field("", validation_alias="PASSERELLE_SECRET_KEY_FILE")
    # Old secrets kept for opening what they sealed during a rotation: comma-separated, or one
    # per line in a file (the form secret managers and systemd credentials mount).
    previous_secret_keys: SecretStr = Field(
        SecretStr(""), validation_alias="PASSERELLE_PREVIOUS_SECRET_KEYS"
    )
    previous_secret_keys_file: str = Field(
        "", validation_alias="PASSERELLE_PREVIOUS_SECRET_KEYS_FILE"
    )

    slack_signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET")
    slack_bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN")
    slack_client_id: str = Field("", validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str = Field("", validation_alias="SLACK_CLIENT_SECRET")
    slack_app_token: str = Field("", validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")

    microsoft_app_id: str = Field("", validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: str = Field("", validation_alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str = Field("", validation_alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field("MultiTenant", validation_alias="MICROSOFT_APP_TYPE")

    @property
    def platform_configured(self) -> bool:
        """Whether Slack or Teams is set up: real people's submissions may arrive."""
        platforms = (self.slack_signing_secret, self.slack_app_token, self.microsoft_app_id)
        return any(platforms)

    @property
    def serves_web(self) -> bool:
        """Slack's and Teams' endpoints (and the sandbox) are served."""
        return self.role in ("web", "all")

    @property
    def runs_worker(self) -> bool:
        """The calendar, the outbox worker and the Slack intake's recording run here."""
        return self.role in ("worker", "all")

    @property
    def sandbox_wanted(self) -> bool:
        if self.sandbox_enabled is not None:
            return self.sandbox_enabled
        return not self.platform_configured
