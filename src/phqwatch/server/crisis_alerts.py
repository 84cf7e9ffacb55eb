"""Crisis and risk-review alerts raised from a screened message: one open alert per episode.

Used by ingestion (`services.ingestion.ingest`), the chat and the LLM second opinion (`safety_review`), so each
raises the alert the same way. No message text in logs: ids and grades only.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from phqwatch.safety import ScreenResult
from phqwatch.safety.types import SEVERITY_ORDER
from phqwatch.store import TextCipher, alerts, messages

log = logging.getLogger("phqwatch.server")

CRISIS_KIND = "crisis"
#: Past risk, ambiguous distress, or a flag from an unsure learned model alone: a clinician's look, no
#: escalation (an unsure model's flag is filed at "high", first in the review queue).
REVIEW_KIND = "risk-review"
#: Screen severity -> alert severity (imminent and urgent page the care team; high is next in the queue).
ALERT_SEVERITY = {"imminent": "urgent", "urgent": "urgent", "high": "high", "review": "warning"}
ALERT_RANK = {"info": 0, "warning": 1, "high": 2, "urgent": 3}


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
    assert r.message_id is not None  # callers pass stored (accepted) messages only, never a duplicate
    kind = CRISIS_KIND if result.crisis_alert else REVIEW_KIND
    alert_severity = ALERT_SEVERITY[result.severity]  # an unsure model's flag: a risk review at "high"
    details = alert_details(result, r)
    pending = None
    if result.flag and not result.crisis_alert:  # an open crisis alert holds the episode's unsure flags too
        pending = alerts.active_unacknowledged(s, r.patient_id, CRISIS_KIND)
        kind = CRISIS_KIND if pending is not None else kind
    pending = pending or alerts.active_unacknowledged(s, r.patient_id, kind)
    if pending is not None:
        alerts.add_hit(s, cipher, pending, message_id=r.message_id, excerpt=result.excerpt, details=details)
        if ALERT_RANK[alert_severity] > ALERT_RANK[pending.severity]:
            pending.severity = alert_severity
        old = (pending.details or {}).get("screen_severity", "none")
        if SEVERITY_ORDER[result.severity] > SEVERITY_ORDER.get(old, 0):
            pending.details = {**(pending.details or {}), "screen_severity": result.severity, "pages": result.pages}
        log.info("further %s hit added to alert %s for patient %s", kind, pending.id, r.patient_id)
        return pending.id
    who = "the patient" if r.is_patient else "a family member"
    if result.crisis_alert:
        message = (
            f"Possible crisis risk in a message from {who} (screen severity: {result.severity}; "
            f"{', '.join(result.categories)}). Contact the person and assess risk now."
        )
    elif result.flag:
        score = "" if result.score is None else f", score {result.score:.2f}"
        message = (
            f"Possible risk in a message from {who}: the learned risk model alone flagged it, at low "
            f"confidence ({', '.join(result.categories)}{score}). Review it today."
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


__all__ = ["ALERT_RANK", "ALERT_SEVERITY", "CRISIS_KIND", "REVIEW_KIND", "alert_details", "raise_alert"]
