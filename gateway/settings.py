"""Settings from the environment (and an optional ``.env`` file).

Every setting has a working development default so that ``make run`` needs
nothing; ``APP_ENV=production`` refuses to start while any secret is still a
development placeholder, and so does a gateway others can reach (GATEWAY_HOST
or PUBLIC_BASE_URL beyond loopback) whatever APP_ENV says, but for
``APP_ENV=test`` (the test suite). ``.env.example`` lists them all.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.paths import ROOT

# Development defaults start with this prefix; production refuses them, and so
# does a gateway reachable beyond this machine.
PLACEHOLDER = "dev-"
SECRETS = ("rasa_token", "secret_key", "twilio_auth_token")
TURNS_AT_ONCE = 16  # per replica: why, in gateway/conversation.py


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (127.0.0.1, ::1, localhost) is reached from this machine only."""
    if host is None or host.lower() == "localhost":
        return host is not None
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: it resolves for others too
        return False


class Settings(BaseSettings):
    # hide_input_in_errors: a refusal does not print the secrets it was given.
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", hide_input_in_errors=True)

    app_env: Literal["development", "test", "production"] = "development"
    data_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: a SQLite file in data_dir
    # Rasa's tracker store (SQLAlchemy 1.4 URL); empty: a SQLite file in data_dir.
    tracker_store_url: str = ""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # The address Twilio calls, as it sees it (behind a proxy, the proxy's).
    public_base_url: str = "http://127.0.0.1:8000"
    # The reverse proxies in front of the gateway (addresses or networks, comma-separated): only
    # their X-Forwarded-For is believed, so sign-in limits count each client's own address.
    trusted_proxies: str = "127.0.0.1,::1"
    # The web chat (gateway/channels/web.py). Besides PUBLIC_BASE_URL's own page, the pages that
    # embed the widget, as origins (https://kommun.example, comma-separated); no other page may open it.
    web_chat_origins: str = ""
    # A conversation nobody has written in for this long is over: the next visit starts afresh.
    web_chat_idle_minutes: int = 120
    # Connections and messages from one address (`limits` notation); a hub whose computers share
    # one public address may need more.
    web_chat_address_limit: str = "120/minute"

    # `make run` starts the Rasa server and action server on these loopback ports
    # and points rasa_url / action_server_url at them.
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr = SecretStr("dev-rasa-token")
    rasa_timeout_seconds: float = 10.0
    turns_at_once: Annotated[int, Field(ge=1)] = TURNS_AT_ONCE
    action_server_url: str = "http://127.0.0.1:5055/webhook"

    secret_key: SecretStr = SecretStr("dev-secret-key")

    # No account SID: dry-run, outgoing SMS are stored and logged, never sent.
    # The auth token still signs and checks webhooks, so local simulation works.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("dev-twilio-auth-token")
    twilio_from_number: str = ""

    # Personal data (README, "Personal data: retention and erasure"): days each kind is kept;
    # gateway/retention.py deletes what is older, at start and daily. Raw data stays at least a
    # week, so each week's statistics are counted (and kept) before anything is deleted from it.
    retention_messages_days: Annotated[int, Field(ge=7)] = 90  # from when written; kept while a handoff is open
    retention_tracker_days: Annotated[int, Field(ge=7)] = 90  # Rasa's tracker events, from when written
    retention_summaries_days: Annotated[int, Field(ge=1)] = 90  # a handoff's summary and area, from its close
    retention_handoffs_days: Annotated[int, Field(ge=7)] = 365  # closed handoffs, from their close
    retention_delivery_days: Annotated[int, Field(ge=1)] = 30  # Twilio's message ids and error texts on messages
    retention_audit_days: Annotated[int, Field(ge=1)] = 730
    retention_statistics_days: Annotated[int, Field(ge=7)] = 1825  # weekly counts without personal data
    # Who is responsible for the personal data (GDPR Art. 13), for the privacy page (/privacy);
    # empty: the page names no one rather than guess.
    controller_name: str = ""
    controller_contact: str = ""

    log_level: str = "INFO"

    # --- logs, metrics (README, "Logs, metrics and health"; gateway/logs.py, gateway/metrics.py) ---
    # "text" (what `make run` prints) or "json" (one JSON object a line, with the request id);
    # empty: JSON when APP_ENV=production, text otherwise.
    log_format: Literal["", "text", "json"] = ""
    # Who may read /metrics: these addresses or networks (comma-separated; the client's own address,
    # behind TRUSTED_PROXIES), or a request with "Authorization: Bearer <METRICS_TOKEN>" when that is set.
    metrics_allowed: str = "127.0.0.1,::1"
    metrics_token: SecretStr = SecretStr("")

    @field_validator("metrics_allowed")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)  # a ValueError at start, not at a scrape
        return value

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (not self.log_format and self.app_env == "production")

    # --- several gateway replicas (README, "Running replicas"; `make cluster`) ---
    # The Redis they share (redis://[:password@]host:port/db, rediss:// with TLS): rate limits,
    # sign-in limits and locks, web chat rooms and replies, the inbox's live events. Empty: each
    # process keeps its own in memory, right for one process (`make run`), wrong for two.
    redis_url: str = ""

    @field_validator("redis_url")
    @classmethod
    def _a_redis_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("REDIS_URL must be a redis://, rediss:// or unix:// URL, or empty")
        return value

    @field_validator("web_chat_address_limit")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        limits.parse(value)  # a ValueError at start, not at a resident's first message
        return value

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
            raise ValueError("production mode needs real values for: " + ", ".join(problems))
        return self

    @model_validator(mode="after")
    def _no_placeholders_beyond_loopback(self) -> Settings:
        """The placeholders are public (dev-twilio-auth-token signs a forged webhook),
        so they serve only where nobody else can reach the gateway, whatever APP_ENV
        says; the test suite's APP_ENV=test alone is exempt."""
        if self.app_env == "test":
            return self
        reachable = [f"GATEWAY_HOST={self.gateway_host}"] if not is_loopback(self.gateway_host) else []
        if not is_loopback(urlsplit(self.public_base_url).hostname):
            reachable.append(f"PUBLIC_BASE_URL={self.public_base_url}")
        placeholders = [
            name.upper() for name in SECRETS if getattr(self, name).get_secret_value().startswith(PLACEHOLDER)
        ]
        if reachable and placeholders:
            raise ValueError(
                f"the gateway is reachable beyond this machine ({', '.join(reachable)}) but still has the public "
                f"development placeholders: set {', '.join(placeholders)} to real secrets (Twilio's auth token from "
                "your Twilio account; otherwise long random values, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`), or serve on 127.0.0.1 with a local PUBLIC_BASE_URL"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
