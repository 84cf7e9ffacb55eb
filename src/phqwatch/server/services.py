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

from phqwatch.safety import CrisisScreen, ScreenResult, Turn, default_screen
from phqwatch.safety.stream import MAX_CONTEXT_TURNS
from phqwatch.safety.types import SEVERITY_ORDER
from phqwatch.server.safety_review import pick_for_review, queue_second_opinions
from phqwatch.store import TextCipher, alerts, audit, estimates, jobs, messages, questionnaires
from phqwatch.store.tables import Estimate, Person
from phqwatch.transcripts.schema import Message

log = logging.getLogger("phqwatch.server")

CRISIS_KIND = "crisis"
#: Past risk or ambiguous distress: a clinician's look at the next contact, no crisis path.
REVIEW_KIND = "risk-review"
#: Screen severity -> alert severity (imminent and urgent page the care team; high is next in the queue).
ALERT_SEVERITY = {"imminent": "urgent", "urgent": "urgent", "high": "high", "review": "warning"}
ALERT_RANK = {"info": 0, "warning": 1, "high": 2, "urgent": 3}
#: Interval half-width used for alert rules when a model gives no interval (typical estimate error).
FALLBACK_HALF_WIDTH = 4.0


@dataclass
class IngestOutcome:
    results: list[messages.Ingested]
    screened: dict[int, ScreenResult] = field(default_factory=dict)  # batch index -> screen result
    crisis_alert_ids: list[int] = field(default_factory=list)
    jobs_queued: int = 0

    @property
    def accepted(self) -> int:
        return sum(r.status == "accepted" for r in self.results)


def _screen_batch(
    s: Session, cipher: TextCipher, organisation_id: int, items: Sequence[Message], screen: CrisisScreen
) -> dict[int, ScreenResult]:
    """Screen every user message of the batch, each with the turns before it (stored ones first, then the
    batch's own), before anything is stored or deduplicated."""
    stored = messages.recent_turns(
        s, cipher, organisation_id, [(m.user_id, m.conversation_id) for m in items], limit=MAX_CONTEXT_TURNS
    )
    history = {k: [Turn(role, text) for role, text in v] for k, v in stored.items()}
    todo: list[tuple[int, str, tuple[Turn, ...]]] = []
    for i, m in enumerate(items):
        turns = history.setdefault((m.user_id, m.conversation_id), [])
        if m.role == "user":
            todo.append((i, m.text, tuple(turns[-MAX_CONTEXT_TURNS:])))
        turns.append(Turn(m.role, m.text))
    results = screen.screen_many([t for _, t, _ in todo], [c for _, _, c in todo])
    return {i: r for (i, _, _), r in zip(todo, results, strict=True)}


def ingest(
    s: Session,
    cipher: TextCipher,
    *,
    organisation_id: int,
    items: Sequence[Message],
    actor_id: int | None,
    actor_role: str,
    ip: str | None,
    screen: CrisisScreen | None = None,
    second_opinion: bool = False,
) -> IngestOutcome:
    """Screen every user message for crisis risk (with its conversation context), store messages, open or
    grow crisis alerts, queue one re-estimation job per patient, and audit - all in the caller's
    transaction (all or nothing). A message id another person already used raises ConflictError (409).
    ``second_opinion``: queue an LLM review for messages in the screen's uncertain band (raise-only)."""
    screen = screen or default_screen()
    screened = _screen_batch(s, cipher, organisation_id, items, screen)
    results = messages.ingest_messages(s, cipher, organisation_id, items)
    out = IngestOutcome(results, screened={r.index: screened[r.index] for r in results if r.index in screened})
    per_patient: dict[int, int] = defaultdict(int)
    needs_estimate: set[int] = set()
    flagged: list[int] = []
    for r in results:
        if r.status != "accepted":
            continue
        per_patient[r.patient_id] += 1
        if r.role != "user":
            continue
        if r.is_patient:
            needs_estimate.add(r.patient_id)
        result = screened[r.index]
        if not result.hit:
            continue
        if result.flag:
            flagged.append(r.message_id)  # type: ignore[arg-type]
        alert_id = raise_alert(s, cipher, organisation_id, r, result, actor_id)
        if alert_id is not None and result.flag and alert_id not in out.crisis_alert_ids:
            out.crisis_alert_ids.append(alert_id)
    messages.set_crisis_flag(s, flagged)
    if second_opinion:
        for pid, ids in pick_for_review(results, out.screened, screen).items():
            out.jobs_queued += int(
                queue_second_opinions(s, organisation_id=organisation_id, patient_id=pid, message_ids=ids)
            )
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


def alert_details(result: ScreenResult, r: messages.Ingested) -> dict:
    """What a crisis alert records about one screened message (no text: ids, grades and rule ids)."""
    return {
        "screen_severity": result.severity,
        "categories": list(result.categories),
        "rules": list(result.rules),
        "detectors": list(result.detectors),
        "score": None if result.score is None else round(result.score, 4),
        "pages": result.pages,
        "speaker": "patient" if r.is_patient else "family",
    }


def raise_alert(
    s: Session,
    cipher: TextCipher,
    organisation_id: int,
    r: messages.Ingested,
    result: ScreenResult,
    actor_id: int | None,
) -> int | None:
    """Open the patient's crisis (or risk-review) alert, or fold this hit into the one nobody has
    acknowledged yet: one open alert per episode, whose severity a new hit can raise, never lower."""
    kind = CRISIS_KIND if result.flag else REVIEW_KIND
    alert_severity = ALERT_SEVERITY[result.severity]
    details = alert_details(result, r)
    pending = alerts.active_unacknowledged(s, r.patient_id, kind)
    if pending is not None:
        alerts.add_hit(s, cipher, pending, message_id=r.message_id, excerpt=result.excerpt, details=details)  # type: ignore[arg-type]
        if ALERT_RANK[alert_severity] > ALERT_RANK[pending.severity]:
            pending.severity = alert_severity
        old = (pending.details or {}).get("screen_severity", "none")
        if SEVERITY_ORDER[result.severity] > SEVERITY_ORDER.get(old, 0):
            pending.details = {**(pending.details or {}), "screen_severity": result.severity, "pages": result.pages}
        log.info("further %s hit added to alert %s for patient %s", kind, pending.id, r.patient_id)
        return pending.id
    who = "the patient" if r.is_patient else "a family member"
    if result.flag:
        message = (
            f"Possible crisis risk in a message from {who} (screen severity: {result.severity}; "
            f"{', '.join(result.categories)}). Contact the person and assess risk now."
        )
    else:
        message = (
            f"A message from {who} mentions past risk or ambiguous distress ({', '.join(result.categories)}). "
            "Review it at the next contact."
        )
    alert = alerts.open_alert(
        s,
        cipher,
        organisation_id=organisation_id,
        patient_id=r.patient_id,
        kind=kind,
        severity=alert_severity,
        key=f"{kind}:{r.message_id}",
        message=message,
        excerpt=result.excerpt,
        details={**details, "person_id": r.person_id},
        evidence=[f"message:{r.message_id}"],
        message_id=r.message_id,
        actor_id=actor_id,
    )
    if alert is None:
        return None
    # No text in logs: ids only.
    log.warning("%s alert %s (%s) opened for patient %s", kind, alert.id, result.severity, r.patient_id)
    return alert.id


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
