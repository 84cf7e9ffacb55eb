"""De-identification before any text leaves the machine (e.g. to a remote LLM teacher).

The default is light and dependency-free: regular expressions for emails, URLs, phone numbers, street
addresses, ID-like numbers, and personal names introduced by a phrase ("my name is X", "I'm X", "call me
X"), after a title ("Dr. X") or found in a small list of common given names. Each hit becomes a typed
placeholder such as [EMAIL] or [NAME]. It lowers the risk; it does not remove it. For stronger coverage
install the `deid` extra and pass engine="presidio" (Microsoft Presidio, imported lazily).

`deid_enabled(settings)` decides whether teacher text is de-identified: Settings.teacher_deid when set,
otherwise on unless the teacher base URL's host is loopback.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from phqwatch.config import Settings
from phqwatch.errors import ConfigError

__all__ = ["DeidResult", "deidentify", "deid_enabled", "is_loopback_url", "PLACEHOLDERS", "GIVEN_NAMES"]

PLACEHOLDERS = ("[EMAIL]", "[URL]", "[PHONE]", "[ADDRESS]", "[ID]", "[NAME]")

#: Common given names matched as capitalised whole words. Names that are also everyday English words
#: (Will, May, June, Grace, Hope, Joy, Mark, Bill, Rose, Art, ...) are left out on purpose.
GIVEN_NAMES = frozenset(
    """
    Aaron Abigail Adam Adrian Aisha Alan Alex Alexander Alexandra Alice Alicia Alison Amanda Amber Amelia Amy
    Andrea Andrew Angela Anna Anne Anthony Antonio Ashley Barbara Benjamin Beth Brandon Brian Brittany Bruce
    Caleb Carlos Carol Caroline Catherine Charles Charlotte Chloe Christina Christine Christopher Claire
    Daniel Danielle David Deborah Dennis Diana Diego Donald Dorothy Douglas Dylan Edward Elena Elizabeth Ella
    Emily Emma Eric Ethan Evelyn Fatima Gabriel Gary George Hannah Harry Heather Helen Henry Isabella Jacob
    James Jamal Janet Jasmine Jason Jennifer Jeremy Jessica Joanna John Jonathan Jose Joseph Joshua Juan
    Julia Justin Karen Katherine Kathleen Kayla Kenneth Kevin Kimberly Laura Lauren Linda Lisa Lucas Luis
    Madison Margaret Maria Marie Martha Mary Matthew Megan Melissa Michael Michelle Mohammed Muhammad Nancy
    Natalie Nathan Nicholas Nicole Noah Oliver Olivia Pamela Patricia Paul Priya Rachel Raymond Rebecca
    Richard Robert Ryan Samantha Samuel Sandra Sarah Scott Sean Sharon Sophia Sophie Stephanie Stephen Steven
    Susan Thomas Timothy Tyler Victoria Walter William Zachary
    """.split()
)

#: Capitalised words that follow "I'm"/"I am" far more often than a name does.
_NOT_NAMES = frozenset(
    """
    I A An The So Not Just Really Very Sorry Fine Okay Ok OK Good Bad Sad Tired Happy Glad Here There Still
    Always Never Going Trying Feeling Doing Getting Being Done Sure Afraid Scared Worried Lonely Alone Back
    Ready Home Better Worse Okay Exhausted Depressed Anxious Stressed Angry Honestly Actually Also Kind Sort
    Pretty Too Only Now Currently Literally Basically Probably Definitely Still Almost Completely Totally In
    On At From With Without About Over Under Into Out Up Down Off Like Well No Yes Yeah Gonna Struggling
    Thinking Working Looking Hoping Starting Overwhelmed Numb Broken Lost Stuck Fed Sick Worn Burned Burnt
    American British Canadian Christian Muslim Jewish Catholic Gay Straight Single Married Divorced Pregnant
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday English Spanish French German Indian Chinese
    """.split()
)

_NAME = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"
_FULL_NAME = rf"{_NAME}(?:\s+{_NAME})?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.I)),
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),  # US SSN shape
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{3}[\s.-])\d{3}[\s.-]?\d{4}(?!\w)"
            r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\d{2,4}){3,5}(?!\w)"
            r"|(?<!\w)0\d{4}\s?\d{6}(?!\w)"  # UK 11-digit mobile/landline shapes
        ),
    ),
    (
        "ADDRESS",
        re.compile(
            r"\b\d{1,5}\s+(?:[A-Z][A-Za-z]+\.?\s+){1,3}"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|"
            r"Circle|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Sq)\b\.?"
            r"(?:,?\s+(?:Apt|Apartment|Unit|Suite|Flat)\.?\s*#?\w+)?"
        ),
    ),
]

_INTRO = re.compile(
    rf"\b(?P<lead>(?:[Mm]y name is|[Mm]y name's|[Cc]all me|[Tt]his is|[Ii] am|[Ii]'m|[Ii]’m|[Nn]amed|"
    rf"[Mm]y (?:wife|husband|partner|son|daughter|mum|mom|dad|father|mother|brother|sister|friend|boss|"
    rf"therapist|boyfriend|girlfriend|ex)(?:,)?)\s+)(?P<name>{_FULL_NAME})\b"
)
_TITLE = re.compile(rf"\b(?P<lead>(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof|Doctor|Nurse)\.?\s+)(?P<name>{_FULL_NAME})\b")
_GIVEN = re.compile(rf"\b(?P<name>(?:{'|'.join(sorted(GIVEN_NAMES))})(?:\s+{_NAME})?)\b")


@dataclass(frozen=True)
class DeidResult:
    """De-identified text and how many spans of each kind were replaced (counts only, never the spans)."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_replaced(self) -> int:
        return sum(self.counts.values())


