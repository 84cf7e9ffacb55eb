"""FHIR R4 export of a patient's estimates (derived Observations) and administered PHQ-9s (LOINC 44261-6)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from phqwatch.server.auth import Principal, check_patient_access, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import audit_read, get_ctx
from phqwatch.server.schemas import PathId
from phqwatch.store import estimates, questionnaires

router = APIRouter(prefix="/api/v1/patients", tags=["export"])


@router.get("/{patient_id}/fhir", summary="FHIR R4 Bundle: estimates as derived Observations, PHQ-9s apart")
def fhir_bundle(
    patient_id: PathId,
    principal: Principal = Depends(require_roles("admin", "clinician", "patient")),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    from phqwatch.server.fhir_export import bundle_for_patient

    with ctx.db.read() as s:
        patient = check_patient_access(s, principal, patient_id, "clinical")
        est = estimates.list_estimates(s, patient_id)
        adm = questionnaires.list_questionnaires(s, patient_id)
        bundle = bundle_for_patient(patient, est, adm)
    audit_read(ctx, principal, "fhir_export", [patient_id], details={"estimates": len(est), "administered": len(adm)})
    return bundle
