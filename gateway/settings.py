"""Settings from the environment (and an optional ``.env`` file).

Every setting has a working development default so that ``make run`` needs
nothing; ``APP_ENV=production`` refuses to start while any secret is still a
development placeholder. ``.env.example`` lists them all.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.paths import ROOT

# Development defaults start with this prefix; production refuses them.
PLACEHOLDER = "dev-"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    app_env: Literal["development", "test", "production"] = "development"
    data_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: a SQLite file in data_dir
    # Rasa's tracker store (SQLAlchemy 1.4 URL); empty: a SQLite file in data_dir.
    tracker_store_url: str = ""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # The address Twilio calls, as it sees it (behind a proxy, the proxy's).
    public_base_url: str = "http://127.0.0.1:8000"

    # `make run` starts the Rasa server and action server on these loopback ports
    # and points rasa_url / action_server_url at them.
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr = SecretStr("dev-rasa-token")
    rasa_timeout_seconds: float = 10.0
    action_server_url: str = "http://127.0.0.1:5055/webhook"

    secret_key: SecretStr = SecretStr("dev-secret-key")

    # No account SID: dry-run, outgoing SMS are stored and logged, never sent.
    # The auth token still signs and checks webhooks, so local simulation works.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("dev-twilio-auth-token")
    twilio_from_number: str = ""

    log_level: str = "INFO"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hubguide.db'}"

    @property
    def tracker_store_sqlalchemy_url(self) -> str:
        return self.tracker_store_url or f"sqlite:///{self.data_dir / 'rasa_tracker.db'}"

    @property
    def sms_dry_run(self) -> bool:
        return not self.twilio_account_sid

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if self.app_env != "production":
            return self
        problems = [
            name.upper()
            for name in ("rasa_token", "secret_key", "twilio_auth_token")
            if getattr(self, name).get_secret_value().startswith(PLACEHOLDER)
        ]
        if not self.database_url:
            problems.append("DATABASE_URL")
        if not self.twilio_account_sid or not self.twilio_from_number:
            problems.append("TWILIO_ACCOUNT_SID/TWILIO_FROM_NUMBER")
        if problems:
            raise ValueError(
                "production mode needs real values for: " + ", ".join(problems)
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
