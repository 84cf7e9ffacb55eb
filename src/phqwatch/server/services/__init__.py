"""The server's workflows, one module per thing they own; the JSON API (`server/api/`) and the dashboard
pages (`server/pages/`) are two thin views over them and the same response schemas.

  ingestion        every user message screened (with its stored context) before storage and dedup
  estimation       re-estimation jobs, `estimate_point`, the monitoring alert rules
  read_audit       the one audit path for reads of health data (one row per patient read)
  caseload         the patients a caller may see, and the clinician's caseload (sort, filter, trend)
  patient_record   a patient's timeline, conversations and monthly analysis
  report_workflow  assistive reports: draft, edit, release, and what each role may read of them

The former single `services` module's names are still found here, imported on first use (so that reading
one service does not load the crisis screen).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MOVED = {
    "FALLBACK_HALF_WIDTH": "estimation",
    "WindowText": "estimation",
    "estimate_point": "estimation",
    "load_window": "estimation",
    "run_alert_rules": "estimation",
    "score_window": "estimation",
    "store_estimate": "estimation",
    "IngestOutcome": "ingestion",
    "ingest": "ingestion",
}
__all__ = sorted(_MOVED)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(import_module(f"{__name__}.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
