"""The LLM teacher: an OpenAI-compatible rater that turns users' text into PHQ-9 pseudolabels.

    from phqwatch.teacher import pseudolabel, calibrate
    frame = pseudolabel({"u1": text}, settings)        # one row per user, stats in frame.attrs
    cal = calibrate(frame.set_index("user_id")["phq9_estimate"], administered_totals)

Modules: client (HTTP, retries, structured output, accounting), rubric (the versioned prompt), parse
(JSON repair, validation, quote verification), cache (SQLite resume), pseudolabel (runs, calibration).
"""

from phqwatch.teacher.cache import TeacherCache, text_hash
from phqwatch.teacher.client import ChatResult, Pricing, TeacherCallError, TeacherClient, Usage
from phqwatch.teacher.parse import ParseError, Rating, extract_json, parse_rating
from phqwatch.teacher.pseudolabel import (
    COLUMNS,
    Calibration,
    PseudolabelRun,
    RunStats,
    apseudolabel,
    calibrate,
    pseudolabel,
    run_pseudolabel,
)
from phqwatch.teacher.rubric import RUBRIC_VERSION, build_messages, fingerprint

__all__ = [
    "COLUMNS",
    "RUBRIC_VERSION",
    "Calibration",
    "ChatResult",
    "ParseError",
    "Pricing",
    "PseudolabelRun",
    "Rating",
    "RunStats",
    "TeacherCache",
    "TeacherCallError",
    "TeacherClient",
    "Usage",
    "apseudolabel",
    "build_messages",
    "calibrate",
    "extract_json",
    "fingerprint",
    "parse_rating",
    "pseudolabel",
    "run_pseudolabel",
    "text_hash",
]
