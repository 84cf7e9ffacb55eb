"""The one audit path for reads of health data, for the API and the pages alike: one "read" row per patient
read (a list or caseload names every patient listed; an empty list leaves no row), in the caller's session."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from phqwatch.server.auth import Principal
from phqwatch.store import audit

#: What a page's read rows carry in `details` (the API's rows carry none, or the route's own).
VIA_PAGE = {"via": "page"}


def record_read(
    s: Session,
    who: Principal,
    resource: str,
    patient_ids: Iterable[int | None],
    *,
    resource_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Record that `who` read `resource` of these patients (None ids dropped); returns the rows written."""
    ids = [pid for pid in dict.fromkeys(patient_ids) if pid is not None]
    if not ids:
        return 0
    return audit.record_reads(
        s,
        ids,
        actor_id=who.person_id,
        actor_role=who.role,
        resource=resource,
        organisation_id=who.organisation_id,
        resource_id=resource_id,
        ip=who.ip,
        details=details,
    )
