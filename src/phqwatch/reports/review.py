"""Review workflow, pure logic: draft -> clinician edits -> release; versioned, the original draft kept.

A report's history is an append-only list of versions. Version 1 is the machine draft and is never
changed; every edit and every release appends a version recording who and when. Patients and family see
only the latest *released* version, each through a projection that keeps what is theirs to see (family
members never see the patient's quotes or conversation links).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from phqwatch.errors import InputError, PermissionDeniedError
from phqwatch.reports.assistive import EDITABLE_FIELDS, LIST_FIELDS

KINDS = ("draft", "edit", "release")
EDITOR_ROLES = frozenset({"clinician", "admin"})
#: Longest text a clinician may put into one editable field (characters).
MAX_FIELD_CHARS = 20_000


@dataclass(frozen=True)
class ReportVersion:
    """One immutable version: the full report content plus who made it, when and why."""

    number: int
    kind: str
    content: dict[str, Any]
    author_id: int | None
    author_name: str
    at: datetime
    note: str | None = None

    def as_dict(self, *, with_content: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "number": self.number,
            "kind": self.kind,
            "author_id": self.author_id,
            "author": self.author_name,
            "at": self.at.isoformat(),
            "note": self.note,
        }
        if with_content:
            d["content"] = self.content
        return d


@dataclass
class ReportHistory:
    """All versions of one report, oldest first."""

    versions: list[ReportVersion] = field(default_factory=list)

    @property
    def original(self) -> ReportVersion:
        return self.versions[0]

    @property
    def latest(self) -> ReportVersion:
        return self.versions[-1]

    @property
    def released(self) -> ReportVersion | None:
        """The latest released version, or None."""
        return next((v for v in reversed(self.versions) if v.kind == "release"), None)

    @property
    def status(self) -> str:
        """'draft' (never edited), 'edited' (edits not yet released) or 'released' (latest is released)."""
        if self.latest.kind == "release":
            return "released"
        return "edited" if len(self.versions) > 1 else "draft"


def _now(at: datetime | None) -> datetime:
    return at or datetime.now(UTC)


def _check_editor(role: str, action: str) -> None:
    if role not in EDITOR_ROLES:
        raise PermissionDeniedError(
            f"A {role} may not {action} a report; only clinicians (and admins) may.",
            fix="Sign in as the patient's clinician.",
        )


def start(
    content: Mapping[str, Any], *, author_id: int | None, author_name: str, at: datetime | None = None
) -> ReportHistory:
    """A new history whose version 1 is the machine draft `content`."""
    return ReportHistory([ReportVersion(1, "draft", copy.deepcopy(dict(content)), author_id, author_name, _now(at))])


def clean_edits(edits: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a clinician's edits: only EDITABLE_FIELDS; list fields from a list or one item per line."""
    out: dict[str, Any] = {}
    for key, value in edits.items():
        if key not in EDITABLE_FIELDS:
            raise InputError(
                f"'{key}' cannot be edited; editable fields are {', '.join(EDITABLE_FIELDS)}.",
                field=key,
                fix="Estimates, quotes and criteria come from the draft and stay as they are.",
            )
        if key in LIST_FIELDS:
            lines = value.splitlines() if isinstance(value, str) else list(value or [])
            items = [str(x).strip() for x in lines if str(x).strip()]
            if sum(len(x) for x in items) > MAX_FIELD_CHARS:
                raise InputError(f"'{key}' is longer than {MAX_FIELD_CHARS} characters.", field=key)
            out[key] = items
        else:
            text = "" if value is None else str(value).strip()
            if len(text) > MAX_FIELD_CHARS:
                raise InputError(f"'{key}' is longer than {MAX_FIELD_CHARS} characters.", field=key)
            out[key] = text
    return out


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Editable fields whose value differs between two contents."""
    return [k for k in EDITABLE_FIELDS if before.get(k) != after.get(k)]


def edit(
    history: ReportHistory,
    edits: Mapping[str, Any],
    *,
    role: str,
    author_id: int | None,
    author_name: str,
    note: str | None = None,
    at: datetime | None = None,
) -> ReportVersion:
    """Append an edited version (clinicians only). Raises InputError when nothing changes."""
    _check_editor(role, "edit")
    cleaned = clean_edits(edits)
    content = copy.deepcopy(history.latest.content)
    content.update(cleaned)
    if not changed_fields(history.latest.content, content):
        raise InputError("The edit changes nothing.", fix="Change the summary, a note or the advice first.")
    v = ReportVersion(len(history.versions) + 1, "edit", content, author_id, author_name, _now(at), note)
    history.versions.append(v)
    return v


def release(
    history: ReportHistory,
    *,
    role: str,
    author_id: int | None,
    author_name: str,
    note: str | None = None,
    at: datetime | None = None,
) -> ReportVersion:
    """Append a released copy of the latest version (clinicians only). Re-releasing unchanged text is refused."""
    _check_editor(role, "release")
    if history.latest.kind == "release":
        raise InputError("The latest version is already released.", fix="Edit the report before releasing again.")
    content = copy.deepcopy(history.latest.content)
    v = ReportVersion(len(history.versions) + 1, "release", content, author_id, author_name, _now(at), note)
    history.versions.append(v)
    return v


#: Family members get only what was written for them (care advice) and the crisis line: never the summary
#: (drafted for clinicians, it may carry the item-9 risk line), quotes, item scores or risk wording.
_FAMILY_KEYS = ("schema", "patient", "family_advice", "crisis_line", "generated_at")
#: Patients never see what their family wrote (family chats never reach the patient) nor the private note.
_PATIENT_DROP = ("clinician_note", "llm_claims", "family_observations")


def project(content: Mapping[str, Any], audience: str) -> dict[str, Any]:
    """What `audience` may read of a released content.

    clinician/admin: everything. patient: everything but the clinician's private note. family: the
    estimate (with its label and basis), the care advice written for them and the crisis line; never the
    summary, quotes, items, risk wording or conversation links.
    """
    if audience in EDITOR_ROLES:
        return copy.deepcopy(dict(content))
    if audience == "patient":
        return {k: copy.deepcopy(v) for k, v in content.items() if k not in _PATIENT_DROP}
    if audience == "family":
        out = {k: copy.deepcopy(content[k]) for k in _FAMILY_KEYS if k in content}
        est = content.get("estimate") or {}
        out["estimate"] = {k: est.get(k) for k in ("label", "value", "low", "high", "band", "status")}
        out["basis"] = (
            "Estimated from the patient's conversations by a model and reviewed by their clinician; "
            "not an administered PHQ-9."
        )
        return out
    raise PermissionDeniedError(f"A {audience} may not read reports.", fix="Sign in as a person in this care team.")


def view_for(history: ReportHistory, role: str) -> tuple[ReportVersion, dict[str, Any]] | None:
    """(version, projected content) that `role` sees: editors the latest, others the latest released."""
    v: ReportVersion | None
    if role in EDITOR_ROLES:
        v = history.latest
    else:
        v = history.released
        if v is None:
            return None
    return v, project(v.content, role)
