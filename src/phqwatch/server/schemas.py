"""Request and response bodies of the JSON API (pydantic). They double as the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from phqwatch.config import DEFAULT_MAX_MESSAGE_CHARS
from phqwatch.reports.review import MAX_FIELD_CHARS

MAX_TEXT_CHARS = DEFAULT_MAX_MESSAGE_CHARS  # the API refuses what the readers would truncate
MAX_BATCH = 1000
#: A row id: a JSON integer (never a boolean, float or string) that fits a signed 64-bit column.
Id = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
#: Health-data timestamps: not before this year, and at most this far ahead of the server's clock.
MIN_YEAR = 1900
MAX_AHEAD = timedelta(days=1)


def as_utc(value: datetime) -> datetime:
    """A datetime without a zone is read as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def check_when(value: date | datetime | None) -> date | datetime | None:
    """Refuse a date or time before 1900 or more than a day in the future (naive times read as UTC)."""
    if value is None:
        return None
    now = datetime.now(UTC) + MAX_AHEAD
    if value.year < MIN_YEAR:
        raise ValueError(f"is before {MIN_YEAR}")
    if (as_utc(value) > now) if isinstance(value, datetime) else (value > now.date()):
        raise ValueError("is more than a day in the future")
    return value


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


class MessageIn(BaseModel):
    """One message in the transcript contract. `message_id` makes re-sending safe (stored once)."""

    model_config = ConfigDict(extra="ignore")

    user_id: str = Field(min_length=1, max_length=200, description="The person's id in your app (external_id).")
    conversation_id: str = Field(min_length=1, max_length=200)
    role: Literal["user", "assistant"]
    text: str = Field(max_length=MAX_TEXT_CHARS)
    timestamp: datetime | None = Field(
        None, description="ISO 8601 (no zone: UTC); receipt time when missing. From 1900 to a day ahead."
    )
    message_id: str | None = Field(None, min_length=1, max_length=200, description="Idempotency key.")

    _timestamp_in_range = field_validator("timestamp")(check_when)


class BatchIn(BaseModel):
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_BATCH)


class ScreenOut(BaseModel):
    """The crisis screen's decision on one user message."""

    flag: bool = Field(description="Opens the crisis path (severity high, urgent or imminent).")
    severity: Literal["none", "review", "high", "urgent", "imminent"]
    categories: list[str] = []
    score: float | None = Field(None, description="The learned risk model's probability of crisis risk.")
    rules: list[str] = Field([], description="Ids of the rules and context checks that fired.")
    crisis_alert: bool = Field(
        False,
        description="Filed as an escalating crisis alert (false for a flag from an unsure learned model alone, "
        "which is filed as a high-priority risk review).",
    )


class IngestedOut(BaseModel):
    index: int
    status: Literal["accepted", "duplicate"]
    id: int | None
    screen: ScreenOut | None = Field(None, description="Crisis-screen result (user messages only).")


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    results: list[IngestedOut]
    crisis: bool = Field(description="True when a message was flagged by the crisis-safety screen.")
    crisis_text: str | None = Field(None, description="Crisis resources to show the person (when crisis).")
    crisis_alert_ids: list[int] = []
    jobs_queued: int = 0


class QuestionnaireIn(BaseModel):
    """An administered PHQ-9 (the questionnaire contract): a total or the nine items."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(None, min_length=1, max_length=200, description="External id (or patient_id).")
    patient_id: Id | None = None
    date: date | datetime  # from 1900 to a day ahead
    phq9_total: StrictInt | None = Field(None, ge=0, le=27)
    items: list[StrictInt] | None = Field(None, min_length=9, max_length=9)

    _date_in_range = field_validator("date")(check_when)

    @model_validator(mode="after")
    def _one_of(self) -> QuestionnaireIn:
        if (self.user_id is None) == (self.patient_id is None):
            raise ValueError("give exactly one of user_id or patient_id")
        if self.phq9_total is None and self.items is None:
            raise ValueError("give phq9_total or items")
        if self.items is not None and any(not 0 <= v <= 3 for v in self.items):
            raise ValueError("each item is 0-3")
        return self


class QuestionnaireOut(BaseModel):
    id: int
    patient_id: int
    instrument: str
    administered_at: datetime
    total: int
    items: list[int] | None
    source: str
    kind: Literal["administered"] = "administered"
    band: str = Field(description="The PHQ-9 severity band of the total.")


class EstimateOut(BaseModel):
    id: int
    kind: Literal["estimate"] = "estimate"
    model_name: str
    model_version: str
    window_start: datetime
    window_end: datetime
    status: str
    reason: str | None
    value: float | None
    interval_low: float | None
    interval_high: float | None
    band: str | None
    items: list[float] | None
    n_user_words: int
    n_messages: int
    evidence: dict[int, list[str]] | None = None
    basis: str = Field(description="What the estimate rests on: model, words of the patient's own messages, window.")


class PatientOut(BaseModel):
    id: int
    external_id: str | None
    display_name: str


class TimelineOut(BaseModel):
    """Estimates (a model's guesses) and administered PHQ-9s (answers) in separate lists, never mixed."""

    patient: PatientOut
    estimates: list[EstimateOut]
    administered: list[QuestionnaireOut]
    note: str = "Estimates are decision support from conversation text, not administered PHQ-9 scores."


class AlertEventOut(BaseModel):
    action: str
    actor_id: int | None
    from_status: str | None
    to_status: str | None
    note: str | None
    details: dict[str, Any]
    at: datetime


class AlertOut(BaseModel):
    id: int
    patient_id: int
    kind: str
    severity: str
    status: str
    message: str
    excerpt: str | None
    details: dict[str, Any]
    evidence: list[str]
    assignee_id: int | None
    snoozed_until: datetime | None
    created_at: datetime
    updated_at: datetime
    history: list[AlertEventOut] | None = None


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


class AssignIn(NoteIn):
    assignee_id: Id


class SnoozeIn(NoteIn):
    until: UtcDateTime = Field(description="ISO 8601; a time without a zone is read as UTC.")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str


class MeOut(BaseModel):
    id: int
    organisation_id: int
    role: str
    username: str | None
    display_name: str
    linked_patient_id: int | None


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "clinician", "patient", "family", "service"]
    username: str | None = Field(None, min_length=3, max_length=120)
    password: str | None = Field(None, min_length=10, max_length=200)
    display_name: str = Field("", max_length=200)
    external_id: str | None = Field(None, min_length=1, max_length=200)
    linked_patient_id: Id | None = None


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class PersonOut(BaseModel):
    id: int
    role: str
    username: str | None
    display_name: str
    external_id: str | None
    linked_patient_id: int | None
    active: bool


