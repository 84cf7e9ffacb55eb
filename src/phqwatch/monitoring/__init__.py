"""Monitoring: pure functions over a user's estimates and administered PHQ-9s.

- series:    input/output dataclasses (estimates and administered scores are separate types, never mixed)
- smoothing: local-level Kalman filter that weights each estimate by its interval
- change:    reliable change, band and trend direction of the smoothed series
- alerts:    rules that propose alerts (band crossing, sustained worsening, administer a PHQ-9)
- safety:    the crisis-safety screen for every incoming user message (regex, independent of any model)

No database and no web here: the store persists, the server composes.
"""

from __future__ import annotations
