"""The deterministic assistive report."""

from __future__ import annotations

from datetime import date

import pytest

from phqwatch.errors import InputError
from phqwatch.models.base import UserEstimate
from phqwatch.reports.assistive import AdministeredScore, EstimateInput, build_report, link_quotes

from .conftest import NOW


def test_report_links_verified_quotes_and_drops_invented_ones(estimate, conversations, administered):
    r = build_report(estimate, conversations=conversations, administered=administered, now=NOW)
    items = {f["number"]: f for f in r["items"]}
    assert [q["conversation_id"] for q in items[3]["quotes"]] == ["c-1"]
    # the second item-6 "quote" is in no conversation: dropped and counted, never shown
    assert [q["text"] for q in items[6]["quotes"]] == ["I'm such a failure, I let everyone down."]
    assert r["coverage"] == {"items_with_quotes": 4, "quotes_dropped": 1}
    assert any("could not be found" in lim for lim in r["limitations"])
    assert all(q["verified"] for f in r["items"] for q in f["quotes"])


def test_report_maps_items_to_retrieved_criteria(estimate, conversations):
    r = build_report(estimate, conversations=conversations, now=NOW)
    items = {f["number"]: f for f in r["items"]}
    assert items[3]["criteria"][0]["id"] == "C4" and items[3]["criteria"][0]["linked_to_item"]
    assert items[6]["criteria"][0]["id"] == "C7"
    assert items[9]["criteria"][0]["id"] == "C9"
    assert items[1]["criteria"] == [] and "No quote found" in items[1]["note"]
    assert items[1]["linked_criterion"]["id"] == "C2"


def test_every_number_is_labelled_and_has_a_basis(estimate, conversations, administered):
    r = build_report(estimate, conversations=conversations, administered=administered, now=NOW)
    assert r["estimate"]["label"] == "estimated"
    assert "not an administered PHQ-9" in r["basis"] and "620 words" in r["basis"] and "lexical@1.0" in r["basis"]
    assert "Estimated PHQ-9 14.2 (interval 10.1-18.3)" in r["summary"]
    assert "not a score" in r["summary"]
    assert "Last administered PHQ-9: 12 (moderate) on 2026-02-01" in r["summary"]


def test_safety_flag_and_crisis_line(estimate, conversations):
    r = build_report(estimate, conversations=conversations, now=NOW, crisis_text="Call 988 now.")
    assert r["safety_flag"] is True
    assert "assess suicide risk" in r["summary"]
    assert r["crisis_line"] == "Call 988 now."
    assert any("crisis line" in a for a in r["family_advice"])


def test_limitations_cover_coverage_volume_and_stale_administration(conversations):
    est = EstimateInput(6.0, 2.0, 10.0, "mild", 120, "m@1", items=[0.5] * 9, evidence={})
    r = build_report(est, conversations=conversations, administered=[AdministeredScore(date(2025, 12, 1), 7)], now=NOW)
    lims = " ".join(r["limitations"])
    assert "not an administered PHQ-9" in lims
    assert "Quotes were found for 0 of 9 items" in lims
    assert "Low text volume: only 120 words" in lims
    assert "more than 30 days ago" in lims
    assert r["safety_flag"] is True  # item 9 estimated at 0.5
    assert any("behavioural activation" in n for n in r["patient_notes"])


def test_abstained_estimate_says_so(conversations):
    est = EstimateInput(None, None, None, None, 12, "m@1", status="abstained", reason="too little text: 12 user words")
    r = build_report(est, conversations=conversations, now=NOW)
    assert r["summary"].startswith("No estimate: too little text")
    assert r["estimate"]["value"] is None
    assert any("No administered PHQ-9 is on record" in x for x in r["limitations"])


def test_from_user_estimate_round_trip(conversations):
    ue = UserEstimate(
        "u1",
        11.0,
        "moderate",
        7.0,
        15.0,
        500,
        "lexical@1",
        items=[1.0] * 9,
        evidence={2: ["I feel so empty and sad most of the time."]},
    )
    r = build_report(EstimateInput.from_user_estimate(ue), conversations=conversations, now=NOW)
    assert r["items"][1]["quotes"][0]["conversation_id"] == "c-2"


def test_quotes_without_conversations_are_unverified():
    quotes, dropped = link_quotes({2: ["a", "a", " "]}, None)
    assert dropped == 0 and [q.verified for q in quotes[2]] == [False]


def test_bad_estimate_is_refused():
    with pytest.raises(InputError):
        build_report(EstimateInput(30.0, None, None, None, 100, "m"), now=NOW)
    with pytest.raises(InputError):
        build_report(EstimateInput(3.0, None, None, "minimal", 100, "m", items=[1.0]), now=NOW)
