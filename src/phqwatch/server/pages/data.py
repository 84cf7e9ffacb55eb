"""What the dashboard pages show, composed from the store, monitoring and reports (no HTML here).

Each function takes a read or write session, the cipher and the caller (`Principal`), checks access with
the same rules as the JSON API (`server.auth.check_patient_access`), records reads of health data in the
audit log, and returns plain JSON-able dicts that the templates render and the `.json` twins return.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phqwatch import phq9
from phqwatch.errors import InputError, NotFoundError, PermissionDeniedError
from phqwatch.monitoring.change import trend
from phqwatch.monitoring.smoothing import smooth
from phqwatch.reports import review
from phqwatch.reports.assistive import AdministeredScore, EstimateInput, build_report
from phqwatch.reports.monthly import DayEstimate, monthly_analysis
from phqwatch.safety.resources import crisis_resources
from phqwatch.server.api.views import alert_out, estimate_out, patient_out, questionnaire_out
from phqwatch.server.auth import Principal, Scope, check_patient_access, visible_patient_ids
from phqwatch.server.schemas import ConversationMessageOut
from phqwatch.server.services import estimate_point
from phqwatch.store import TextCipher, audit, estimates, messages, people, questionnaires
from phqwatch.store import report_tables as rt
from phqwatch.store.alerts import ACTIVE_STATUSES
from phqwatch.store.tables import (
    AdministeredQuestionnaire,
    Alert,
    CareTeam,
    Conversation,
    Estimate,
    MessageRow,
    Person,
)

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

SEVERITY_ORDER = ("urgent", "high", "warning", "info")
#: Columns the caseload reads from estimates (no item JSON, no encrypted evidence).
_ESTIMATE_COLUMNS = (
    "id", "patient_id", "status", "reason", "value", "interval_low", "interval_high", "band", "window_start",
    "window_end", "model_name", "model_version", "n_user_words", "n_messages", "items",
)  # fmt: skip
SORTS = ("priority", "estimate", "name", "activity", "administered")
#: Estimates per patient the caseload smooths for its trend arrow.
TREND_POINTS = 8


def _iso(d: datetime | date | None) -> str | None:
    return None if d is None else d.isoformat()


def _person_name(p: Person) -> str:
    return p.display_name or p.username or p.external_id or f"#{p.id}"


def _audit_read(s: Session, who: Principal, resource: str, patient_id: int | None, resource_id: Any = None) -> None:
    audit.record(
        s,
        actor_id=who.person_id,
        actor_role=who.role,
        action="read",
        resource=resource,
        resource_id=resource_id,
        patient_id=patient_id,
        organisation_id=who.organisation_id,
        ip=who.ip,
        details={"via": "page"},
    )


def estimate_dict(e: Any) -> dict[str, Any]:
    """A stored estimate (ORM or plain row) as the API's `EstimateOut`: one schema per resource, always with
    its basis (`kind` "estimate": never an administered score)."""
    return estimate_out(e).model_dump(mode="json")


def _patient(p: Person) -> dict[str, Any]:
    """A patient as the API's `PatientOut` (display_name falls back to the username or external id)."""
    return patient_out(p, _person_name(p)).model_dump(mode="json")


def _trend(rows: Sequence[Any]) -> dict[str, Any] | None:
    pts = [p for p in (estimate_point(e) for e in rows) if p is not None]
    if not pts:
        return None
    t = trend(smooth(pts))
    arrow = {"up": "\u2191", "down": "\u2193", "flat": "\u2192"}[t.direction]
    words = {"up": "estimates rising", "down": "estimates falling", "flat": "estimates stable"}[t.direction]
    return {
        "direction": t.direction,
        "arrow": arrow,
        "words": words,
        "change": round(t.change_over_window, 1),
        "window_days": t.window_days,
        "smoothed": round(t.current.value, 1),
    }


