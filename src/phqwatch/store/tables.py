"""SQL tables (SQLAlchemy 2 typed declarative). Persistence only: no models, monitoring or web here.

Health data that contains words a person wrote (message text, evidence quotes, crisis excerpts) is stored
encrypted (`*_enc` columns, Fernet); everything else is plain. Estimates (a model's guess) and administered
questionnaires (what the person answered) live in separate tables and are never mixed.

Over 400 lines because it is the schema, one declarative class per table, read as a whole beside the
migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ROLES = ("admin", "clinician", "patient", "family", "service")
AlertStatus = Literal["open", "acknowledged", "snoozed", "resolved"]
ALERT_STATUSES: tuple[AlertStatus, ...] = get_args(AlertStatus)
ALERT_SEVERITIES = ("info", "warning", "high", "urgent")
JOB_STATUSES = ("queued", "running", "done", "failed", "dead")
CHANNEL_KINDS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "delivered", "dead")
ESTIMATE_STATUSES = ("ok", "abstained")

#: Constraint names are deterministic so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


class TZDateTime(TypeDecorator[datetime]):
    """Datetimes stored as UTC and always returned timezone-aware (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Person(Base):
    """Anyone the service knows: admins, clinicians, patients, family members and service accounts.

    `external_id` is the `user_id` of the transcript contract (patients and family members who chat).
    A family member has `linked_patient_id`; their own conversations are never shown as the patient's.
    """

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("organisation_id", "external_id", name="uq_people_org_external"),
        Index("ix_people_org_role", "organisation_id", "role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    external_id: Mapped[str | None] = mapped_column(String(200))
    linked_patient_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Bumped by logout, password change and disabling: every token issued before carries an older number
    #: and is refused on its next use.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class CareTeam(Base):
    """A clinician assigned to a patient (clinicians see only their assigned patients)."""

    __tablename__ = "care_team"
    __table_args__ = (UniqueConstraint("clinician_id", "patient_id", name="uq_care_team_pair"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Conversation(Base):
    """One conversation of one person (`person_id`, a patient or a family member) about `patient_id`."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("person_id", "external_id", name="uq_conversations_person_external"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    #: "imported" (ingested from another app) or "chat" (held with phqwatch's own chat).
    kind: Mapped[str] = mapped_column(String(16), default="imported", server_default=text("'imported'"))
    #: Chat conversations: "open", or "safety" once an imminent/urgent message switched it to the safety script.
    status: Mapped[str | None] = mapped_column(String(16))


class MessageRow(Base):
    """One message; the text is Fernet-encrypted. Idempotent by (organisation, dedup_key)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("organisation_id", "dedup_key", name="uq_messages_org_dedup"),
        Index("ix_messages_person_sent", "person_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    n_words: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(TZDateTime)
    received_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    external_message_id: Mapped[str | None] = mapped_column(String(200))
    #: "id:<message id>" or "h:<keyed hash of user, conversation, role, time, text>".
    dedup_key: Mapped[str] = mapped_column(String(220))
    crisis_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Replies of phqwatch's own chat: the prompt (or script) version, and how the reply was made (source,
    #: stage, topic; never text).
    prompt_version: Mapped[str | None] = mapped_column(String(80))
    chat_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AdministeredQuestionnaire(Base):
    """An administered PHQ-9: what the person answered (never an estimate)."""

    __tablename__ = "questionnaires"
    __table_args__ = (Index("ix_questionnaires_patient_at", "patient_id", "administered_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(32), default="PHQ-9")
    administered_at: Mapped[datetime] = mapped_column(TZDateTime)
    total: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[int] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(64), default="api")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Estimate(Base):
    """A model's PHQ-9 estimate over a window of a patient's messages (decision support, not a score)."""

    __tablename__ = "estimates"
    __table_args__ = (Index("ix_estimates_patient_end", "patient_id", "window_end"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    model_name: Mapped[str] = mapped_column(String(120))
    model_version: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(TZDateTime)
    window_end: Mapped[datetime] = mapped_column(TZDateTime)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    reason: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    interval_low: Mapped[float | None] = mapped_column(Float)
    interval_high: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(32))
    items: Mapped[list[float] | None] = mapped_column(JSON)
    #: Encrypted JSON {item number: [quotes]} (quotes are the patient's words).
    evidence_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    n_user_words: Mapped[int] = mapped_column(Integer, default=0)
    n_messages: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Alert(Base):
    """An alert for a patient's care team. `key` makes opening idempotent per patient."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("patient_id", "key", name="uq_alerts_patient_key"),
        Index("ix_alerts_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    key: Mapped[str] = mapped_column(String(220))
    message: Mapped[str] = mapped_column(Text)
    #: Encrypted excerpt of the person's words (crisis alerts), else NULL.
    excerpt_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    estimate_id: Mapped[int | None] = mapped_column(ForeignKey("estimates.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    snoozed_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class AlertEvent(Base):
    """History of an alert: every status change, assignment and note, with who and when."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Job(Base):
    """A durable background job (re-estimation). One queued job per (kind, patient): enqueues coalesce."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_queued_kind_patient",
            "kind",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    #: A running job belongs to `locked_by` until then; its worker's heartbeat moves it on, and any worker
    #: reclaims the job once it lapses (the worker died).
    lease_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class NotificationChannel(Base):
    """Where alert notifications go: a signed webhook or an e-mail address.

    `clinician_id` set: the channel of one clinician, used for the patients on their care team; NULL: an
    organisation-wide channel (a team inbox, the on-call pager). `level` 0 gets the first notice of an alert,
    level 1.. the escalations when an urgent alert stays unacknowledged."""

    __tablename__ = "notification_channels"
    __table_args__ = (Index("ix_notification_channels_org_level", "organisation_id", "level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    #: Encrypted HMAC secret of a webhook (NULL for e-mail).
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(120), default="")
    level: Mapped[int] = mapped_column(Integer, default=0)
    min_severity: Mapped[str] = mapped_column(String(16), default="urgent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class NotificationDelivery(Base):
    """One notification of one alert event to one channel; sent by "notify" jobs, retried, dead-lettered.

    `delivery_id` stays the same across retries so that a receiver can drop a repeat."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel_id", "event", name="uq_notification_deliveries_event"),
        Index("ix_notification_deliveries_patient_status", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))  # "opened" | "escalated:<level>"
    level: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class ApiKey(Base):
    """An API key for a service account. Only a SHA-256 of the secret part is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class AuditEntry(Base):
    """Who read or changed which patient's health data, when. Never holds message text."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # read | create | update | delete
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


__all__ = [
    "ALERT_SEVERITIES",
    "ALERT_STATUSES",
    "AlertStatus",
    "CHANNEL_KINDS",
    "DELIVERY_STATUSES",
    "ESTIMATE_STATUSES",
    "JOB_STATUSES",
    "ROLES",
    "AdministeredQuestionnaire",
    "Alert",
    "AlertEvent",
    "ApiKey",
    "AuditEntry",
    "Base",
    "CareTeam",
    "Conversation",
    "Estimate",
    "Job",
    "MessageRow",
    "NotificationChannel",
    "NotificationDelivery",
    "Organisation",
    "Person",
    "utcnow",
]
