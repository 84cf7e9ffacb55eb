"""Stored rows -> FHIR R4 Bundle via phqwatch.reports.fhir (estimates: derived Observations; administered
PHQ-9s: LOINC 44261-6). Abstained estimates are not exported (there is no value to export)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from phqwatch.monitoring.series import AdministeredPoint
from phqwatch.server.services.estimation import estimate_point
from phqwatch.store.tables import AdministeredQuestionnaire, Estimate, Person


def bundle_for_patient(
    patient: Person, estimates: Sequence[Estimate], administered: Sequence[AdministeredQuestionnaire]
) -> dict[str, Any]:
    """A validated collection Bundle of one patient's estimates and administered PHQ-9s, by time."""
    from phqwatch.reports import fhir

    subject = patient.external_id or str(patient.id)
    resources: list[tuple[Any, dict[str, Any]]] = []
    for e in estimates:
        # No made-up interval in an exported record: a missing bound is the value itself.
        point = estimate_point(e, ref=f"estimate-{e.id}", fallback_half_width=0.0) if e.status == "ok" else None
        if point is None:
            continue
        obs = fhir.estimate_observation(
            point,
            subject,
            model=f"{e.model_name} {e.model_version}",
            window=(e.window_start, e.window_end),
            n_user_words=e.n_user_words,
            items=e.items,
        )
        resources.append((e.window_end, obs))
    for q in administered:
        resources.append(
            (
                q.administered_at,
                fhir.administered_observation(AdministeredPoint(q.administered_at, q.total, ref=f"q-{q.id}"), subject),
            )
        )
    resources.sort(key=lambda x: x[0])
    b = fhir.bundle(r for _, r in resources)
    return fhir.validate_resource(b)