# ------------------------------------------------------------------------------------------------ caseload
def caseload(
    s: Session,
    who: Principal,
    *,
    sort: str = "priority",
    band: str | None = None,
    alerts_only: bool = False,
    q: str | None = None,
    page: int = 1,
    per_page: int = 100,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The clinician's patients with latest estimate, trend, open alerts, last activity and last PHQ-9.

    Sorting and filtering run over the whole caseload; `page`/`per_page` pick the rows returned.
    """
    if not 1 <= per_page <= 1000 or page < 1:
        raise InputError("page must be >= 1 and per_page 1-1000.", field="per_page")
    if who.role not in ("clinician", "admin"):
        raise PermissionDeniedError("Only clinicians and admins have a caseload.", fix="Open your own page.")
    if sort not in SORTS:
        raise InputError(f"sort={sort!r}; expected one of {', '.join(SORTS)}.", field="sort")
    if band and band not in phq9.BAND_NAMES:
        raise InputError(f"band={band!r}; expected one of {', '.join(phq9.BAND_NAMES)}.", field="band")
    now = now or datetime.now(UTC)
    ids = visible_patient_ids(s, who)
    patients = people.list_people(s, who.organisation_id, role="patient", ids=ids)
    pids = [p.id for p in patients]
    # the same set as a subquery: 1,000 bound literals per IN list cost more than the queries themselves
    if who.role == "clinician":
        pid_sel: Any = select(CareTeam.patient_id).where(CareTeam.clinician_id == who.person_id)
    else:
        pid_sel = select(Person.id).where(Person.organisation_id == who.organisation_id, Person.role == "patient")
    if not pids:
        return {"patients": [], "total": 0, "shown": 0, "page": 1, "pages": 1, "per_page": per_page, "sort": sort,
                "band": band, "alerts_only": alerts_only}  # fmt: skip

    recent = _recent_estimates(s, pid_sel, 1)  # the latest ok estimate of every patient (for sort and filter)

    alert_counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITY_ORDER, 0))
    top_alert: dict[int, str] = {}
    for pid, sev, kind, n in s.execute(
        select(Alert.patient_id, Alert.severity, Alert.kind, func.count(Alert.id))
        .where(Alert.patient_id.in_(pid_sel), Alert.status.in_(ACTIVE_STATUSES))
        .group_by(Alert.patient_id, Alert.severity, Alert.kind)
    ):
        alert_counts[pid][sev] = alert_counts[pid].get(sev, 0) + n
        prev = top_alert.get(pid)
        if prev is None or SEVERITY_ORDER.index(sev) < SEVERITY_ORDER.index(prev.split(":")[0]):
            top_alert[pid] = f"{sev}:{kind}"

    last_msg = dict(
        s.execute(
            select(MessageRow.person_id, func.max(MessageRow.sent_at))
            .where(MessageRow.person_id.in_(pid_sel), MessageRow.role == "user")
            .group_by(MessageRow.person_id)
        ).all()
    )
    last_q: dict[int, tuple[datetime, int]] = {}
    for q_row in s.scalars(
        select(AdministeredQuestionnaire)
        .where(AdministeredQuestionnaire.patient_id.in_(pid_sel))
        .order_by(AdministeredQuestionnaire.administered_at)
    ):
        last_q[q_row.patient_id] = (q_row.administered_at, q_row.total)

    rows: list[dict[str, Any]] = []
    for p in patients:
        ests = recent.get(p.id, [])
        latest = ests[-1] if ests else None
        counts = alert_counts.get(p.id, dict.fromkeys(SEVERITY_ORDER, 0))
        lm = last_msg.get(p.id)
        if lm is not None and lm.tzinfo is None:
            lm = lm.replace(tzinfo=UTC)
        lq = last_q.get(p.id)
        rows.append(
            {
                "id": p.id,
                "display_name": _person_name(p),
                "external_id": p.external_id,
                "estimate": None if latest is None else estimate_dict(latest),
                "trend": None,
                "alerts": counts,
                "open_alerts": sum(counts.values()),
                "top_alert": top_alert.get(p.id),
                "last_activity": _iso(lm),
                "last_administered": None
                if lq is None
                else {
                    "date": lq[0].date().isoformat(),
                    "total": lq[1],
                    "band": phq9.band(lq[1]),
                    "days_ago": (now - lq[0]).days,
                },
            }
        )
    total = len(rows)
    if band:
        rows = [r for r in rows if r["estimate"] and r["estimate"]["band"] == band]
    if alerts_only:
        rows = [r for r in rows if r["open_alerts"]]
    if q:
        needle = q.strip().casefold()
        rows = [
            r for r in rows if needle in r["display_name"].casefold() or needle in (r["external_id"] or "").casefold()
        ]
    rows.sort(key=_sort_key(sort))
    shown = len(rows)
    pages = max(1, -(-shown // per_page))
    page = min(page, pages)
    page_rows = rows[(page - 1) * per_page : page * per_page]
    # one audit row per patient shown (never a NULL-patient row for a read of health data)
    audit.record_reads(
        s, [r["id"] for r in page_rows], actor_id=who.person_id, actor_role=who.role, resource="caseload",
        organisation_id=who.organisation_id, ip=who.ip, details={"via": "page", "page": page},
    )  # fmt: skip
    # trend arrows only for the rows shown: no sort or filter depends on them
    series = _recent_estimates(s, [r["id"] for r in page_rows], TREND_POINTS)
    for r in page_rows:
        r["trend"] = _trend(series.get(r["id"], []))
    return {
        "patients": page_rows,
        "total": total,
        "shown": shown,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "sort": sort,
        "band": band,
        "alerts_only": alerts_only,
    }


def _recent_estimates(s: Session, pids: Any, n: int) -> dict[int, list[Any]]:
    """The newest `n` ok estimates of each patient (ids, or a select of ids), oldest first, as plain rows."""
    out: dict[int, list[Any]] = defaultdict(list)
    if isinstance(pids, list | tuple) and not pids:
        return out
    if isinstance(pids, list | tuple):
        pids = list(pids)
    rn = (
        func.row_number()
        .over(partition_by=Estimate.patient_id, order_by=(Estimate.window_end.desc(), Estimate.id.desc()))
        .label("rn")
    )
    sub = select(Estimate.id, rn).where(Estimate.patient_id.in_(pids), Estimate.status == "ok").subquery()
    cols = [Estimate.__table__.c[c] for c in _ESTIMATE_COLUMNS]
    q = select(*cols).join(sub, sub.c.id == Estimate.id).where(sub.c.rn <= n).order_by(Estimate.window_end)
    for e in s.execute(q):  # plain rows: no ORM objects, no JSON or blob columns
        out[e.patient_id].append(e)
    return out


def _sort_key(sort: str) -> Callable[[dict[str, Any]], SupportsRichComparison]:
    def est(r: dict[str, Any]) -> float:
        return -(r["estimate"]["value"] if r["estimate"] and r["estimate"]["value"] is not None else -1.0)

    if sort == "priority":
        return lambda r: (tuple(-r["alerts"][k] for k in SEVERITY_ORDER), est(r), r["display_name"])
    if sort == "estimate":
        return lambda r: (est(r), r["display_name"])
    if sort == "name":
        return lambda r: r["display_name"].casefold()
    if sort == "activity":
        return lambda r: (r["last_activity"] is None, _neg_iso(r["last_activity"]), r["display_name"])
    # administered: longest since the last PHQ-9 first (never administered first of all)
    return lambda r: (
        r["last_administered"] is not None,
        r["last_administered"]["date"] if r["last_administered"] else "",
    )


def _neg_iso(s: str | None) -> tuple[int, ...]:
    if s is None:
        return ()
    return tuple(-ord(c) for c in s)


# ------------------------------------------------------------------------------------------- patient page
def _conversations(s: Session, patient_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the patient's own conversations, family members' conversations), each newest first, without text."""
    q = (
        select(
            Conversation.id,
            Conversation.external_id,
            Conversation.person_id,
            func.count(MessageRow.id),
            func.min(MessageRow.sent_at),
            func.max(MessageRow.sent_at),
            func.sum(MessageRow.n_words),
        )
        .join(MessageRow, MessageRow.conversation_id == Conversation.id)
        .where(Conversation.patient_id == patient_id)
        .group_by(Conversation.id, Conversation.external_id, Conversation.person_id)
    )
    own: list[dict[str, Any]] = []
    family: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    for cid, ext, person_id, n, first, last, words in s.execute(q):
        d: dict[str, Any] = {
            "id": cid,
            "external_id": ext,
            "person_id": person_id,
            "messages": n,
            "words": int(words or 0),
            "started": _iso(first),
            "last": _iso(last),
        }
        if person_id == patient_id:
            own.append(d)
        else:
            if person_id not in names:
                person = s.get(Person, person_id)
                names[person_id] = _person_name(person) if person is not None else f"#{person_id}"
            d["person"] = names[person_id]
            family.append(d)
    own.sort(key=lambda d: d["started"] or "", reverse=True)
    family.sort(key=lambda d: d["started"] or "", reverse=True)
    return own, family


def timeline(s: Session, patient_id: int, *, cipher: TextCipher | None = None) -> dict[str, Any]:
    """Estimates (with intervals and a two-sided smoothed line), administered PHQ-9s and (given the cipher, for
    clinicians) alerts for a chart; each resource in the API's schema."""
    rows = estimates.list_estimates(s, patient_id)
    ok = [e for e in rows if e.status == "ok" and e.value is not None]
    pts = [p for p in (estimate_point(e) for e in ok) if p is not None]
    smoothed = smooth(pts, causal=False) if pts else []
    out: dict[str, Any] = {
        "label": "estimated",
        "band_lines": list(phq9.BAND_LINES),
        "estimates": [estimate_dict(e) for e in ok],
        "abstained": [estimate_dict(e) for e in rows if e.status != "ok"],
        "smoothed": [
            {"when": _iso(p.when), "value": round(p.value, 2), "low": round(p.low, 2), "high": round(p.high, 2)}
            for p in smoothed
        ],
        "administered": [
            questionnaire_out(q).model_dump(mode="json") for q in questionnaires.list_questionnaires(s, patient_id)
        ],
        "trend": _trend(ok[-TREND_POINTS:]),
    }
    if cipher is not None:
        out["alerts"] = [
            alert_out(a, cipher).model_dump(mode="json")
            for a in s.scalars(select(Alert).where(Alert.patient_id == patient_id).order_by(Alert.created_at, Alert.id))
        ]
    return out


def patient_page(s: Session, cipher: TextCipher, who: Principal, patient_id: int) -> dict[str, Any]:
    """Everything on the clinician's patient page."""
    if who.role not in ("clinician", "admin"):
        raise PermissionDeniedError("Only the patient's clinicians open this page.", fix="Open your own page.")
    patient = check_patient_access(s, who, patient_id, "clinical")
    own, family = _conversations(s, patient_id)
    tl = timeline(s, patient_id, cipher=cipher)
    open_alerts = [a for a in tl["alerts"] if a["status"] in ACTIVE_STATUSES]
    open_alerts.sort(key=lambda a: SEVERITY_ORDER.index(a["severity"]) if a["severity"] in SEVERITY_ORDER else 9)
    latest = estimates.latest_estimate(s, patient_id, status=None)
    _audit_read(s, who, "patient_page", patient_id, patient_id)
    return {
        "patient": _patient(patient),
        "latest_estimate": None if latest is None else estimate_dict(latest),
        "timeline": tl,
        "open_alerts": open_alerts,
        "conversations": own,
        "family_conversations": family,
        "report": report_summary(s, cipher, who, patient_id),
    }


def conversation(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, conversation_id: int
) -> dict[str, Any]:
    """One conversation's messages. Family members never; a patient only their own conversations."""
    check_patient_access(s, who, patient_id, "clinical")
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.patient_id != patient_id:
        raise NotFoundError(f"No conversation {conversation_id} for this patient.", fix="Open the patient's page.")
    if who.role == "patient" and conv.person_id != who.person_id:
        raise PermissionDeniedError("A patient sees only their own conversations.")
    rows = s.scalars(
        select(MessageRow).where(MessageRow.conversation_id == conv.id).order_by(MessageRow.sent_at, MessageRow.id)
    )
    msgs = [
        ConversationMessageOut(
            id=r.id,
            role="assistant" if r.role == "assistant" else "user",  # the roles ingestion accepts
            text=cipher.decrypt(r.text_enc),
            timestamp=r.sent_at,
            message_id=r.external_message_id,
            person_id=r.person_id,
            crisis_flag=bool(r.crisis_flag),
        ).model_dump(mode="json")
        for r in rows
    ]
    speaker = s.get(Person, conv.person_id)
    _audit_read(s, who, "conversation", patient_id, conv.id)
    return {
        "patient_id": patient_id,
        "conversation": {
            "id": conv.id,
            "external_id": conv.external_id,
            "by": "patient" if conv.person_id == patient_id else "family",
            "person": _person_name(speaker) if speaker else None,
        },
        "messages": msgs,
    }


def monthly(
    s: Session, who: Principal, patient_id: int, month: str | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """The monthly analysis for `month` ('YYYY-MM'; default: the month of the latest activity)."""
    patient = check_patient_access(s, who, patient_id, "clinical")
    now = now or datetime.now(UTC)
    if month:
        try:
            y, m = (int(x) for x in month.split("-"))
            date(y, m, 1)
            if not 1900 <= y <= 9998:  # the month, its neighbours and the 15-day lead-in stay representable
                raise ValueError(month)
        except ValueError:
            raise InputError(
                f"month={month[:20]!r}; expected YYYY-MM from 1900-01 to 9998-12, e.g. 2026-03.", field="month"
            ) from None
    else:
        last = messages.last_message_at(s, patient_id) or now
        y, m = last.year, last.month
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    turns: dict[date, int] = defaultdict(int)
    for (sent,) in s.execute(
        select(MessageRow.sent_at).where(
            MessageRow.person_id == patient_id,
            MessageRow.role == "user",
            MessageRow.sent_at >= start,
            MessageRow.sent_at < end,
        )
    ):
        turns[sent.date()] += 1
    ests = [
        DayEstimate(e.window_end, e.value)
        for e in estimates.list_estimates(s, patient_id, since=start - timedelta(days=15), until=end, status="ok")
        if e.value is not None
    ]
    result = monthly_analysis(y, m, turns, ests, today=now.date())
    prev_m = (y - (m == 1), 12 if m == 1 else m - 1)
    next_m = (y + (m == 12), 1 if m == 12 else m + 1)
    result["prev"] = f"{prev_m[0]:04d}-{prev_m[1]:02d}"
    result["next"] = f"{next_m[0]:04d}-{next_m[1]:02d}"
    result["patient"] = _patient(patient)
    _audit_read(s, who, "monthly", patient_id, f"{y:04d}-{m:02d}")
    return result


# ------------------------------------------------------------------------------------------------ reports
def load_history(s: Session, cipher: TextCipher, report_id: int) -> review.ReportHistory:
    return review.ReportHistory(
        [
            review.ReportVersion(r.number, r.kind, content, r.author_id, r.author_name, r.created_at, r.note)
            for r, content in rt.versions(s, cipher, report_id)
        ]
    )


def _report_view(report: rt.Report, hist: review.ReportHistory, who: Principal) -> dict[str, Any] | None:
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
        "released_at": _iso(report.released_at),
    }
    if who.role in review.EDITOR_ROLES:
        out["versions"] = [v.as_dict(with_content=False) for v in hist.versions]
        out["original_summary"] = hist.original.content.get("summary")
        out["changed_since_draft"] = review.changed_fields(hist.original.content, hist.latest.content)
    return out


def report_summary(s: Session, cipher: TextCipher, who: Principal, patient_id: int) -> dict[str, Any] | None:
    """The newest report this caller may see (editors: any; patient/family: the newest released one)."""
    released_only = who.role not in review.EDITOR_ROLES
    for report in rt.list_reports(s, patient_id, released_only=released_only):
        view = _report_view(report, load_history(s, cipher, report.id), who)
        if view is not None:
            return view
    return None


def report_detail(s: Session, cipher: TextCipher, who: Principal, patient_id: int, report_id: int) -> dict[str, Any]:
    scope: Scope = "clinical" if who.role in review.EDITOR_ROLES else "released"
    check_patient_access(s, who, patient_id, scope)
    report = rt.get_report(s, report_id, patient_id=patient_id)
    view = _report_view(report, load_history(s, cipher, report.id), who)
    if view is None:
        raise NotFoundError(f"Report {report_id} has no released version yet.", fix="Ask the care team.")
    _audit_read(s, who, "report", patient_id, report_id)
    return view


class _ReportInputs(TypedDict):
    """What a report is drafted from besides the estimate (`build_report`'s keyword arguments)."""

    conversations: dict[str, str]
    family: dict[str, str]
    administered: list[AdministeredScore]
    patient_label: str
    crisis_text: str
    now: datetime


def draft_report(
    s: Session, cipher: TextCipher, who: Principal, patient_id: int, *, settings: Any, now: datetime | None = None
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
    est = EstimateInput(
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
    convs: dict[str, list[str]] = defaultdict(list)
    ext_to_id = dict(
        s.execute(select(Conversation.external_id, Conversation.id).where(Conversation.person_id == patient_id)).all()
    )
    for m in messages.patient_messages(
        s, cipher, patient_id, since=row.window_start, until=row.window_end, roles=("user",)
    ):
        convs[str(ext_to_id.get(m.conversation_id, m.conversation_id))].append(m.text)
    texts = {cid: "\n".join(t) for cid, t in convs.items()}
    family_convs: dict[str, list[str]] = defaultdict(list)
    for m in messages.patient_messages(
        s, cipher, patient_id, since=row.window_start, until=row.window_end, roles=("user",), patient_only=False
    ):
        if not m.by_patient:
            family_convs[m.conversation_id].append(m.text)
    admin = [
        AdministeredScore(q.administered_at, q.total, q.items)
        for q in questionnaires.list_questionnaires(s, patient_id)
    ]
    kwargs: _ReportInputs = {
        "conversations": texts,
        "family": {cid: "\n".join(t) for cid, t in family_convs.items()},
        "administered": admin,
        "patient_label": _person_name(patient),
        "crisis_text": crisis_resources(settings.crisis_locale, settings.crisis_text),
        "now": now,
    }
    if getattr(settings, "teacher_base_url", None):
        from phqwatch.reports.llm_draft import draft_with_fallback

        content = draft_with_fallback(est, settings=settings, **kwargs)
    else:
        content = build_report(est, **kwargs)
    report = rt.create_report(
        s, organisation_id=patient.organisation_id, patient_id=patient_id, estimate_id=row.id, at=now
    )
    hist = review.start(content, author_id=None, author_name=f"phqwatch ({content['generator']['kind']})", at=now)
    v = hist.latest
    _save_version(s, cipher, report, v, status="draft", note="machine draft")
    _audit_write(s, who, "create", report.id, patient_id, {"version": 1, "kind": "draft"})
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


def _audit_write(s: Session, who: Principal, action: str, report_id: int, patient_id: int, details: dict) -> None:
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
    return _person_name(p) if p else (who.username or str(who.person_id))


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
    check_patient_access(s, who, patient_id, "clinical")
    report = rt.get_report(s, report_id, patient_id=patient_id)
    hist = load_history(s, cipher, report.id)
    v = review.edit(hist, edits, role=who.role, author_id=who.person_id, author_name=_author(s, who), note=note, at=now)
    _save_version(s, cipher, report, v, status=hist.status)
    _audit_write(
        s,
        who,
        "update",
        report.id,
        patient_id,
        {"version": v.number, "kind": "edit", "fields": review.changed_fields(hist.versions[-2].content, v.content)},
    )
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
    check_patient_access(s, who, patient_id, "clinical")
    report = rt.get_report(s, report_id, patient_id=patient_id)
    hist = load_history(s, cipher, report.id)
    v = review.release(hist, role=who.role, author_id=who.person_id, author_name=_author(s, who), note=note, at=now)
    _save_version(s, cipher, report, v, status="released")
    _audit_write(s, who, "update", report.id, patient_id, {"version": v.number, "kind": "release"})
    return v


# ------------------------------------------------------------------------------------ patient and family
def my_page(s: Session, cipher: TextCipher, who: Principal) -> dict[str, Any]:
    """A patient's own view: released reports (patient projection) and their estimate trend."""
    if who.role != "patient":
        raise PermissionDeniedError("This page is for patients.", fix="Open your own start page.")
    patient = check_patient_access(s, who, who.person_id, "clinical")
    reports = []
    for r in rt.list_reports(s, patient.id, released_only=True):
        view = _report_view(r, load_history(s, cipher, r.id), who)
        if view is not None:
            reports.append(view)
    tl = timeline(s, patient.id)
    _audit_read(s, who, "patient_view", patient.id, patient.id)
    return {"patient": _patient(patient), "reports": reports, "timeline": tl}


def family_page(s: Session, cipher: TextCipher, who: Principal) -> dict[str, Any]:
    """A family member's view: the linked patient's latest released report (family projection) only."""
    if who.role != "family":
        raise PermissionDeniedError("This page is for family members.", fix="Open your own start page.")
    if who.linked_patient_id is None:
        raise NotFoundError("Your account is not linked to a patient.", fix="Ask the care team to link it.")
    patient = check_patient_access(s, who, who.linked_patient_id, "released")
    report = report_summary(s, cipher, who, patient.id)
    _audit_read(s, who, "family_view", patient.id, None if report is None else report["id"])
    return {"patient": _patient(patient), "report": report}
