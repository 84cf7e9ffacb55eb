"""Stored PHQ-9 estimates (model name and version, window, value, interval, band, items, evidence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.errors import NotFoundError
from phqwatch.store.crypto import TextCipher
from phqwatch.store.tables import ESTIMATE_STATUSES, Estimate


def split_model_id(model_id: str) -> tuple[str, str]:
    """'name@version' -> (name, version); no '@' -> (model_id, 'unversioned')."""
    name, sep, version = model_id.partition("@")
    return (name, version) if sep else (model_id, "unversioned")


def add_estimate(
    s: Session,
    cipher: TextCipher,
    *,
    organisation_id: int,
    patient_id: int,
    model_name: str,
    model_version: str,
    window_start: datetime,
    window_end: datetime,
    status: str,
    value: float | None = None,
    interval_low: float | None = None,
    interval_high: float | None = None,
    band: str | None = None,
    items: Sequence[float] | None = None,
    evidence: dict[int, list[str]] | None = None,
    reason: str | None = None,
    n_user_words: int = 0,
    n_messages: int = 0,
) -> Estimate:
    """Store one estimate. `status` is 'ok' or 'abstained' (then `reason` says why and value is None)."""
    if status not in ESTIMATE_STATUSES:
        raise ValueError(f"status must be one of {ESTIMATE_STATUSES}")
    row = Estimate(
        organisation_id=organisation_id,
        patient_id=patient_id,
        model_name=model_name,
        model_version=model_version,
        window_start=window_start,
        window_end=window_end,
        status=status,
        reason=reason,
        value=value,
        interval_low=interval_low,
        interval_high=interval_high,
        band=band,
        items=list(items) if items is not None else None,
        evidence_enc=cipher.encrypt_json({str(k): v for k, v in evidence.items()}) if evidence else None,
        n_user_words=n_user_words,
        n_messages=n_messages,
    )
    s.add(row)
    s.flush()
    return row


def evidence_of(cipher: TextCipher, row: Estimate) -> dict[int, list[str]]:
    """Decrypted evidence {item number: quotes}."""
    data: dict[str, Any] | None = cipher.decrypt_json(row.evidence_enc)
    return {int(k): list(v) for k, v in (data or {}).items()}


def list_estimates(
    s: Session,
    patient_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[Estimate]:
    """A patient's estimates by window end, oldest first (`limit`: the newest N, still oldest first)."""
    q = select(Estimate).where(Estimate.patient_id == patient_id)
    if since is not None:
        q = q.where(Estimate.window_end >= since)
    if until is not None:
        q = q.where(Estimate.window_end <= until)
    if status is not None:
        q = q.where(Estimate.status == status)
    if limit is not None:
        rows = list(s.scalars(q.order_by(Estimate.window_end.desc(), Estimate.id.desc()).limit(limit)))
        return rows[::-1]
    return list(s.scalars(q.order_by(Estimate.window_end, Estimate.id)))


#: Columns of an estimate without its (encrypted) evidence: what a timeline needs.
SUMMARY_COLUMNS = (
    Estimate.id, Estimate.model_name, Estimate.model_version, Estimate.window_start, Estimate.window_end,
    Estimate.status, Estimate.reason, Estimate.value, Estimate.interval_low, Estimate.interval_high, Estimate.band,
    Estimate.items, Estimate.n_user_words, Estimate.n_messages,
)  # fmt: skip


def estimate_summaries(
    s: Session, patient_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """A patient's estimates as plain dicts without evidence, oldest first (fast path for timelines)."""
    q = select(*SUMMARY_COLUMNS).where(Estimate.patient_id == patient_id)
    if since is not None:
        q = q.where(Estimate.window_end >= since)
    if until is not None:
        q = q.where(Estimate.window_end <= until)
    return [dict(r._mapping) for r in s.execute(q.order_by(Estimate.window_end, Estimate.id))]


def get_estimate(s: Session, estimate_id: int, *, patient_id: int | None = None) -> Estimate:
    row = s.get(Estimate, estimate_id)
    if row is None or (patient_id is not None and row.patient_id != patient_id):
        raise NotFoundError(f"No estimate with id {estimate_id} for this patient.")
    return row


def latest_estimate(s: Session, patient_id: int, *, status: str | None = "ok") -> Estimate | None:
    rows = list_estimates(s, patient_id, status=status, limit=1)
    return rows[0] if rows else None


def estimate_window_ends(s: Session, patient_id: int) -> set[datetime]:
    return set(s.scalars(select(Estimate.window_end).where(Estimate.patient_id == patient_id)))
