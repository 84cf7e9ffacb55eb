"""Assistive reports: list, read and export a patient's reports (each role what it may see), and draft, edit
and release them (clinicians and admins). The workflow is `services.report_workflow`, which the dashboard's
report pages call too: a report here is the page's JSON twin (`/patients/{id}/reports/{rid}.json`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from phqwatch.server.api.views import PdfResponse, pdf_attachment
from phqwatch.server.auth import Principal, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import audit_read, get_ctx
from phqwatch.server.schemas import NoteIn, PathId, ReportEditIn, ReportOut
from phqwatch.server.services import report_workflow

router = APIRouter(prefix="/api/v1/patients", tags=["reports"])
#: Who reads reports (each through `reports.review.view_for`); who drafts, edits and releases them.
READERS = ("admin", "clinician", "patient", "family")
EDITORS = ("admin", "clinician")
_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as a PDF (editors: the latest version; others: the released one, projected).",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    """The service's view as it is (the page's JSON twin sends the same), never cached."""
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.get(
    "/{patient_id}/reports",
    response_model=list[ReportOut],
    summary="The patient's reports the caller may read, newest first",
)
def list_reports(
    patient_id: PathId, principal: Principal = Depends(require_roles(*READERS)), ctx: ServerContext = Depends(get_ctx)
) -> JSONResponse:
    with ctx.db.read() as s:
        out = report_workflow.patient_reports(s, ctx.cipher, principal, patient_id)
    audit_read(ctx, principal, "reports", [patient_id] if out else [], details={"n": len(out)})
    return _json(out)


@router.get(
    "/{patient_id}/reports/{report_id}",
    response_model=ReportOut,
    summary="One report (editors: the latest version and its history; others: the released version)",
)
def get_report(
    patient_id: PathId,
    report_id: PathId,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> JSONResponse:
    with ctx.db.write() as s:  # the read's audit row is written with it
        view = report_workflow.report_detail(s, ctx.cipher, principal, patient_id, report_id, via="api")
    return _json(view)


@router.get(
    "/{patient_id}/reports/{report_id}/pdf",
    response_class=PdfResponse,
    responses=_PDF,
    summary="One report as a PDF, as the caller may read it",
)
def report_pdf(
    patient_id: PathId,
    report_id: PathId,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> PdfResponse:
    with ctx.db.write() as s:
        view = report_workflow.report_detail(s, ctx.cipher, principal, patient_id, report_id, via="api")
    return pdf_attachment(*report_workflow.report_pdf(view, principal))


@router.post(
    "/{patient_id}/reports",
    response_model=ReportOut,
    status_code=201,
    summary="Draft a report from the patient's latest estimate",
)
def draft_report(
    patient_id: PathId, principal: Principal = Depends(require_roles(*EDITORS)), ctx: ServerContext = Depends(get_ctx)
) -> JSONResponse:
    with ctx.db.write() as s:
        report = report_workflow.draft_report(s, ctx.cipher, principal, patient_id, settings=ctx.settings)
        view = report_workflow.editor_view(s, ctx.cipher, principal, patient_id, report.id)
    return _json(view, 201)


@router.post(
    "/{patient_id}/reports/{report_id}/edits",
    response_model=ReportOut,
    summary="Edit a report (a new version; the machine draft is kept)",
)
def edit_report(
    patient_id: PathId,
    report_id: PathId,
    body: ReportEditIn,
    principal: Principal = Depends(require_roles(*EDITORS)),
    ctx: ServerContext = Depends(get_ctx),
) -> JSONResponse:
    with ctx.db.write() as s:
        report_workflow.edit_report(s, ctx.cipher, principal, patient_id, report_id, body.edits(), note=body.note)
        view = report_workflow.editor_view(s, ctx.cipher, principal, patient_id, report_id)
    return _json(view)


@router.post(
    "/{patient_id}/reports/{report_id}/release",
    response_model=ReportOut,
    summary="Release the latest version to the patient and family members (their projections of it)",
)
def release_report(
    patient_id: PathId,
    report_id: PathId,
    body: NoteIn | None = None,
    principal: Principal = Depends(require_roles(*EDITORS)),
    ctx: ServerContext = Depends(get_ctx),
) -> JSONResponse:
    note = body.note if body else None
    with ctx.db.write() as s:
        report_workflow.release_report(s, ctx.cipher, principal, patient_id, report_id, note=note)
        view = report_workflow.editor_view(s, ctx.cipher, principal, patient_id, report_id)
    return _json(view)
