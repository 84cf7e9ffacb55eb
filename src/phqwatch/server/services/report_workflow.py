"""Assistive reports: draft (from the latest estimate; an LLM draft when configured, else templates), edit
and release (clinicians), and what each role may read of them (`reports.review.view_for`). Every version is
stored encrypted; every change and every read of a report is audited."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.config import Settings
from phqwatch.errors import NotFoundError, PermissionDeniedError
from phqwatch.reports import review
from phqwatch.reports.assistive import AdministeredScore, EstimateInput, build_report
from phqwatch.safety.resources import crisis_resources
from phqwatch.server.api.views import person_name
from phqwatch.server.auth import Principal, Scope, check_patient_access
from phqwatch.server.services.read_audit import VIA_PAGE, record_read
from phqwatch.store import TextCipher, audit, estimates, messages, questionnaires
from phqwatch.store import report_tables as rt
from phqwatch.store.tables import Conversation, Person

#: Where a read came from: its audit row says "page" in `details.via`; the API's rows carry none.
Via = Literal["page", "api"]


def load_history(s: Session, cipher: TextCipher, report_id: int) -> review.ReportHistory:
    """A report's versions, decrypted, oldest first."""
    return review.ReportHistory(
        [
            review.ReportVersion(r.number, r.kind, content, r.author_id, r.author_name, r.created_at, r.note)
            for r, content in rt.versions(s, cipher, report_id)
        ]
    )


def report_view(report: rt.Report, hist: review.ReportHistory, who: Principal) -> dict[str, Any] | None:
    """What `who` may read of a report (None: nothing yet); editors also get the versions and the changes."""
    seen = review.view_for(hist, who.role)
    if seen is None:
        return None
    version, content = seen
    out = {
        "id": report.id,
        "patient_id": report.patient_id,
        "status": hist.status,
        "version": version.as_dict(with_content=False),
        "content": content,
        "released_at": None if report.released_at is None else report.released_at.isoformat(),
    }
    if who.role in review.EDITOR_ROLES:
        out["versions"] = [v.as_dict(with_content=False) for v in hist.versions]
        out["original_summary"] = hist.original.content.get("summary")
        out["changed_since_draft"] = review.changed_fields(hist.original.content, hist.latest.content)
    return out


def readable_reports(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, *, newest_only: bool = False
) -> list[dict[str, Any]]:
    """The reports of a patient `who` may read, newest first (editors: any; others: released ones only).
    The caller has checked access; a page that shows them audits its own read."""
    out = []
    for report in rt.list_reports(s, patient_id, released_only=who.role not in review.EDITOR_ROLES):
        view = report_view(report, load_history(s, cipher, report.id), who)
        if view is not None:
            out.append(view)
            if newest_only:
                break
    return out


def report_summary(s: Session, cipher: TextCipher, who: Principal, patient_id: int) -> dict[str, Any] | None:
    """The newest report this caller may see (editors: any; patient/family: the newest released one)."""
    found = readable_reports(s, cipher, who, patient_id, newest_only=True)
    return found[0] if found else None


def _scope(who: Principal) -> Scope:
    """Editors read a patient's reports as clinical data; patients and family members read released ones."""
    return "clinical" if who.role in review.EDITOR_ROLES else "released"


def patient_reports(s: Session, cipher: TextCipher, who: Principal, patient_id: int) -> list[dict[str, Any]]:
    """The reports of a patient `who` may read, newest first, after checking access (editors: every report,
    latest versions; patients and family members: released ones, projected for them). The caller audits."""
    check_patient_access(s, who, patient_id, _scope(who))
    return readable_reports(s, cipher, who, patient_id)


def report_detail(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, report_id: int, *, via: Via = "page"
) -> dict[str, Any]:
    """One report as `who` may read it (audited, its row marked with `via`); 404 until a non-editor has a
    released version to read."""
    check_patient_access(s, who, patient_id, _scope(who))
    report = rt.get_report(s, report_id, patient_id=patient_id)
    view = report_view(report, load_history(s, cipher, report.id), who)
    if view is None:
        raise NotFoundError(f"Report {report_id} has no released version yet.", fix="Ask the care team.")
    record_read(s, who, "report", [patient_id], resource_id=report_id, details=VIA_PAGE if via == "page" else None)
    return view


def editor_view(s: Session, cipher: TextCipher, who: Principal, patient_id: int, report_id: int) -> dict[str, Any]:
    """A report as its editor reads it right after drafting, editing or releasing it (the API's answer to
    those changes; the change's own audit row covers it). Call it after the change, in its transaction."""
    report = rt.get_report(s, report_id, patient_id=patient_id)
    view = report_view(report, load_history(s, cipher, report.id), who)
    if view is None:  # editors always see the latest version
        raise PermissionDeniedError("Only clinicians change reports.", fix="Sign in as the patient's clinician.")
    return view


def report_pdf(view: dict[str, Any], who: Principal) -> tuple[bytes, str]:
    """(PDF bytes, file name) of a report view from `report_detail`: editors export the latest version
    (released or not); anyone else only ever a released one, projected for them."""
    from phqwatch.reports.pdf import render_pdf

    if view["version"]["kind"] != "release" and who.role not in review.EDITOR_ROLES:
        raise PermissionDeniedError("Only a released report can be exported.", fix="Ask the care team.")
    pdf = render_pdf(view["content"], version=view["version"], audience=who.role)
    return pdf, f"phqwatch-report-{view['id']}-v{view['version']['number']}.pdf"


class _ReportInputs(TypedDict):
    """What a report is drafted from besides the estimate (`build_report`'s keyword arguments)."""

    conversations: dict[str, str]
    family: dict[str, str]
    administered: list[AdministeredScore]
    patient_label: str
    crisis_text: str
    now: datetime


