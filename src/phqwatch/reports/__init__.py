"""Reports: pure functions from estimates to documents a person reads.

- bm25, criteria: the criteria knowledge base (the project's own words) and BM25 retrieval over it
- assistive:      the assistive report (estimate, evidence per item, criteria, limitations, advice)
- llm_draft:      an LLM-written draft through the teacher client, every claim tied to a verified quote
- review:         draft -> clinician edits -> release, versioned; what each role may see
- monthly:        the monthly (InterMind-style) analysis of chat days and estimated severity
- pdf:            PDF export of a released report
- fhir:           FHIR R4 export of estimates

No database and no web here: the store persists, the server composes.
"""

from __future__ import annotations
