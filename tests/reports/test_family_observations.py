"""Family members' conversations feed only the clinicians' "family observations" section of a report."""

from __future__ import annotations

from phqwatch.reports.assistive import EstimateInput, build_report, family_observations
from phqwatch.reports.review import project

FAMILY = {
    "fam-1": "She has barely slept this week, I hear her up at 3am. She has lost her appetite and is barely eating. "
    "The weather was nice on Sunday.",
}


def _report() -> dict:
    est = EstimateInput(value=12.0, interval_low=9.0, interval_high=15.0, band="moderate", n_user_words=400, model="m")
    return build_report(est, conversations={"c1": "I have been tired."}, family=FAMILY)


def test_family_sentences_are_grouped_by_domain() -> None:
    obs = family_observations(FAMILY)
    by_item = {o["number"]: o["text"] for o in obs}
    assert "3am" in by_item.get(3, "")  # sleep
    assert "appetite" in by_item.get(5, "")  # appetite
    assert all("weather" not in o["text"] for o in obs)
    assert all(o["conversation_id"] == "fam-1" for o in obs)


def test_only_clinicians_see_what_the_family_wrote() -> None:
    content = _report()
    assert content["family_observations"]
    assert project(content, "clinician")["family_observations"] == content["family_observations"]
    assert "family_observations" not in project(content, "patient")
    assert "family_observations" not in project(content, "family")
    # the family's words never become the patient's evidence
    assert all("3am" not in q["text"] for f in content["items"] for q in f["quotes"])


def test_no_family_text_no_section() -> None:
    est = EstimateInput(value=5.0, interval_low=3.0, interval_high=7.0, band="mild", n_user_words=200, model="m")
    assert build_report(est)["family_observations"] == []
