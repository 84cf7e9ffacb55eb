from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from phqwatch.errors import InputError
from phqwatch.monitoring.series import AdministeredPoint, EstimatePoint
from phqwatch.reports.fhir import (
    CODE_SYSTEM,
    ESTIMATE_CODE,
    ESTIMATE_TEXT,
    LOINC_PHQ9_TOTAL,
    administered_observation,
    bundle,
    estimate_observation,
    export_bundle,
    validate_resource,
)

pytest.importorskip("fhir.resources")
from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _codes(obs: dict) -> set[str]:
    return {c["code"] for c in obs["code"]["coding"]}


def test_estimate_is_not_coded_as_administered_phq9_and_round_trips():
    p = EstimatePoint(T0, 12.4, 9.1, 15.8, ref="est-42", model="cpu-ridge 0.1.0")
    obs = estimate_observation(p, "pat-1", window=(T0 - timedelta(days=14), T0), n_user_words=812,
                               items=[1, 2, 1, 2, 1, 1, 2, 1, 0])  # fmt: skip
    assert LOINC_PHQ9_TOTAL not in json.dumps(obs["code"])
    assert _codes(obs) == {ESTIMATE_CODE} and obs["code"]["coding"][0]["system"] == CODE_SYSTEM
    assert obs["code"]["text"] == ESTIMATE_TEXT and "not administered" in obs["code"]["text"]
    assert obs["status"] == "preliminary"
    assert "cpu-ridge 0.1.0" in obs["method"]["text"]
    assert "not an administered PHQ-9" in obs["note"][0]["text"]
    assert "812 user words" in obs["derivedFrom"][0]["display"]
    assert obs["interpretation"][0]["coding"][0]["code"] == "moderate"
    comp = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in obs["component"]}
    assert comp["phq9-estimate-interval-low"] == 9.1 and comp["phq9-estimate-interval-high"] == 15.8
    assert comp["phq9-estimate-item-9"] == 0
    # Round trip through fhir.resources R4B (R4-shaped Observation): same content back.
    model = Observation.model_validate(obs)
    again = Observation.model_validate_json(model.model_dump_json())
    assert float(again.valueQuantity.value) == pytest.approx(12.4)
    assert again.code.coding[0].code == ESTIMATE_CODE
    assert again.effectivePeriod is not None and again.subject.reference == "Patient/pat-1"
    assert validate_resource(obs)["id"] == "phq9-est-est-42"


def test_administered_uses_loinc_44261_6():
    a = AdministeredPoint(T0, 17, ref="q-7")
    obs = administered_observation(a, "pat-1")
    assert obs["code"]["coding"][0]["system"] == "http://loinc.org"
    assert _codes(obs) == {LOINC_PHQ9_TOTAL} and obs["status"] == "final"
    assert obs["interpretation"][0]["coding"][0]["code"] == "moderately-severe"
    m = Observation.model_validate(validate_resource(obs))
    assert m.valueQuantity.value == 17


def test_bundle_collection_validates_and_keeps_kinds_apart():
    ests = [EstimatePoint(T0 + timedelta(days=d), 8.0 + d, 5.0 + d, 11.0 + d, ref=f"e{d}", model="m 1")
            for d in range(3)]  # fmt: skip
    adm = [AdministeredPoint(T0 + timedelta(days=1, hours=2), 11, ref="q1")]
    b = export_bundle("pat-9", ests, adm, timestamp=T0)
    assert b["type"] == "collection" and len(b["entry"]) == 4
    parsed = Bundle.model_validate(b)
    kinds = [next(iter(_codes(e["resource"]))) for e in b["entry"]]
    assert kinds == [ESTIMATE_CODE, ESTIMATE_CODE, LOINC_PHQ9_TOTAL, ESTIMATE_CODE]  # sorted by time
    assert len({e["fullUrl"] for e in b["entry"]}) == 4
    assert parsed.entry[2].resource.code.coding[0].code == LOINC_PHQ9_TOTAL
    assert export_bundle("pat-9", ests, adm, timestamp=T0) == b  # deterministic


def test_errors_name_the_problem():
    p = EstimatePoint(T0, 5.0, 2.0, 8.0)
    with pytest.raises(InputError, match="model"):
        estimate_observation(p, "pat")
    with pytest.raises(InputError, match="LOINC 44261-6"):
        administered_observation(p, "pat")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="timezone"):
        estimate_observation(EstimatePoint(datetime(2025, 1, 1), 5.0, 2.0, 8.0), "pat", model="m")
    bad = estimate_observation(p, "pat", model="m 1")
    bad["valueQuantity"] = {"value": "not-a-number"}
    with pytest.raises(InputError, match="not valid FHIR"):
        validate_resource(bad)
    bad_status = estimate_observation(p, "pat", model="m 1") | {"status": "guessed"}
    with pytest.raises(InputError, match="status"):
        validate_resource(bundle([bad_status], timestamp=T0))
    with pytest.raises(InputError, match="resourceType"):
        validate_resource({"resourceType": "Patient"})
