"""Settings from the environment: the outside contract in `docs/configuration.md`.

This is the only module that reads the environment.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.database import DEFAULT_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(DEFAULT_URL, validation_alias="PASSERELLE_DATABASE_URL")
    host: str = Field("127.0.0.1", validation_alias="PASSERELLE_HOST")
    port: int = Field(3978, validation_alias="PASSERELLE_PORT")
    # Off in tests and for CLI one-shots; `serve` runs the calendar and the outbox worker.
    scheduler_enabled: bool = Field(True, validation_alias="PASSERELLE_SCHEDULER")
    outbox_interval_seconds: float = Field(1.0, validation_alias="PASSERELLE_OUTBOX_INTERVAL")
    # Unset: the sandbox is served only while no chat platform is configured, so a server
    # behind a reverse proxy for Slack or Teams does not expose it by accident.
    sandbox_enabled: bool | None = Field(None, validation_alias="PASSERELLE_SANDBOX")
    log_level: str = Field("INFO", validation_alias="PASSERELLE_LOG_LEVEL")

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
    def sandbox_wanted(self) -> bool:
        if self.sandbox_enabled is not None:
            return self.sandbox_enabled
        platforms = (self.slack_signing_secret, self.slack_app_token, self.microsoft_app_id)
        return not any(platforms)