def _names(text: str, counts: Counter[str]) -> str:
    def repl_lead(m: re.Match[str]) -> str:
        name = m.group("name")
        first = name.split()[0]
        if first in _NOT_NAMES or first.upper() == first:
            return m.group(0)
        rest = name.split()[1:]
        # "I'm Sarah Tired" is rare; "I'm Sarah" is common: keep a second word only if it is not a stop word
        if rest and rest[0] in _NOT_NAMES:
            counts["NAME"] += 1
            return m.group("lead") + "[NAME] " + " ".join(rest)
        counts["NAME"] += 1
        return m.group("lead") + "[NAME]"

    def repl_given(m: re.Match[str]) -> str:
        parts = m.group("name").split()
        counts["NAME"] += 1
        if len(parts) > 1 and parts[1] in _NOT_NAMES:
            return "[NAME] " + parts[1]
        return "[NAME]"

    text = _TITLE.sub(repl_lead, text)
    text = _INTRO.sub(repl_lead, text)
    return _GIVEN.sub(repl_given, text)


def _regex(text: str) -> DeidResult:
    counts: Counter[str] = Counter()
    for kind, pat in _PATTERNS:

        def repl(m: re.Match[str], kind: str = kind) -> str:
            counts[kind] += 1
            return f"[{kind}]"

        text = pat.sub(repl, text)
    text = _names(text, counts)
    return DeidResult(text=text, counts=dict(counts))


_PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "URL": "URL",
    "PHONE_NUMBER": "PHONE",
    "PERSON": "NAME",
    "LOCATION": "ADDRESS",
    "US_SSN": "ID",
    "CREDIT_CARD": "ID",
    "IBAN_CODE": "ID",
    "IP_ADDRESS": "ID",
}
_presidio_analyzer = None


def _presidio(text: str) -> DeidResult:
    global _presidio_analyzer
    try:
        from presidio_analyzer import AnalyzerEngine  # optional extra, imported lazily
    except ImportError as exc:
        raise ConfigError(
            "engine='presidio' needs Microsoft Presidio, which is not installed.",
            fix="pip install 'phqwatch[deid]' (and a spaCy English model), or use engine='regex'.",
        ) from exc
    if _presidio_analyzer is None:
        try:
            _presidio_analyzer = AnalyzerEngine()
        except (OSError, ValueError) as exc:  # spaCy model missing
            raise ConfigError(
                f"Presidio could not load its spaCy English model ({type(exc).__name__}).",
                fix="Install a spaCy English model package (e.g. en_core_web_lg) into this environment.",
            ) from exc
    results = _presidio_analyzer.analyze(text=text, language="en", entities=list(_PRESIDIO_TYPES))
    counts: Counter[str] = Counter()
    spans = sorted(((r.start, r.end, _PRESIDIO_TYPES.get(r.entity_type, "ID")) for r in results), reverse=True)
    last_start = len(text) + 1
    for start, end, kind in spans:  # right to left so offsets stay valid; skip overlaps
        if end > last_start:
            continue
        text = text[:start] + f"[{kind}]" + text[end:]
        counts[kind] += 1
        last_start = start
    # the regex pass still catches what the NER missed (e.g. "my name is X" in lower-resource text)
    rest = _regex(text)
    counts.update(rest.counts)
    return DeidResult(text=rest.text, counts=dict(counts))


def deidentify(text: str, engine: str = "regex") -> DeidResult:
    """Replace identifying spans with typed placeholders. engine: "regex" (default) or "presidio"."""
    if engine == "regex":
        return _regex(text)
    if engine == "presidio":
        return _presidio(text)
    raise ConfigError(f"Unknown de-identification engine {engine!r}; expected 'regex' or 'presidio'.")


def is_loopback_url(url: str | None) -> bool:
    """True when the URL's host is localhost or a loopback address (127.0.0.0/8, ::1)."""
    if not url:
        return False
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    if not host:
        return False
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def deid_enabled(settings: Settings) -> bool:
    """Settings.teacher_deid when set; otherwise True unless the teacher base URL is loopback."""
    if settings.teacher_deid is not None:
        return bool(settings.teacher_deid)
    return not is_loopback_url(settings.teacher_base_url)
