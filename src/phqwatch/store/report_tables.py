"""Tables and data functions for assistive reports and their review versions (persistence only).

A report belongs to one patient and (optionally) the estimate it was drafted from. Its versions are
append-only: version 1 is the machine draft, later ones are clinician edits and releases, each with who and
when. Version content is the report as JSON, encrypted at rest (it quotes the patient's words).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from phqwatch.errors import NotFoundError
from phqwatch.store.crypto import TextCipher
from phqwatch.store.tables import Base, BigId, TZDateTime, utcnow

REPORT_STATUSES = ("draft", "edited", "released")
VERSION_KINDS = ("draft", "edit", "release")


class Report(Base):
    """One assistive report for a patient; `status` mirrors its latest version."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_patient_created", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    estimate_id: Mapped[int | None] = mapped_column(ForeignKey("estimates.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    released_version: Mapped[int | None] = mapped_column(Integer)
    released_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class ReportVersionRow(Base):
    """One immutable version of a report."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number", name="uq_report_versions_report_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


def create_report(
    s: Session, *, organisation_id: int, patient_id: int, estimate_id: int | None, at: datetime | None = None
) -> Report:
    row = Report(
        organisation_id=organisation_id,
        patient_id=patient_id,
        estimate_id=estimate_id,
        status="draft",
        latest_version=0,
        created_at=at or utcnow(),
        updated_at=at or utcnow(),
    )
    s.add(row)
    s.flush()
    return row


def add_version(
    s: Session,
    cipher: TextCipher,
    report: Report,
    *,
    number: int,
    kind: str,
    content: dict[str, Any],
    author_id: int | None,
    author_name: str,
    note: str | None,
    at: datetime,
    status: str,
) -> ReportVersionRow:
    """Append version `number` and update the report's status (the unique key refuses a lost update)."""
    if kind not in VERSION_KINDS or status not in REPORT_STATUSES:
        raise ValueError(f"bad version kind {kind!r} or status {status!r}")
    row = ReportVersionRow(
        report_id=report.id,
        number=number,
        kind=kind,
        content_enc=cipher.encrypt_json(content),
        author_id=author_id,
        author_name=author_name,
        note=note,
        created_at=at,
    )
    s.add(row)
    report.latest_version = number
    report.status = status
    report.updated_at = at
    if kind == "release":
        report.released_version = number
        report.released_at = at
    s.flush()
    return row


def get_report(s: Session, report_id: int, *, patient_id: int | None = None) -> Report:
    row = s.get(Report, report_id)
    if row is None or (patient_id is not None and row.patient_id != patient_id):
        raise NotFoundError(f"No report with id {report_id} for this patient.", fix="Open the patient's page.")
    return row


def list_reports(s: Session, patient_id: int, *, released_only: bool = False) -> list[Report]:
    """A patient's reports, newest first."""
    q = select(Report).where(Report.patient_id == patient_id)
    if released_only:
        q = q.where(Report.released_version.is_not(None))
    return list(s.scalars(q.order_by(Report.created_at.desc(), Report.id.desc())))


def versions(s: Session, cipher: TextCipher, report_id: int) -> list[tuple[ReportVersionRow, dict[str, Any]]]:
    """All versions of a report, oldest first, with decrypted content."""
    rows = s.scalars(
        select(ReportVersionRow).where(ReportVersionRow.report_id == report_id).order_by(ReportVersionRow.number)
    )
    return [(r, cipher.decrypt_json(r.content_enc)) for r in rows]


__all__ = [
    "REPORT_STATUSES",
    "VERSION_KINDS",
    "Report",
    "ReportVersionRow",
    "add_version",
    "create_report",
    "get_report",
    "list_reports",
    "versions",
]
