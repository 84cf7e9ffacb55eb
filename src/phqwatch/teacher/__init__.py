"""The LLM teacher: an OpenAI-compatible rater that turns users' text into PHQ-9 pseudolabels.

    from phqwatch.teacher import pseudolabel
    frame = pseudolabel({"u1": text}, settings)        # one row per user, stats in frame.attrs

Modules: client (HTTP, retries, structured output, accounting), rubric (the versioned prompt), parse
(JSON repair, validation, quote verification), cache (SQLite resume), pseudolabel (runs), local_server
(a llama.cpp server for tests and benchmarks). Calibration against administered PHQ-9s lives in
phqwatch.training.teacher_calibration (it uses phqwatch.evaluation, a layer above).
"""

from phqwatch.teacher.cache import TeacherCache, text_hash
from phqwatch.teacher.client import ChatResult, Pricing, TeacherCallError, TeacherClient, Usage
from phqwatch.teacher.parse import ParseError, Rating, extract_json, parse_rating
from phqwatch.teacher.pseudolabel import (
    COLUMNS,
    PseudolabelRun,
    RunStats,
    apseudolabel,
    pseudolabel,
    run_pseudolabel,
)
from phqwatch.teacher.rubric import RUBRIC_VERSION, build_messages, fingerprint

__all__ = [
    "COLUMNS",
    "RUBRIC_VERSION",
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
    "extract_json",
    "fingerprint",
    "parse_rating",
    "pseudolabel",
    "run_pseudolabel",
    "text_hash",
]
