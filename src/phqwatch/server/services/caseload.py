"""The patients a caller may see (the API's patient list and the clinician's caseload read the same set),
and the caseload: latest estimate, trend, open alerts, last activity and last administered PHQ-9 per patient,
sorted and filtered over the whole caseload, one page at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phqwatch import phq9
from phqwatch.errors import InputError, PermissionDeniedError
from phqwatch.monitoring.change import trend
from phqwatch.monitoring.smoothing import smooth
from phqwatch.server.api.views import estimate_out, person_name
from phqwatch.server.auth import Principal, visible_patient_ids
from phqwatch.server.services.estimation import estimate_point
from phqwatch.server.services.read_audit import record_read
from phqwatch.store import people
from phqwatch.store.alerts import ACTIVE_STATUSES
from phqwatch.store.tables import AdministeredQuestionnaire, Alert, CareTeam, Estimate, MessageRow, Person

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

#: Alert severities, most urgent first (the caseload's priority order).
SEVERITY_ORDER = ("urgent", "high", "warning", "info")
SORTS = ("priority", "estimate", "name", "activity", "administered")
#: Estimates per patient the caseload smooths for its trend arrow.
TREND_POINTS = 8
#: Columns the caseload reads from estimates (no item JSON, no encrypted evidence).
ESTIMATE_COLUMNS = (
    "id", "patient_id", "status", "reason", "value", "interval_low", "interval_high", "band", "window_start",
    "window_end", "model_name", "model_version", "n_user_words", "n_messages", "items",
)  # fmt: skip


def visible_patients(s: Session, who: Principal) -> list[Person]:
    """The patients `who` may see: a clinician's care team, an admin's organisation, a patient themself."""
    return people.list_people(s, who.organisation_id, role="patient", ids=visible_patient_ids(s, who))


def trend_summary(rows: Sequence[Any]) -> dict[str, Any] | None:
    """The smoothed trend of these estimates (oldest first) as an arrow, words and the change; None if none."""
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
    """The clinician's patients with latest estimate (the API's `EstimateOut`), trend, open alerts, last
    activity and last PHQ-9. Sorting and filtering run over the whole caseload; `page`/`per_page` pick the
    rows returned, and each row returned is audited (one read row per patient shown)."""
    if not 1 <= per_page <= 1000 or page < 1:
        raise InputError("page must be >= 1 and per_page 1-1000.", field="per_page")
    if who.role not in ("clinician", "admin"):
        raise PermissionDeniedError("Only clinicians and admins have a caseload.", fix="Open your own page.")
    if sort not in SORTS:
        raise InputError(f"sort={sort!r}; expected one of {', '.join(SORTS)}.", field="sort")
    if band and band not in phq9.BAND_NAMES:
        raise InputError(f"band={band!r}; expected one of {', '.join(phq9.BAND_NAMES)}.", field="band")
    now = now or datetime.now(UTC)
    patients = visible_patients(s, who)
    if not patients:
        return {"patients": [], "total": 0, "shown": 0, "page": 1, "pages": 1, "per_page": per_page, "sort": sort,
                "band": band, "alerts_only": alerts_only}  # fmt: skip
    # the same set as a subquery: 1,000 bound literals per IN list cost more than the queries themselves
    if who.role == "clinician":
        pid_sel: Any = select(CareTeam.patient_id).where(CareTeam.clinician_id == who.person_id)
    else:
        pid_sel = select(Person.id).where(Person.organisation_id == who.organisation_id, Person.role == "patient")

    recent = recent_estimates(s, pid_sel, 1)  # the latest ok estimate of every patient (for sort and filter)
    alert_counts, top_alert = _open_alerts(s, pid_sel)
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
        counts = alert_counts.get(p.id, dict.fromkeys(SEVERITY_ORDER, 0))
        lm = last_msg.get(p.id)
        if lm is not None and lm.tzinfo is None:
            lm = lm.replace(tzinfo=UTC)
        lq = last_q.get(p.id)
        rows.append(
            {
                "id": p.id,
                "display_name": person_name(p),
                "external_id": p.external_id,
                "estimate": estimate_out(ests[-1]).model_dump(mode="json") if ests else None,
                "trend": None,
                "alerts": counts,
                "open_alerts": sum(counts.values()),
                "top_alert": top_alert.get(p.id),
                "last_activity": None if lm is None else lm.isoformat(),
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
    record_read(s, who, "caseload", [r["id"] for r in page_rows], details={"via": "page", "page": page})
    # trend arrows only for the rows shown: no sort or filter depends on them
    series = recent_estimates(s, [r["id"] for r in page_rows], TREND_POINTS)
    for r in page_rows:
        r["trend"] = trend_summary(series.get(r["id"], []))
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


def _open_alerts(s: Session, pid_sel: Any) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    """(open alerts per patient and severity, each patient's most urgent "severity:kind")."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITY_ORDER, 0))
    top: dict[int, str] = {}
    for pid, sev, kind, n in s.execute(
        select(Alert.patient_id, Alert.severity, Alert.kind, func.count(Alert.id))
        .where(Alert.patient_id.in_(pid_sel), Alert.status.in_(ACTIVE_STATUSES))
        .group_by(Alert.patient_id, Alert.severity, Alert.kind)
    ):
        counts[pid][sev] = counts[pid].get(sev, 0) + n
        prev = top.get(pid)
        if prev is None or SEVERITY_ORDER.index(sev) < SEVERITY_ORDER.index(prev.split(":")[0]):
            top[pid] = f"{sev}:{kind}"
    return counts, top


def recent_estimates(s: Session, pids: Any, n: int) -> dict[int, list[Any]]:
    """The newest `n` ok estimates of each patient (ids, or a select of ids), oldest first, as plain rows."""
    out: dict[int, list[Any]] = defaultdict(list)
    if isinstance(pids, list | tuple):
        if not pids:
            return out
        pids = list(pids)
    rn = (
        func.row_number()
        .over(partition_by=Estimate.patient_id, order_by=(Estimate.window_end.desc(), Estimate.id.desc()))
        .label("rn")
    )
    sub = select(Estimate.id, rn).where(Estimate.patient_id.in_(pids), Estimate.status == "ok").subquery()
    cols = [Estimate.__table__.c[c] for c in ESTIMATE_COLUMNS]
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