class AssignmentIn(BaseModel):
    clinician_id: Id
    patient_id: Id


class ApiKeyIn(BaseModel):
    person_id: Id
    name: str = Field("", max_length=120)


class ApiKeyOut(BaseModel):
    id: int
    person_id: int
    name: str
    key: str = Field(description="Shown once; only a hash is stored.")


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    worker: bool


class SessionOut(BaseModel):
    csrf_token: str = Field(description="Send it in X-CSRF-Token on unsafe requests made with the cookie.")
    role: str


class OkOut(BaseModel):
    ok: bool


class QueuedOut(BaseModel):
    queued: bool = Field(description="A new job was queued.")
    coalesced: bool = Field(description="A job for this patient was already waiting; it covers this request.")


class CareTeamOut(BaseModel):
    clinician_id: int
    patient_id: int


class RemovedOut(BaseModel):
    removed: bool


class AuditEntryOut(BaseModel):
    at: datetime
    actor_id: int | None
    actor_role: str
    action: str
    resource: str
    resource_id: str | None
    patient_id: int | None
    ip: str | None
    details: dict[str, Any] | None


class ConversationMessageOut(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    text: str
    timestamp: datetime
    message_id: str | None
    person_id: int
    crisis_flag: bool = Field(False, description="The crisis screen flagged this message.")


class ConversationOut(BaseModel):
    conversation_id: str
    messages: list[ConversationMessageOut]


class PatientConversationsOut(BaseModel):
    """A patient's own conversations, and (clinicians and admins, on request) the family's, kept apart."""

    patient_id: int
    patient: list[ConversationOut]
    family: list[ConversationOut]


#: One editable text of a report, at most as long as the review workflow takes.
ReportLine = Annotated[str, Field(max_length=MAX_FIELD_CHARS)]


class ReportVersionOut(BaseModel):
    """One version of a report: version 1 is the machine draft (kept as drafted), then edits and releases."""

    number: int
    kind: Literal["draft", "edit", "release"]
    author_id: int | None = Field(description="The clinician who made it (none for the machine draft).")
    author: str
    at: datetime
    note: str | None


class ReportOut(BaseModel):
    """An assistive report as the caller may read it. Clinicians and admins: the latest version, with every
    version and what changed since the machine draft. Patients and family members: the latest released
    version only, projected for them (patients: all but the clinician's note, the LLM's claims and the family's
    observations; family members: the estimate, the care advice written for them and the crisis line)."""

    id: int
    patient_id: int
    status: Literal["draft", "edited", "released"]
    version: ReportVersionOut = Field(description="The version shown in `content`.")
    content: dict[str, Any] = Field(description="The report, as this caller may read it.")
    released_at: datetime | None
    versions: list[ReportVersionOut] | None = Field(None, description="Every version (clinicians and admins).")
    original_summary: str | None = Field(None, description="The machine draft's summary (clinicians and admins).")
    changed_since_draft: list[str] | None = Field(
        None, description="Editable fields changed since the machine draft (clinicians and admins)."
    )


class ReportEditIn(BaseModel):
    """A clinician's edit of a report: the fields given replace theirs (the estimate, quotes and criteria stay
    as drafted); an edit that changes nothing is refused."""

    model_config = ConfigDict(extra="forbid")

    summary: ReportLine | None = None
    clinician_note: ReportLine | None = Field(None, description="Clinicians and admins only ever read it.")
    patient_notes: list[ReportLine] | None = Field(None, max_length=200, description="For the patient.")
    family_advice: list[ReportLine] | None = Field(None, max_length=200, description="For family members.")
    note: str | None = Field(None, max_length=2000, description="Why (kept with the version).")

    def edits(self) -> dict[str, Any]:
        """The report fields this edit sets."""
        return self.model_dump(exclude_none=True, exclude={"note"})


#: An id in a path or query parameter: declared in the OpenAPI document with its bounds (1 to 2**63 - 1).
PathId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A row id.")]
QueryId = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
