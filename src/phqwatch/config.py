"""Settings: one pydantic-settings object, read from PHQWATCH_* environment variables or a .env file.

Settings are built by the caller (CLI, server factory, tests) and passed in; nothing builds them at import.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from phqwatch.phq9 import RECALL_DAYS

#: Values that are only acceptable outside production mode.
DEV_SECRET = "dev-insecure-secret-change-me"
DEV_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWVuY3J5cHRpb24ta2V5LTMyYnk="  # base64 of a fixed 32-byte dev key

#: Defaults of settings that functions below the CLI and server also take as arguments (one value each).
#: Fewer user words than this -> the estimators abstain (`min_words`).
DEFAULT_MIN_WORDS = 50
#: Longer messages are truncated when transcripts are read, and refused by the API (`max_message_chars`).
DEFAULT_MAX_MESSAGE_CHARS = 100_000

DEFAULT_CRISIS_TEXT = (
    "If you are thinking about harming yourself or ending your life, please reach out now: call or text "
    "your local emergency number or a crisis line (in the US, call or text 988). You are not alone, and a "
    "member of your care team has been notified."
)


class Settings(BaseSettings):
    """Every configurable value of phqwatch. Environment variables use the `PHQWATCH_` prefix."""

    model_config = SettingsConfigDict(env_prefix="PHQWATCH_", env_file=".env", extra="ignore")

    # --- estimation ---------------------------------------------------------------------------
    model_dir: Path | None = Field(None, description="Model folder; None means the shipped lexical-ridge model.")
    data_dir: Path | None = Field(
        None, description="Folder of the public research data sets; None: ../shared/data from the working directory."
    )
    window_days: int = Field(RECALL_DAYS, ge=1, description="Days of conversation before a PHQ-9 (its recall period).")
    min_words: int = Field(DEFAULT_MIN_WORDS, ge=1, description="Fewer user words than this -> no estimate (abstain).")
    include_assistant: bool = Field(False, description="Add the app's turns to the text that is scored.")
    max_message_chars: int = Field(
        DEFAULT_MAX_MESSAGE_CHARS, ge=100, description="Longer messages are truncated (counted)."
    )

    # --- store and service --------------------------------------------------------------------
    database_url: str = Field("sqlite:///phqwatch.db", description="SQLAlchemy URL (SQLite or PostgreSQL).")
    production: bool = Field(False, description="Refuse development defaults for secrets when true.")
    secret_key: SecretStr = Field(SecretStr(DEV_SECRET), description="Signs tokens and session cookies.")
    encryption_key: SecretStr = Field(
        SecretStr(DEV_ENCRYPTION_KEY), description="Fernet key (urlsafe base64, 32 bytes) for message text."
    )
    token_ttl_minutes: int = Field(60, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Larger request bodies get HTTP 413.")
    login_window_s: int = Field(900, ge=1, description="Window in which failed logins are counted, seconds.")
    login_failures_per_account: int = Field(10, ge=1, description="Failed logins per username in the window.")
    login_failures_per_address: int = Field(50, ge=1, description="Failed logins per client address in the window.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (IPs or CIDRs, comma-separated) whose forwarded header names the client; "
        "empty: the header is never believed.",
    )
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = Field(
        "x-forwarded-for", description="The header the trusted proxies set (the other one is ignored)."
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, v: object) -> object:
        """Accept a comma-separated string; every entry must be an IP address or a CIDR network."""
        if isinstance(v, str):
            v = [part.strip() for part in v.split(",") if part.strip()]
        for entry in v if isinstance(v, list) else []:
            ip_network(str(entry).strip(), strict=False)  # ValueError -> a validation error naming the field
        return v

    crisis_text: str | None = Field(None, description="Crisis-resources text; None: the locale's own text.")
    crisis_locale: str = Field("en-US", description="Locale of the crisis-resources text (en-US, en-GB, zh-CN).")
    crisis_model_dir: Path | None = Field(None, description="Risk-model folder; None: the shipped one.")
    crisis_use_model: bool = Field(True, description="Run the learned risk model beside the rules.")
    crisis_flag_threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="The risk model's score that opens the crisis path; None: the model folder's own. Higher: "
        "fewer false alarms and lower recall (see the README's figures before changing it).",
    )
    crisis_alert_score: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A flag from the risk model alone below this score files a high-priority risk review "
        "instead of an escalating crisis alert; 0: every flag is a crisis alert (see the README's figures).",
    )
    crisis_snooze_max_hours: float = Field(
        4.0, gt=0, le=168, description="Longest snooze of an urgent or crisis alert, in hours."
    )

    # --- background jobs (leases, retries, dead-letter) --------------------------------------------
    job_lease_s: float = Field(30.0, gt=0, description="A running job's lease; a lapsed one is reclaimed.")
    job_heartbeat_s: float = Field(5.0, gt=0, description="How often a worker renews the lease of its job.")
    job_max_attempts: int = Field(5, ge=1, description="Attempts before a job is dead-lettered.")
    job_backoff_s: float = Field(5.0, ge=0, description="First retry delay; doubles with each attempt.")

    # --- notifications and escalation -----------------------------------------------------------
    public_base_url: str = Field("http://127.0.0.1:8000", description="Dashboard address used in notifications.")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail channels; None: e-mail is off.")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(None, description="Never logged.")
    smtp_from: str = Field("phqwatch@localhost", description="Sender address of notification e-mail.")
    notify_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook or SMTP delivery.")
    notify_max_attempts: int = Field(6, ge=1, description="Delivery attempts before a notification is dead.")
    notify_backoff_s: float = Field(10.0, ge=0, description="First delivery retry delay; doubles each time.")
    escalate_after_minutes: float = Field(
        15.0, gt=0, description="An urgent alert unacknowledged this long goes to the next escalation level."
    )
    escalation_max_level: int = Field(2, ge=0, description="Highest escalation level (0: no escalation).")
    notify_scan_s: float = Field(2.0, gt=0, description="How often a worker looks for alerts to notify.")

    # --- LLM teacher (OpenAI-compatible) ------------------------------------------------------
    teacher_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8080/v1")
    teacher_model: str | None = None
    teacher_api_key: SecretStr | None = Field(None, description="Never logged.")
    teacher_temperature: float = Field(0.0, ge=0.0, le=2.0)
    teacher_max_concurrency: int = Field(4, ge=1)
    teacher_timeout_s: float = Field(120.0, gt=0)
    teacher_max_retries: int = Field(4, ge=0)
    teacher_deid: bool | None = Field(None, description="None: on unless the base URL is loopback.")
    teacher_cache_path: Path = Field(Path("phqwatch-teacher-cache.sqlite"))

    # --- chat (the conversational front; the model is optional) -----------------------------------
    chat_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; None: the scripted check-in.")
    chat_model: str | None = Field(None, description="Model name on chat_base_url (the API key is teacher_api_key).")
    chat_timeout_s: float = Field(20.0, gt=0, description="Past this, a reply falls back to the scripted check-in.")
    chat_model_sees_crisis: bool = Field(
        False, description="Let the model read messages the crisis screen flagged (never imminent/urgent replies)."
    )
    chat_max_message_chars: int = Field(
        2000, ge=10, le=DEFAULT_MAX_MESSAGE_CHARS, description="Longer chat messages are refused."
    )
    chat_messages_per_minute: int = Field(20, ge=1, description="Chat messages one person may send per minute.")

    def check_production(self) -> None:
        """Raise ConfigError when production mode still uses a development secret."""
        from phqwatch.errors import ConfigError

        if not self.production:
            return
        if self.secret_key.get_secret_value() == DEV_SECRET:
            raise ConfigError(
                "PHQWATCH_SECRET_KEY is the development default in production mode.",
                fix="Set PHQWATCH_SECRET_KEY to a long random value (e.g. `openssl rand -hex 32`).",
            )
        if self.encryption_key.get_secret_value() == DEV_ENCRYPTION_KEY:
            raise ConfigError(
                "PHQWATCH_ENCRYPTION_KEY is the development default in production mode.",
                fix="Set PHQWATCH_ENCRYPTION_KEY to a Fernet key "
                "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').",
            )
