"""Ingestion: every user message screened for crisis risk (with its stored conversation context) before it
is stored or deduplicated; crisis alerts, re-estimation jobs and the audit in the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from phqwatch.safety import CrisisScreen, ScreenResult, Turn, default_screen
from phqwatch.safety.stream import MAX_CONTEXT_TURNS
from phqwatch.server.crisis_alerts import raise_alert
from phqwatch.server.safety_review import pick_for_review, queue_second_opinions
from phqwatch.store import TextCipher, audit, jobs, messages
from phqwatch.transcripts.schema import Message


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
        if alert_id is not None and result.crisis_alert and alert_id not in out.crisis_alert_ids:
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
