"""Composition of store + monitoring: ingestion with the crisis-safety screen, and re-estimation.

The server layer owns this glue; the store stays persistence-only and monitoring stays pure.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from phqwatch.phq9 import MAX_TOTAL, MIN_TOTAL
from phqwatch.safety import CrisisScreen, ScreenResult, Turn, default_screen
from phqwatch.safety.stream import MAX_CONTEXT_TURNS
from phqwatch.server.crisis_alerts import raise_alert
from phqwatch.server.safety_review import pick_for_review, queue_second_opinions
from phqwatch.store import TextCipher, alerts, audit, estimates, jobs, messages, questionnaires
from phqwatch.store.tables import Estimate, Person
from phqwatch.transcripts.schema import Message

if TYPE_CHECKING:
    from phqwatch.models.base import PHQ9Estimator, UserEstimate
    from phqwatch.monitoring.series import EstimatePoint

log = logging.getLogger("phqwatch.server")

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
        if result.flag and r.message_id is not None:  # an accepted message is stored, so it has an id
            flagged.append(r.message_id)
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
