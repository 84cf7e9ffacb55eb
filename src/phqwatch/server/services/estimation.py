"""Re-estimation (run by the worker, never inside a request): a patient's window read, scored and stored;
`estimate_point`, the one stored-estimate -> monitoring-point conversion; the monitoring alert rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from phqwatch.phq9 import MAX_TOTAL, MIN_TOTAL
from phqwatch.store import TextCipher, alerts, audit, estimates, messages, questionnaires
from phqwatch.store.tables import Estimate, Person
from phqwatch.transcripts.schema import Message

if TYPE_CHECKING:
    from phqwatch.models.base import PHQ9Estimator, UserEstimate
    from phqwatch.monitoring.series import EstimatePoint

#: Interval half-width used for alert rules when a model gives no interval (typical estimate error).
FALLBACK_HALF_WIDTH = 4.0


@dataclass
class WindowText:
    """A patient's own messages in one scoring window (read in one transaction, scored outside any)."""

    patient_id: int
    start: datetime
    end: datetime
    rows: list[messages.StoredMessage]


def load_window(
    s: Session, cipher: TextCipher, patient_id: int, *, window_end: datetime, window_days: int, include_assistant: bool
) -> WindowText:
    """The patient's own messages in (window_end - window_days, window_end], decrypted."""
    start = window_end - timedelta(days=window_days)
    roles = ("user", "assistant") if include_assistant else ("user",)
    rows = messages.patient_messages(s, cipher, patient_id, since=start, until=window_end, roles=roles)
    return WindowText(patient_id, start, window_end, rows)


def score_window(model: PHQ9Estimator, window: WindowText, *, min_words: int, include_assistant: bool) -> UserEstimate:
    """Run the estimator on one window -> UserEstimate (abstains on too little text)."""
    from phqwatch.transcripts.assemble import assemble_users
    from phqwatch.transcripts.schema import UserText

    uid = str(window.patient_id)
    msgs = [Message(uid, r.conversation_id, r.role, r.text, r.sent_at, str(r.id)) for r in window.rows]
    users = list(assemble_users(msgs, include_assistant=include_assistant))
    ut = users[0] if users else UserText(uid, "", 0)
    return model.estimate([ut], min_words=min_words)[0]


def store_estimate(s: Session, cipher: TextCipher, patient: Person, window: WindowText, est: UserEstimate) -> Estimate:
    """Persist a UserEstimate for a window (and audit it)."""
    name, version = estimates.split_model_id(est.model)
    row = estimates.add_estimate(
        s,
        cipher,
        organisation_id=patient.organisation_id,
        patient_id=patient.id,
        model_name=name,
        model_version=version,
        window_start=window.start,
        window_end=window.end,
        status=est.status,
        value=est.phq9_estimate,
        interval_low=est.interval_low,
        interval_high=est.interval_high,
        band=est.band,
        items=est.items,
        evidence=est.evidence or None,
        reason=est.reason,
        n_user_words=est.n_user_words,
        n_messages=sum(1 for r in window.rows if r.role == "user"),
    )
    audit.record(
        s,
        actor_id=None,
        actor_role="system",
        action="create",
        resource="estimate",
        resource_id=row.id,
        patient_id=patient.id,
        organisation_id=patient.organisation_id,
        details={"model": est.model, "status": est.status},
    )
    return row


def estimate_point(
    e: Estimate, *, ref: str | None = None, fallback_half_width: float = FALLBACK_HALF_WIDTH
) -> EstimatePoint | None:
    """A stored estimate as a monitoring point (None when it abstained). A missing interval bound becomes
    value -/+ `fallback_half_width` (0: the value itself), and the interval always contains the value."""
    from phqwatch.monitoring.series import EstimatePoint

    if e.value is None:
        return None
    lo = e.interval_low if e.interval_low is not None else max(MIN_TOTAL, e.value - fallback_half_width)
    hi = e.interval_high if e.interval_high is not None else min(MAX_TOTAL, e.value + fallback_half_width)
    return EstimatePoint(
        e.window_end,
        e.value,
        min(lo, e.value),
        max(hi, e.value),
        ref=str(e.id) if ref is None else ref,
        model=f"{e.model_name}@{e.model_version}",
    )


def run_alert_rules(s: Session, cipher: TextCipher, patient: Person, *, since: datetime, now: datetime) -> list[int]:
    """Evaluate the monitoring alert rules on the patient's stored estimates; open new alerts. Returns ids."""
    from phqwatch.monitoring.alerts import evaluate_alerts
    from phqwatch.monitoring.series import AdministeredPoint

    rows = estimates.list_estimates(s, patient.id, status="ok")
    points = [p for p in (estimate_point(e) for e in rows) if p is not None]
    if not points:
        return []
    adm = [
        AdministeredPoint(q.administered_at, q.total, ref=f"questionnaire:{q.id}")
        for q in questionnaires.list_questionnaires(s, patient.id)
    ]
    opened: list[int] = []
    for p in evaluate_alerts(points, adm, now=now, since=since):
        ref = p.key.split(":", 1)[1] if ":" in p.key else None
        alert = alerts.open_alert(
            s,
            cipher,
            organisation_id=patient.organisation_id,
            patient_id=patient.id,
            kind=p.kind,
            severity=p.severity,
            key=p.key,
            message=p.message,
            details={**p.details, "when": p.when.isoformat()},
            evidence=[f"estimate:{r}" if r.isdigit() else r for r in p.evidence],
            estimate_id=int(ref) if ref and ref.isdigit() else None,
            skip_if_active_kind=True,
        )
        if alert is not None:
            opened.append(alert.id)
    return opened
