"""FHIR R4 export: PHQ-9 *estimates* and *administered* PHQ-9s as Observation resources, in a Bundle.

An estimate must never be mistaken for an administered PHQ-9, so the two differ in every field a receiving
system keys on:

| field           | estimate                                                        | administered PHQ-9         |
|-----------------|-----------------------------------------------------------------|----------------------------|
| code            | ``http://phqwatch.org/fhir/CodeSystem/phqwatch#phq9-estimate``   | LOINC ``44261-6``          |
| code.text       | "PHQ-9 total score (estimated from conversation text; not administered)" | LOINC display     |
| status          | ``preliminary`` (never verified by an administration)           | ``final``                  |
| category        | project code ``model-derived-estimate``                          | ``survey``                 |
| method / device | model name and version                                          | absent                     |
| derivedFrom     | the conversation window (display-only reference)                | absent                     |
| component       | 80% interval low/high (project codes); item estimates if given  | absent                     |
| note, meta.tag  | "derived estimate; not an administered PHQ-9; not a diagnosis"  | absent                     |

The interval goes into components, not ``referenceRange``: a reference range means "normal values" in FHIR,
and an uncertainty interval is not that. ``interpretation`` carries the severity band of the value.

Resources are built as plain JSON dicts (no dependency at import). ``validate_resource`` checks them with
``fhir.resources`` (the ``server`` extra). fhir.resources 8.x ships FHIR R5 at its top level and R4B (4.3.0)
under ``fhir.resources.R4B``; it has no R4 (4.0.1) package. Observation and Bundle did not change between R4
and R4B (Observation is normative since R4), so validating against ``fhir.resources.R4B`` validates the R4
shape. fhir.resources checks structure and types but not code bindings, so ``status`` is checked here too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from phqwatch.errors import ConfigError, InputError
from phqwatch.monitoring.series import AdministeredPoint, EstimatePoint
from phqwatch.phq9 import ITEM_COLUMNS, band

__all__ = [
    "CODE_SYSTEM",
    "BAND_SYSTEM",
    "ESTIMATE_CODE",
    "ESTIMATE_TEXT",
    "LOINC_SYSTEM",
    "LOINC_PHQ9_TOTAL",
    "estimate_observation",
    "administered_observation",
    "bundle",
    "validate_resource",
    "export_bundle",
]

CODE_SYSTEM = "http://phqwatch.org/fhir/CodeSystem/phqwatch"
BAND_SYSTEM = "http://phqwatch.org/fhir/CodeSystem/phq9-band"
ID_SYSTEM = "http://phqwatch.org/fhir/NamingSystem/estimate-id"
ESTIMATE_CODE = "phq9-estimate"
ESTIMATE_TEXT = "PHQ-9 total score (estimated from conversation text; not administered)"
LOINC_SYSTEM = "http://loinc.org"
LOINC_PHQ9_TOTAL = "44261-6"
LOINC_PHQ9_DISPLAY = "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ESTIMATE_NOTE = (
    "Derived estimate: computed by a statistical model from the person's own conversation text. It is not an "
    "administered PHQ-9, not a diagnosis and cannot confirm a change on its own; administer a PHQ-9 "
    f"(LOINC {LOINC_PHQ9_TOTAL}) to confirm."
)
_STATUSES = {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
_ID_RE = re.compile(r"[^A-Za-z0-9\-.]")
_NS = uuid.UUID("6b0d3f0e-4a8e-5d7c-9f3e-2f1c0a9b8d7e")


def _fhir_id(prefix: str, ref: str | None, when: datetime) -> str:
    raw = ref if ref is not None else when.isoformat()
    cleaned = _ID_RE.sub("-", f"{prefix}-{raw}")
    return cleaned if len(cleaned) <= 64 else f"{prefix}-{uuid.uuid5(_NS, raw).hex}"


def _dt(when: datetime) -> str:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(
            f"datetime {when.isoformat()} has no timezone; FHIR dateTime with a time needs one.",
            field="when",
            fix="Pass timezone-aware datetimes (e.g. datetime.now(UTC)).",
        )
    return when.isoformat()


def _score(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 2), "unit": "{score}", "system": UCUM, "code": "{score}"}


def _band(value: float, estimated: bool) -> list[dict[str, Any]]:
    name = band(value)
    suffix = " (estimated)" if estimated else ""
    return [{"coding": [{"system": BAND_SYSTEM, "code": name.replace(" ", "-"), "display": name + suffix}],
             "text": f"{name}{suffix}"}]  # fmt: skip


def _subject(patient_id: str) -> dict[str, str]:
    if not patient_id or not str(patient_id).strip():
        raise InputError("patient_id is empty.", field="patient_id", fix="Pass the patient's FHIR id.")
    return {"reference": f"Patient/{_ID_RE.sub('-', str(patient_id))}"}


def estimate_observation(
    point: EstimatePoint,
    patient_id: str,
    *,
    model: str | None = None,
    interval_level: float = 0.80,
    window: tuple[datetime, datetime] | None = None,
    n_user_words: int | None = None,
    items: Sequence[float] | None = None,
) -> dict[str, Any]:
    """One estimate as an R4 Observation dict (never coded as LOINC 44261-6).

    ``model`` (name and version) defaults to ``point.model``; one of them is required. ``window`` is the
    conversation period the estimate was computed from (becomes effectivePeriod); ``items`` are the nine
    item estimates when the model gives them.
    """
    if not isinstance(point, EstimatePoint):
        raise InputError(
            f"expected an EstimatePoint, got {type(point).__name__}.",
            field="point",
            fix="Use administered_observation for administered PHQ-9s.",
        )
    model_name = model or point.model
    if not model_name:
        raise InputError("the estimate has no model name/version.", field="model", fix="Pass model='name version'.")
    pct = f"{interval_level * 100:.0f}%"
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _fhir_id("phq9-est", point.ref, point.when),
        "meta": {"tag": [{"system": CODE_SYSTEM, "code": "derived-estimate", "display": "Model-derived estimate"}]},
        "status": "preliminary",
        "category": [
            {
                "coding": [
                    {"system": CODE_SYSTEM, "code": "model-derived-estimate", "display": "Model-derived estimate"}
                ]
            }  # fmt: skip
        ],
        "code": {
            "coding": [{"system": CODE_SYSTEM, "code": ESTIMATE_CODE, "display": ESTIMATE_TEXT}],
            "text": ESTIMATE_TEXT,
        },  # fmt: skip
        "subject": _subject(patient_id),
        "issued": _dt(point.when),
        "valueQuantity": _score(point.value),
        "interpretation": _band(point.value, estimated=True),
        "method": {
            "coding": [
                {
                    "system": CODE_SYSTEM,
                    "code": "conversation-text-model",
                    "display": "Estimated by a model from conversation text",
                }
            ],  # fmt: skip
            "text": f"Model: {model_name}",
        },
        "device": {"display": f"phqwatch estimator {model_name}"},
        "note": [{"text": f"{ESTIMATE_NOTE} {pct} interval {point.low:.1f}-{point.high:.1f}."}],
        "component": [
            {
                "code": {
                    "coding": [
                        {
                            "system": CODE_SYSTEM,
                            "code": "phq9-estimate-interval-low",
                            "display": f"Lower bound of the {pct} interval of the estimate",
                        }
                    ]
                },
                "valueQuantity": _score(point.low),
            },
            {
                "code": {
                    "coding": [
                        {
                            "system": CODE_SYSTEM,
                            "code": "phq9-estimate-interval-high",
                            "display": f"Upper bound of the {pct} interval of the estimate",
                        }
                    ]
                },
                "valueQuantity": _score(point.high),
            },
        ],  # fmt: skip
    }
    if point.ref is not None:
        obs["identifier"] = [{"system": ID_SYSTEM, "value": str(point.ref)}]
    if window is not None:
        start, end = window
        if end < start:
            raise InputError("window ends before it starts.", field="window", fix="Pass (start, end), start <= end.")
        obs["effectivePeriod"] = {"start": _dt(start), "end": _dt(end)}
        words = f", {n_user_words} user words" if n_user_words is not None else ""
        obs["derivedFrom"] = [
            {
                "display": f"Conversation text of the person, {start.date().isoformat()} to "
                f"{end.date().isoformat()}{words}"
            }  # fmt: skip
        ]
    else:
        obs["effectiveDateTime"] = _dt(point.when)
        obs["derivedFrom"] = [{"display": "Conversation text of the person"}]
    if items is not None:
        if len(items) != 9 or any(not 0 <= float(v) <= 3 for v in items):
            raise InputError("items must be nine estimates from 0 to 3.", field="items")
        for col, v in zip(ITEM_COLUMNS, items, strict=True):
            obs["component"].append(
                {
                    "code": {
                        "coding": [
                            {
                                "system": CODE_SYSTEM,
                                "code": f"phq9-estimate-{col.replace('_', '-')}",
                                "display": f"PHQ-9 {col.replace('_', ' ')} (estimated, 0-3)",
                            }
                        ]
                    },
                    "valueQuantity": _score(v),
                }  # fmt: skip
            )
    return obs


def administered_observation(point: AdministeredPoint, patient_id: str) -> dict[str, Any]:
    """One administered PHQ-9 total as an R4 Observation coded LOINC 44261-6."""
    if not isinstance(point, AdministeredPoint):
        raise InputError(
            f"expected an AdministeredPoint, got {type(point).__name__}.",
            field="point",
            fix="Use estimate_observation for estimates; never code an estimate as LOINC 44261-6.",
        )
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _fhir_id("phq9", point.ref, point.when),
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [{"system": LOINC_SYSTEM, "code": LOINC_PHQ9_TOTAL, "display": LOINC_PHQ9_DISPLAY}],
            "text": "PHQ-9 total score (administered)",
        },  # fmt: skip
        "subject": _subject(patient_id),
        "effectiveDateTime": _dt(point.when),
        "valueQuantity": _score(point.total),
        "interpretation": _band(point.total, estimated=False),
    }
    if point.ref is not None:
        obs["identifier"] = [{"system": "http://phqwatch.org/fhir/NamingSystem/questionnaire-id",
                              "value": str(point.ref)}]  # fmt: skip
    return obs


def bundle(resources: Iterable[dict[str, Any]], *, timestamp: datetime | None = None) -> dict[str, Any]:
    """A Bundle of type ``collection``; each entry gets a stable ``urn:uuid`` fullUrl."""
    entries = []
    for r in resources:
        key = f"{r.get('resourceType')}/{r.get('id')}"
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(_NS, key)}", "resource": r})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _dt(timestamp or datetime.now(UTC)),
        "entry": entries,
    }


def _check_statuses(resource: dict[str, Any]) -> None:
    items = [e["resource"] for e in resource.get("entry", [])] if resource.get("resourceType") == "Bundle" else []
    for r in [resource, *items]:
        if r.get("resourceType") == "Observation" and r.get("status") not in _STATUSES:
            raise InputError(
                f"Observation {r.get('id')!r} has status {r.get('status')!r}.",
                field="status",
                fix=f"Use one of {sorted(_STATUSES)}.",
            )


def validate_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate an Observation or Bundle dict with fhir.resources (R4B models = R4 shape for these).

    Returns the resource as fhir.resources serialises it (JSON-ready dict). Raises InputError naming the
    problem, or ConfigError when fhir.resources is not installed.
    """
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.observation import Observation
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "fhir.resources is not installed; FHIR validation needs it.",
            fix="pip install 'phqwatch[server]' (or fhir.resources>=7.1).",
        ) from exc
    kinds: dict[str, type[Observation] | type[Bundle]] = {"Observation": Observation, "Bundle": Bundle}
    kind = resource.get("resourceType")
    if kind not in kinds:
        raise InputError(f"resourceType is {kind!r}; expected Observation or Bundle.", field="resourceType")
    _check_statuses(resource)
    try:
        model = kinds[kind].model_validate(resource)
    except Exception as exc:  # pydantic.ValidationError and fhir_core errors
        raise InputError(
            f"{kind} {resource.get('id')!r} is not valid FHIR: {exc}",
            field="resource",
            fix="Build resources with phqwatch.reports.fhir functions.",
        ) from exc
    return model.model_dump(mode="json", exclude_none=True)


def export_bundle(
    patient_id: str,
    estimates: Iterable[EstimatePoint] = (),
    administered: Iterable[AdministeredPoint] = (),
    *,
    model: str | None = None,
    interval_level: float = 0.80,
    timestamp: datetime | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """One person's estimates and administered PHQ-9s as a validated collection Bundle (sorted by time)."""
    obs = [(p.when, estimate_observation(p, patient_id, model=model, interval_level=interval_level))
           for p in estimates]  # fmt: skip
    obs += [(a.when, administered_observation(a, patient_id)) for a in administered]
    obs.sort(key=lambda x: x[0])
    b = bundle((o for _, o in obs), timestamp=timestamp)
    if validate:
        validate_resource(b)
    return b
