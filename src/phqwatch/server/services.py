"""Composition of store + monitoring: ingestion with the crisis-safety screen, and re-estimation.

The server layer owns this glue; the store stays persistence-only and monitoring stays pure.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from phqwatch.monitoring.safety import SafetyResult, screen
from phqwatch.store import TextCipher, alerts, audit, estimates, jobs, messages, questionnaires
from phqwatch.store.tables import Estimate, Person
from phqwatch.transcripts.schema import Message

log = logging.getLogger("phqwatch.server")

CRISIS_KIND = "crisis"
#: Interval half-width used for alert rules when a model gives no interval (typical estimate error).
FALLBACK_HALF_WIDTH = 4.0


@dataclass
class IngestOutcome:
    results: list[messages.Ingested]
    crisis_alert_ids: list[int] = field(default_factory=list)
    jobs_queued: int = 0

    @property
    def accepted(self) -> int:
        return sum(r.status == "accepted" for r in self.results)


def _excerpt(result: SafetyResult) -> str:
    return " … ".join(dict.fromkeys(m.excerpt for m in result.matches))[:500]


def ingest(
    s: Session,
    cipher: TextCipher,
    *,
    organisation_id: int,
    items: Sequence[Message],
    actor_id: int | None,
    actor_role: str,
    ip: str | None,
) -> IngestOutcome:
    """Store messages, screen every new user message for crisis risk (opening urgent alerts), queue one
    re-estimation job per patient, and audit - all in the caller's transaction (all or nothing)."""
    results = messages.ingest_messages(s, cipher, organisation_id, items)
    out = IngestOutcome(results)
    per_patient: dict[int, int] = defaultdict(int)
    needs_estimate: set[int] = set()
    flagged: list[int] = []
    for r in results:
        if r.status != "accepted":
            continue
        per_patient[r.patient_id] += 1
        m = items[r.index]
        if r.role != "user":
            continue
        if r.is_patient:
            needs_estimate.add(r.patient_id)
        result = screen(m.text)
        if not result.hit:
            continue
        flagged.append(r.message_id)  # type: ignore[arg-type]
        speaker = "the patient" if r.is_patient else "a family member"
        pending = alerts.active_unacknowledged(s, r.patient_id, CRISIS_KIND)  # type: ignore[arg-type]
        if pending is not None:  # nobody has acknowledged the last one yet: fold this hit into it
            alerts.add_hit(
                s,
                cipher,
                pending,
                message_id=r.message_id,  # type: ignore[arg-type]
                excerpt=_excerpt(result),
                details={"screen_severity": result.severity, "speaker": "patient" if r.is_patient else "family"},
            )
            if pending.id not in out.crisis_alert_ids:
                out.crisis_alert_ids.append(pending.id)
            log.info("further crisis hit added to urgent alert %s for patient %s", pending.id, r.patient_id)
            continue
        alert = alerts.open_alert(
            s,
            cipher,
            organisation_id=organisation_id,
            patient_id=r.patient_id,
            kind=CRISIS_KIND,
            severity="urgent",
            key=f"crisis:{r.message_id}",
            message=(
                f"Possible self-harm or suicide risk in a message from {speaker} "
                f"(screen severity: {result.severity}; {', '.join(result.categories)}). "
                "Contact the person and assess risk now."
            ),
            excerpt=_excerpt(result),
            details={
                "screen_severity": result.severity,
                "categories": list(result.categories),
                "rules": [mm.rule for mm in result.matches],
                "speaker": "patient" if r.is_patient else "family",
                "person_id": r.person_id,
            },
            evidence=[f"message:{r.message_id}"],
            message_id=r.message_id,
            actor_id=actor_id,
        )
        if alert is not None:
            out.crisis_alert_ids.append(alert.id)
            # No text in logs: ids only.
            log.warning("urgent crisis alert %s opened for patient %s", alert.id, r.patient_id)
    messages.set_crisis_flag(s, flagged)
    for pid in sorted(needs_estimate):
        out.jobs_queued += int(jobs.enqueue(s, "estimate", organisation_id=organisation_id, patient_id=pid))
    for pid, n in per_patient.items():
        audit.record(
            s,
            actor_id=actor_id,
            actor_role=actor_role,
            action="create",
            resource="messages",
            patient_id=pid,
            organisation_id=organisation_id,
            ip=ip,
            details={
                "count": n,
                "crisis_alerts": sum(1 for r in results if r.patient_id == pid and r.message_id in flagged),
            },
        )
    return out


# ---- re-estimation (run by the worker, never inside a request) ------------------------------------------
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


def score_window(model, window: WindowText, *, min_words: int, include_assistant: bool):  # type: ignore[no-untyped-def]
    """Run the estimator on one window -> UserEstimate (abstains on too little text)."""
    from phqwatch.transcripts.assemble import assemble_users
    from phqwatch.transcripts.schema import UserText

    uid = str(window.patient_id)
    msgs = [Message(uid, r.conversation_id, r.role, r.text, r.sent_at, str(r.id)) for r in window.rows]
    users = list(assemble_users(msgs, include_assistant=include_assistant))
    ut = users[0] if users else UserText(uid, "", 0)
    return model.estimate([ut], min_words=min_words)[0]


def store_estimate(s: Session, cipher: TextCipher, patient: Person, window: WindowText, est) -> Estimate:  # type: ignore[no-untyped-def]
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


def run_alert_rules(s: Session, cipher: TextCipher, patient: Person, *, since: datetime, now: datetime) -> list[int]:
    """Evaluate the monitoring alert rules on the patient's stored estimates; open new alerts. Returns ids."""
    from phqwatch.monitoring.alerts import evaluate_alerts
    from phqwatch.monitoring.series import AdministeredPoint, EstimatePoint

    points = []
    for e in estimates.list_estimates(s, patient.id, status="ok"):
        if e.value is None:
            continue
        lo = e.interval_low if e.interval_low is not None else max(0.0, e.value - FALLBACK_HALF_WIDTH)
        hi = e.interval_high if e.interval_high is not None else min(27.0, e.value + FALLBACK_HALF_WIDTH)
        lo, hi = min(lo, e.value), max(hi, e.value)
        points.append(
            EstimatePoint(e.window_end, e.value, lo, hi, ref=str(e.id), model=f"{e.model_name}@{e.model_version}")
        )
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
