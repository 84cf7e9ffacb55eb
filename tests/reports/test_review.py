"""Review workflow: draft -> edits -> release, and what each role sees."""

from __future__ import annotations

import pytest

from phqwatch.errors import InputError, PermissionDeniedError
from phqwatch.reports import review
from phqwatch.reports.assistive import build_report

from .conftest import NOW


@pytest.fixture
def history(estimate, conversations):
    return review.start(
        build_report(estimate, conversations=conversations, now=NOW), author_id=None, author_name="phqwatch", at=NOW
    )


def test_edit_then_release_keeps_the_original_draft(history):
    original = history.original.content["summary"]
    v2 = review.edit(
        history,
        {"summary": "Reviewed: moderate picture.", "family_advice": "Be there.\n\nCall us."},
        role="clinician",
        author_id=7,
        author_name="dr-lee",
        at=NOW,
    )
    assert v2.number == 2 and v2.kind == "edit" and v2.author_name == "dr-lee"
    assert v2.content["family_advice"] == ["Be there.", "Call us."]
    assert history.status == "edited" and history.released is None
    v3 = review.release(history, role="clinician", author_id=7, author_name="dr-lee", at=NOW)
    assert history.status == "released" and history.released is v3
    assert v3.content["summary"] == "Reviewed: moderate picture."
    assert history.original.content["summary"] == original  # never changed
    assert review.changed_fields(history.original.content, v3.content) == ["summary", "family_advice"]


def test_only_editable_fields_and_only_editors(history):
    with pytest.raises(InputError, match="cannot be edited"):
        review.edit(history, {"estimate": {"value": 1}}, role="clinician", author_id=1, author_name="x")
    for role in ("patient", "family", "service"):
        with pytest.raises(PermissionDeniedError):
            review.edit(history, {"summary": "x"}, role=role, author_id=1, author_name="x")
        with pytest.raises(PermissionDeniedError):
            review.release(history, role=role, author_id=1, author_name="x")
    with pytest.raises(InputError, match="changes nothing"):
        review.edit(
            history, {"summary": history.latest.content["summary"]}, role="clinician", author_id=1, author_name="x"
        )


def test_release_twice_is_refused(history):
    review.release(history, role="clinician", author_id=1, author_name="x")
    with pytest.raises(InputError, match="already released"):
        review.release(history, role="clinician", author_id=1, author_name="x")


def test_patients_and_family_see_only_released_versions(history):
    assert review.view_for(history, "patient") is None
    assert review.view_for(history, "family") is None
    review.edit(
        history,
        {"summary": "Released text.", "clinician_note": "private"},
        role="clinician",
        author_id=1,
        author_name="x",
    )
    review.release(history, role="clinician", author_id=1, author_name="x")
    review.edit(history, {"summary": "Unreleased newer text."}, role="clinician", author_id=1, author_name="x")
    v, fam = review.view_for(history, "family")
    assert v.kind == "release" and "summary" not in fam  # family: care advice only, never the summary
    assert "items" not in fam and "clinician_note" not in fam
    assert "conversation_id" not in str(fam) and "quotes" not in str(fam)
    assert fam["estimate"]["label"] == "estimated" and "not an administered PHQ-9" in fam["basis"]
    _, pat = review.view_for(history, "patient")
    assert pat["summary"] == "Released text." and "clinician_note" not in pat and pat["items"]
    v, clin = review.view_for(history, "clinician")
    assert clin["summary"] == "Unreleased newer text." and v.kind == "edit"
    with pytest.raises(PermissionDeniedError):
        review.project(clin, "service")