def _estimate_input(cipher: TextCipher, row: Any) -> EstimateInput:
    return EstimateInput(
        value=row.value,
        interval_low=row.interval_low,
        interval_high=row.interval_high,
        band=row.band,
        n_user_words=row.n_user_words,
        model=f"{row.model_name}@{row.model_version}",
        status=row.status,
        reason=row.reason,
        items=row.items,
        evidence=estimates.evidence_of(cipher, row),
        window_start=row.window_start,
        window_end=row.window_end,
        estimate_id=str(row.id),
    )


def _window_texts(s: Session, cipher: TextCipher, patient_id: int, row: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(the patient's own words, family members' words) in the estimate's window, by conversation."""
    convs: dict[str, list[str]] = defaultdict(list)
    family: dict[str, list[str]] = defaultdict(list)
    ext_to_id = dict(
        s.execute(select(Conversation.external_id, Conversation.id).where(Conversation.person_id == patient_id)).all()
    )
    for m in messages.patient_messages(
        s, cipher, patient_id, since=row.window_start, until=row.window_end, roles=("user",), patient_only=False
    ):
        if m.by_patient:
            convs[str(ext_to_id.get(m.conversation_id, m.conversation_id))].append(m.text)
        else:
            family[m.conversation_id].append(m.text)
    return {cid: "\n".join(t) for cid, t in convs.items()}, {cid: "\n".join(t) for cid, t in family.items()}


def draft_report(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, *, settings: Settings, now: datetime | None = None
) -> rt.Report:
    """Draft a new report from the patient's latest estimate (LLM draft when configured, else templates)."""
    if who.role not in review.EDITOR_ROLES:
        raise PermissionDeniedError("Only clinicians draft reports.")
    patient = check_patient_access(s, who, patient_id, "clinical")
    now = now or datetime.now(UTC)
    row = estimates.latest_estimate(s, patient_id, status=None)
    if row is None:
        raise NotFoundError(
            "This patient has no estimate yet, so there is nothing to report.",
            fix="Wait for the patient's conversations to be scored.",
        )
    est = _estimate_input(cipher, row)
    own, family = _window_texts(s, cipher, patient_id, row)
    kwargs: _ReportInputs = {
        "conversations": own,
        "family": family,
        "administered": [
            AdministeredScore(q.administered_at, q.total, q.items)
            for q in questionnaires.list_questionnaires(s, patient_id)
        ],
        "patient_label": person_name(patient),
        "crisis_text": crisis_resources(settings.crisis_locale, settings.crisis_text),
        "now": now,
    }
    if settings.teacher_base_url:
        from phqwatch.reports.llm_draft import draft_with_fallback

        content = draft_with_fallback(est, settings=settings, **kwargs)
    else:
        content = build_report(est, **kwargs)
    report = rt.create_report(
        s, organisation_id=patient.organisation_id, patient_id=patient_id, estimate_id=row.id, at=now
    )
    hist = review.start(content, author_id=None, author_name=f"phqwatch ({content['generator']['kind']})", at=now)
    _save_version(s, cipher, report, hist.latest, status="draft", note="machine draft")
    _audit_change(s, who, "create", report.id, patient_id, {"version": 1, "kind": "draft"})
    return report


def _save_version(
    s: Session, cipher: TextCipher, report: Any, v: review.ReportVersion, *, status: str, note: str | None = None
) -> None:
    """Persist one review version (encrypted) and the report's new status."""
    rt.add_version(
        s,
        cipher,
        report,
        number=v.number,
        kind=v.kind,
        content=v.content,
        author_id=v.author_id,
        author_name=v.author_name,
        note=v.note if note is None else note,
        at=v.at,
        status=status,
    )


def _audit_change(s: Session, who: Principal, action: str, report_id: int, patient_id: int, details: dict) -> None:
    audit.record(
        s,
        actor_id=who.person_id,
        actor_role=who.role,
        action=action,
        resource="report",
        resource_id=report_id,
        patient_id=patient_id,
        organisation_id=who.organisation_id,
        ip=who.ip,
        details=details,
    )


def _author(s: Session, who: Principal) -> str:
    p = s.get(Person, who.person_id)
    return person_name(p) if p else (who.username or str(who.person_id))


def edit_report(
    s: Session,
    cipher: TextCipher,
    who: Principal,
    patient_id: int,
    report_id: int,
    edits: dict[str, Any],
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> review.ReportVersion:
    """A clinician's edit as a new version (the original draft is kept); InputError when nothing changes."""
    check_patient_access(s, who, patient_id, "clinical")
    report = rt.get_report(s, report_id, patient_id=patient_id)
    hist = load_history(s, cipher, report.id)
    v = review.edit(hist, edits, role=who.role, author_id=who.person_id, author_name=_author(s, who), note=note, at=now)
    _save_version(s, cipher, report, v, status=hist.status)
    changed = review.changed_fields(hist.versions[-2].content, v.content)
    _audit_change(s, who, "update", report.id, patient_id, {"version": v.number, "kind": "edit", "fields": changed})
    return v


def release_report(
    s: Session,
    cipher: TextCipher,
    who: Principal,
    patient_id: int,
    report_id: int,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> review.ReportVersion:
    """Release the latest version to the patient and family (their projections of it)."""
    check_patient_access(s, who, patient_id, "clinical")
    report = rt.get_report(s, report_id, patient_id=patient_id)
    hist = load_history(s, cipher, report.id)
    v = review.release(hist, role=who.role, author_id=who.person_id, author_name=_author(s, who), note=note, at=now)
    _save_version(s, cipher, report, v, status="released")
    _audit_change(s, who, "update", report.id, patient_id, {"version": v.number, "kind": "release"})
    return v
