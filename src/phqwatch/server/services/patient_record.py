"""A patient's record as the API and the pages read it: the timeline (estimates and administered PHQ-9s
apart, in the API's schemas), conversations (the family's kept apart), one conversation, and the monthly
analysis. Access is checked here with the API's rules (`server.auth.check_patient_access`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phqwatch import phq9
from phqwatch.errors import InputError, NotFoundError, PermissionDeniedError
from phqwatch.monitoring.smoothing import smooth
from phqwatch.reports.monthly import DayEstimate, monthly_analysis
from phqwatch.server.api.views import (
    alert_out,
    estimate_basis,
    estimate_out,
    message_out,
    patient_out,
    person_name,
    questionnaire_out,
)
from phqwatch.server.auth import Principal, check_patient_access
from phqwatch.server.schemas import TimelineOut
from phqwatch.server.services.caseload import TREND_POINTS, trend_summary
from phqwatch.server.services.estimation import estimate_point
from phqwatch.server.services.read_audit import VIA_PAGE, record_read
from phqwatch.store import TextCipher, alerts, estimates, messages, questionnaires
from phqwatch.store.tables import Conversation, MessageRow, Person

#: Alerts a patient's chart shows at most (all statuses, oldest first).
MAX_CHART_ALERTS = 5000


def _iso(d: datetime | date | None) -> str | None:
    return None if d is None else d.isoformat()


def _utc_z(t: datetime) -> str:
    """ISO 8601 in UTC with 'Z', as pydantic writes it."""
    return t.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------ timeline
def administered_out(
    s: Session, patient_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """The patient's administered PHQ-9s as the API's `QuestionnaireOut` (never mixed with estimates)."""
    return [
        questionnaire_out(q).model_dump(mode="json")
        for q in questionnaires.list_questionnaires(s, patient_id, since=since, until=until)
    ]


def timeline_out(
    s: Session,
    cipher: TextCipher,
    who: Principal,
    patient_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    evidence: bool = False,
) -> dict[str, Any]:
    """The API's `TimelineOut` body; `evidence` adds each estimate's decrypted evidence quotes."""
    patient = check_patient_access(s, who, patient_id, "clinical")
    if evidence:
        est = [
            estimate_out(e, cipher).model_dump(mode="json")
            for e in estimates.list_estimates(s, patient_id, since=since, until=until)
        ]
    else:  # fast path: plain rows, no ORM objects, no evidence column
        est = [
            {**row, "kind": "estimate", "evidence": None, "window_start": _utc_z(row["window_start"]),
             "window_end": _utc_z(row["window_end"]), "basis": estimate_basis(row["model_name"],
             row["model_version"], row["n_user_words"], row["window_start"], row["window_end"])}
            for row in estimates.estimate_summaries(s, patient_id, since=since, until=until)
        ]  # fmt: skip
    return {
        "patient": patient_out(patient).model_dump(),
        "estimates": est,
        "administered": administered_out(s, patient_id, since=since, until=until),
        "note": TimelineOut.model_fields["note"].default,
    }


def chart(s: Session, patient: Person, *, cipher: TextCipher | None = None) -> dict[str, Any]:
    """A page's chart of the timeline: estimates (with intervals and a two-sided smoothed line), abstentions,
    administered PHQ-9s, the trend and (given the cipher, for clinicians) alerts; each in the API's schema."""
    rows = estimates.list_estimates(s, patient.id)
    ok = [e for e in rows if e.status == "ok" and e.value is not None]
    pts = [p for p in (estimate_point(e) for e in ok) if p is not None]
    smoothed = smooth(pts, causal=False) if pts else []
    out: dict[str, Any] = {
        "label": "estimated",
        "band_lines": list(phq9.BAND_LINES),
        "estimates": [estimate_out(e).model_dump(mode="json") for e in ok],
        "abstained": [estimate_out(e).model_dump(mode="json") for e in rows if e.status != "ok"],
        "smoothed": [
            {"when": _iso(p.when), "value": round(p.value, 2), "low": round(p.low, 2), "high": round(p.high, 2)}
            for p in smoothed
        ],
        "administered": administered_out(s, patient.id),
        "trend": trend_summary(ok[-TREND_POINTS:]),
    }
    if cipher is not None:  # every status, oldest first; snoozed alerts whose time is up count as open
        rows_a = alerts.list_alerts(
            s, patient.organisation_id, patient_ids=[patient.id], statuses=None, limit=MAX_CHART_ALERTS
        )
        rows_a.sort(key=lambda a: (a.created_at, a.id))
        out["alerts"] = [alert_out(a, cipher).model_dump(mode="json") for a in rows_a]
    return out


