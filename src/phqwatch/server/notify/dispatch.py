"""Deciding who is notified, and when: first notices, the escalation chain, and the "notify" job.

- **First notice** (level 0): every open alert of the last day is checked against the level-0 channels of
  its organisation (organisation-wide ones and those of clinicians on the patient's care team) whose
  `min_severity` it reaches; each missing delivery is created once.
- **Escalation** (levels 1..`escalation_max_level`): an urgent or crisis alert still open (nobody has
  acknowledged it) `escalate_after_minutes` after it was opened, reopened or last escalated goes to the
  channels of the next level; a crisis alert whose snooze lapsed with nobody acknowledging it escalates at
  once. Each step is an `escalated` alert event (level, reason, number of deliveries).
- **Sending**: a "notify" job per patient sends that patient's due deliveries (outside any transaction),
  then records each outcome; retries wait with exponential backoff, then the delivery is dead-lettered.

`tick` runs the first two, in one write transaction; the worker calls it every `notify_scan_s`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.config import Settings
from phqwatch.server.notify.senders import DeliveryError, Notice, dashboard_url, send_email, send_webhook
from phqwatch.store import Database, TextCipher, alerts, jobs, notifications
from phqwatch.store.tables import Alert, AlertEvent, Job, utcnow

log = logging.getLogger("phqwatch.notify")

#: Alerts opened longer ago than this get no first notice when a channel appears later.
FIRST_NOTICE_LOOKBACK = timedelta(days=1)
#: Events that restart an alert's escalation clock.
_CLOCK_EVENTS = ("opened", "reopened", "woke", "escalated")


def notify_alert(s: Session, alert: Alert, *, event: str, level: int, now: datetime | None = None) -> int:
    """Create the missing deliveries of `event` to the alert's channels of `level` and queue the patient's
    "notify" job. Returns how many deliveries were created."""
    now = now or utcnow()
    created = 0
    for ch in notifications.channels_for(s, alert, level=level):
        if notifications.add_delivery(s, alert, ch, event=event, level=level, now=now) is not None:
            created += 1
    if created:
        jobs.enqueue_soon(
            s, "notify", organisation_id=alert.organisation_id, patient_id=alert.patient_id, run_after=now
        )
    return created


def first_notices(s: Session, *, now: datetime | None = None) -> int:
    """First notices for open alerts of the last day that lack them. Returns deliveries created."""
    now = now or utcnow()
    orgs = notifications.organisations_with_channels(s, level=0)
    if not orgs:
        return 0
    q = select(Alert).where(
        Alert.organisation_id.in_(orgs), Alert.status == "open", Alert.created_at >= now - FIRST_NOTICE_LOOKBACK
    )
    return sum(notify_alert(s, a, event="opened", level=0, now=now) for a in s.scalars(q))


@dataclass(frozen=True)
class Escalation:
    alert_id: int
    level: int
    reason: str  # "unacknowledged" | "snooze_lapsed"
    deliveries: int


def escalate_due(s: Session, *, after: timedelta, max_level: int, now: datetime | None = None) -> list[Escalation]:
    """Escalate the urgent or crisis alerts that are due (see the module doc). Returns what was done."""
    now = now or utcnow()
    if max_level <= 0:
        return []
    alerts.wake_snoozed(s, now=now)  # a lapsed snooze is an alert nobody has acknowledged
    q = select(Alert).where(Alert.status == "open").where((Alert.severity == "urgent") | (Alert.kind == "crisis"))
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)  # two workers never escalate the same alert twice
    candidates = list(s.scalars(q.order_by(Alert.id)))
    if not candidates:
        return []
    events: dict[int, list[AlertEvent]] = {}
    for ev in s.scalars(
        select(AlertEvent)
        .where(AlertEvent.alert_id.in_([a.id for a in candidates]), AlertEvent.action.in_(_CLOCK_EVENTS))
        .order_by(AlertEvent.id)
    ):
        events.setdefault(ev.alert_id, []).append(ev)
    done: list[Escalation] = []
    for a in candidates:
        evs = events.get(a.id, [])
        level = max((int((e.details or {}).get("level", 0)) for e in evs if e.action == "escalated"), default=0)
        if level >= max_level:
            continue
        last = evs[-1] if evs else None
        if last is not None and last.action == "woke":
            reason = "snooze_lapsed"
        elif now - (last.at if last is not None else a.created_at) >= after:
            reason = "unacknowledged"
        else:
            continue
        n = notify_alert(s, a, event=f"escalated:{level + 1}", level=level + 1, now=now)
        notifications.alert_event(s, a, "escalated", now=now, level=level + 1, reason=reason, deliveries=n)
        log.warning("alert %s escalated to level %s (%s, %s deliveries)", a.id, level + 1, reason, n)
        done.append(Escalation(a.id, level + 1, reason, n))
    return done


def tick(db: Database, settings: Settings, *, now: datetime | None = None) -> tuple[int, list[Escalation]]:
    """First notices and due escalations, in one write transaction. Returns (deliveries, escalations)."""
    now = now or utcnow()
    with db.write() as s:
        n = first_notices(s, now=now)
        esc = escalate_due(
            s,
            after=timedelta(minutes=settings.escalate_after_minutes),
            max_level=settings.escalation_max_level,
            now=now,
        )
    return n, esc


def run_notify_job(
    db: Database,
    cipher: TextCipher,
    settings: Settings,
    job_id: int,
    *,
    worker_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Send the due deliveries of the job's patient, record the outcomes, queue the next retry, complete."""
    now = now or utcnow()
    with db.read() as s:
        job = s.get(Job, job_id)
        if job is None:
            return {}
        org_id, patient_id = job.organisation_id, job.patient_id
        todo = []
        for d, ch, a in notifications.due_deliveries(s, patient_id, now=now):
            notice = Notice(
                delivery_id=d.delivery_id,
                event=d.event,
                level=d.level,
                alert_id=a.id,
                kind=a.kind,
                severity=a.severity,
                status=a.status,
                created_at=a.created_at.isoformat(),
                url=dashboard_url(settings, a.id),
            )
            secret = cipher.decrypt(ch.secret_enc) if ch.secret_enc is not None else ""
            todo.append((d.id, ch.kind, ch.target, secret, notice))
    outcomes: list[tuple[int, str | None]] = []
    for pk, kind, target, secret, notice in todo:  # no transaction is held while sending
        try:
            if kind == "webhook":
                send_webhook(target, secret, notice, timeout_s=settings.notify_timeout_s)
            else:
                send_email(settings, target, notice)
            outcomes.append((pk, None))
        except DeliveryError as exc:
            log.warning("notification delivery %s failed: %s", notice.delivery_id, exc.message)
            outcomes.append((pk, exc.message))
    counts = {"delivered": 0, "pending": 0, "dead": 0}
    with db.write() as s:
        for pk, error in outcomes:
            status = notifications.record_attempt(
                s, pk, error, max_attempts=settings.notify_max_attempts, base_delay_s=settings.notify_backoff_s, now=now
            )
            counts[status] = counts.get(status, 0) + 1
        nxt = notifications.next_pending_at(s, patient_id)
        if nxt is not None:
            jobs.enqueue_soon(s, "notify", organisation_id=org_id, patient_id=patient_id, run_after=nxt)
        jobs.complete(s, job_id, worker_id=worker_id, result=counts)
    return counts
