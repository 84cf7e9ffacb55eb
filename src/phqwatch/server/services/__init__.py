"""The server's workflows, one module per thing they own; the JSON API (`server/api/`) and the dashboard
pages (`server/pages/`) are two thin views over them and the same response schemas.

  ingestion        every user message screened (with its stored context) before storage and dedup
  estimation       re-estimation jobs, `estimate_point`, the monitoring alert rules
  read_audit       the one audit path for reads of health data (one row per patient read)
  caseload         the patients a caller may see, and the clinician's caseload (sort, filter, trend)
  patient_record   a patient's timeline, conversations and monthly analysis
  report_workflow  assistive reports: draft, edit, release, and what each role may read of them
"""

from __future__ import annotations