# ------------------------------------------------------------------------------------------ conversations
def conversation_list(s: Session, patient_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the patient's own conversations, family members' conversations), each newest first, without text."""
    q = (
        select(
            Conversation.id,
            Conversation.external_id,
            Conversation.person_id,
            func.count(MessageRow.id),
            func.min(MessageRow.sent_at),
            func.max(MessageRow.sent_at),
            func.sum(MessageRow.n_words),
        )
        .join(MessageRow, MessageRow.conversation_id == Conversation.id)
        .where(Conversation.patient_id == patient_id)
        .group_by(Conversation.id, Conversation.external_id, Conversation.person_id)
    )
    own: list[dict[str, Any]] = []
    family: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    for cid, ext, person_id, n, first, last, words in s.execute(q):
        d: dict[str, Any] = {
            "id": cid,
            "external_id": ext,
            "person_id": person_id,
            "messages": n,
            "words": int(words or 0),
            "started": _iso(first),
            "last": _iso(last),
        }
        if person_id == patient_id:
            own.append(d)
        else:
            if person_id not in names:
                person = s.get(Person, person_id)
                names[person_id] = person_name(person) if person is not None else f"#{person_id}"
            d["person"] = names[person_id]
            family.append(d)
    own.sort(key=lambda d: d["started"] or "", reverse=True)
    family.sort(key=lambda d: d["started"] or "", reverse=True)
    return own, family


def patient_conversations(
    s: Session,
    cipher: TextCipher,
    who: Principal,
    patient_id: int,
    *,
    include_family: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The API's `PatientConversationsOut`: the patient's messages by conversation and, for clinicians and
    admins on request, the family's apart."""
    if include_family and who.role not in ("admin", "clinician"):
        raise PermissionDeniedError("Only clinicians and admins may read the family's conversations.")
    check_patient_access(s, who, patient_id, "clinical")
    rows = messages.patient_messages(
        s, cipher, patient_id, since=since, until=until, patient_only=not include_family, limit=limit
    )
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {"patient": {}, "family": {}}
    for r in rows:
        g = groups["patient" if r.by_patient else "family"]
        g.setdefault(r.conversation_id, []).append(message_out(r, r.text).model_dump(mode="json"))

    def listed(g: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [{"conversation_id": k, "messages": v} for k, v in g.items()]

    return {
        "patient_id": patient_id,
        "patient": listed(groups["patient"]),
        "family": listed(groups["family"]),
    }


def conversation(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, conversation_id: int
) -> dict[str, Any]:
    """One conversation's messages (audited). Family members never; a patient only their own conversations."""
    check_patient_access(s, who, patient_id, "clinical")
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.patient_id != patient_id:
        raise NotFoundError(f"No conversation {conversation_id} for this patient.", fix="Open the patient's page.")
    if who.role == "patient" and conv.person_id != who.person_id:
        raise PermissionDeniedError("A patient sees only their own conversations.")
    rows = s.scalars(
        select(MessageRow).where(MessageRow.conversation_id == conv.id).order_by(MessageRow.sent_at, MessageRow.id)
    )
    msgs = [message_out(r, cipher.decrypt(r.text_enc)).model_dump(mode="json") for r in rows]
    speaker = s.get(Person, conv.person_id)
    record_read(s, who, "conversation", [patient_id], resource_id=conv.id, details=VIA_PAGE)
    return {
        "patient_id": patient_id,
        "conversation": {
            "id": conv.id,
            "external_id": conv.external_id,
            "by": "patient" if conv.person_id == patient_id else "family",
            "person": person_name(speaker) if speaker else None,
        },
        "messages": msgs,
    }


# ------------------------------------------------------------------------------------------------ monthly
def _parse_month(month: str) -> tuple[int, int]:
    try:
        y, m = (int(x) for x in month.split("-"))
        date(y, m, 1)
        if not 1900 <= y <= 9998:  # the month, its neighbours and the 15-day lead-in stay representable
            raise ValueError(month)
    except ValueError:
        raise InputError(
            f"month={month[:20]!r}; expected YYYY-MM from 1900-01 to 9998-12, e.g. 2026-03.", field="month"
        ) from None
    return y, m


def monthly(
    s: Session, who: Principal, patient_id: int, month: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """The monthly analysis for `month` ('YYYY-MM'; default: the month of the latest activity), audited."""
    patient = check_patient_access(s, who, patient_id, "clinical")
    now = now or datetime.now(UTC)
    if month:
        y, m = _parse_month(month)
    else:
        last = messages.last_message_at(s, patient_id) or now
        y, m = last.year, last.month
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    turns: dict[date, int] = defaultdict(int)
    for (sent,) in s.execute(
        select(MessageRow.sent_at).where(
            MessageRow.person_id == patient_id,
            MessageRow.role == "user",
            MessageRow.sent_at >= start,
            MessageRow.sent_at < end,
        )
    ):
        turns[sent.date()] += 1
    ests = [
        DayEstimate(e.window_end, e.value)
        for e in estimates.list_estimates(s, patient_id, since=start - timedelta(days=15), until=end, status="ok")
        if e.value is not None
    ]
    result = monthly_analysis(y, m, turns, ests, today=now.date())
    prev_m = (y - (m == 1), 12 if m == 1 else m - 1)
    next_m = (y + (m == 12), 1 if m == 12 else m + 1)
    result["prev"] = f"{prev_m[0]:04d}-{prev_m[1]:02d}"
    result["next"] = f"{next_m[0]:04d}-{next_m[1]:02d}"
    result["patient"] = patient_out(patient, person_name(patient)).model_dump(mode="json")
    record_read(s, who, "monthly", [patient_id], resource_id=f"{y:04d}-{m:02d}", details=VIA_PAGE)
    return result
