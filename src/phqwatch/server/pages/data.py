"""The dashboard's own pages composed from the services (no SQL and no shapes of its own here): the
clinician's patient page, the patient's page and the family page. Every resource in them is the API's model
(`server/api/views.py`); every read is audited through `services.read_audit`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from phqwatch.errors import NotFoundError, PermissionDeniedError
from phqwatch.server.api.views import estimate_out, patient_out, person_name
from phqwatch.server.auth import Principal, check_patient_access
from phqwatch.server.services import patient_record, report_workflow
from phqwatch.server.services.caseload import SEVERITY_ORDER
from phqwatch.server.services.read_audit import VIA_PAGE, record_read
from phqwatch.store import TextCipher, estimates
from phqwatch.store.alerts import ACTIVE_STATUSES
from phqwatch.store.tables import Person


def _patient(p: Person) -> dict[str, Any]:
    """A patient as the API's `PatientOut`, named as pages name people (display name, username, external id)."""
    return patient_out(p, person_name(p)).model_dump(mode="json")


def patient_page(s: Session, cipher: TextCipher, who: Principal, patient_id: int) -> dict[str, Any]:
    """Everything on the clinician's patient page."""
    if who.role not in ("clinician", "admin"):
        raise PermissionDeniedError("Only the patient's clinicians open this page.", fix="Open your own page.")
    patient = check_patient_access(s, who, patient_id, "clinical")
    own, family = patient_record.conversation_list(s, patient_id)
    tl = patient_record.chart(s, patient, cipher=cipher)
    open_alerts = [a for a in tl["alerts"] if a["status"] in ACTIVE_STATUSES]
    open_alerts.sort(key=lambda a: SEVERITY_ORDER.index(a["severity"]) if a["severity"] in SEVERITY_ORDER else 9)
    latest = estimates.latest_estimate(s, patient_id, status=None)
    record_read(s, who, "patient_page", [patient_id], resource_id=patient_id, details=VIA_PAGE)
    return {
        "patient": _patient(patient),
        "latest_estimate": None if latest is None else estimate_out(latest).model_dump(mode="json"),
        "timeline": tl,
        "open_alerts": open_alerts,
        "conversations": own,
        "family_conversations": family,
        "report": report_workflow.report_summary(s, cipher, who, patient_id),
    }


def my_page(s: Session, cipher: TextCipher, who: Principal) -> dict[str, Any]:
    """A patient's own view: released reports (patient projection) and their estimate trend."""
    if who.role != "patient":
        raise PermissionDeniedError("This page is for patients.", fix="Open your own start page.")
    patient = check_patient_access(s, who, who.person_id, "clinical")
    reports = report_workflow.readable_reports(s, cipher, who, patient.id)
    tl = patient_record.chart(s, patient)
    record_read(s, who, "patient_view", [patient.id], resource_id=patient.id, details=VIA_PAGE)
    return {"patient": _patient(patient), "reports": reports, "timeline": tl}


def family_page(s: Session, cipher: TextCipher, who: Principal) -> dict[str, Any]:
    """A family member's view: the linked patient's latest released report (family projection) only."""
    if who.role != "family":
        raise PermissionDeniedError("This page is for family members.", fix="Open your own start page.")
    if who.linked_patient_id is None:
        raise NotFoundError("Your account is not linked to a patient.", fix="Ask the care team to link it.")
    patient = check_patient_access(s, who, who.linked_patient_id, "released")
    report = report_workflow.report_summary(s, cipher, who, patient.id)
    record_read(s, who, "family_view", [patient.id], resource_id=None if report is None else report["id"],
                details=VIA_PAGE)  # fmt: skip
    return {"patient": _patient(patient), "report": report}
