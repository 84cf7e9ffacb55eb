"""The assistive report: what an estimate rests on, written for a clinician to review before anyone else sees it.

`build_report` turns an estimate (a `UserEstimate` or the same fields from the store), the patient's own
conversations and their administered PHQ-9 history into a JSON-able report (a plain dict, so review
versions can store and diff it). Deterministic templates only; `phqwatch.reports.llm_draft` adds an LLM
draft on top when an endpoint is configured. Every number carries its basis and the word "estimated";
every quote is checked against the conversation it is linked to, and quotes that cannot be found are
dropped and counted.

Just over 400 lines: one template section per report part, kept together so the report reads top to bottom.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from phqwatch import phq9
from phqwatch.config import DEFAULT_CRISIS_TEXT
from phqwatch.errors import InputError
from phqwatch.models.lexicons import compiled_terms, tokenize
from phqwatch.reports.criteria import CriteriaIndex

_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+|\n+")

SCHEMA = "phqwatch.assistive_report/1"
TEMPLATE_VERSION = "template-1"
#: Fewer user words than this -> a "low text volume" limitation (the model's own floor is lower).
LOW_TEXT_WORDS = 400
#: No administered PHQ-9 within this many days -> a limitation asking for one.
ADMINISTER_WITHIN_DAYS = 30
#: Sections a clinician may edit; everything else (numbers, quotes, criteria) is fixed by the draft.
EDITABLE_FIELDS = ("summary", "clinician_note", "patient_notes", "family_advice")
LIST_FIELDS = ("patient_notes", "family_advice")
RESPONSE_WORDS = ("not at all", "several days", "more than half the days", "nearly every day")


@dataclass(frozen=True)
class Quote:
    """A sentence the patient wrote, linked to the conversation it came from (None when not found)."""

    text: str
    conversation_id: str | None
    verified: bool

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "conversation_id": self.conversation_id, "verified": self.verified}


@dataclass(frozen=True)
class EstimateInput:
    """The fields of an estimate the report needs (a `UserEstimate` or a stored estimate row)."""

    value: float | None
    interval_low: float | None
    interval_high: float | None
    band: str | None
    n_user_words: int
    model: str
    status: str = "ok"
    reason: str | None = None
    items: Sequence[float] | None = None
    evidence: Mapping[int, Sequence[str]] = field(default_factory=dict)
    window_start: datetime | None = None
    window_end: datetime | None = None
    estimate_id: str | None = None

    @classmethod
    def from_user_estimate(cls, ue: Any, **extra: Any) -> EstimateInput:
        """From `phqwatch.models.base.UserEstimate` (duck-typed), plus window/id fields."""
        return cls(
            value=ue.phq9_estimate,
            interval_low=ue.interval_low,
            interval_high=ue.interval_high,
            band=ue.band,
            n_user_words=ue.n_user_words,
            model=ue.model,
            status=ue.status,
            reason=ue.reason,
            items=ue.items,
            evidence={int(k): list(v) for k, v in (ue.evidence or {}).items()},
            **extra,
        )


@dataclass(frozen=True)
class AdministeredScore:
    """An administered PHQ-9 (what the patient answered)."""

    when: date | datetime
    total: int
    items: Sequence[int] | None = None


def _day(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d


def _norm(text: str) -> str:
    from phqwatch.teacher.parse import normalise

    return normalise(text)


def link_quotes(
    evidence: Mapping[int, Sequence[str]] | Mapping[str, Sequence[str]], conversations: Mapping[str, str] | None
) -> tuple[dict[int, list[Quote]], int]:
    """Link each evidence quote to the conversation that contains it; (quotes by item, number dropped).

    With `conversations` (conversation id -> the patient's own text) a quote that no conversation contains
    is dropped. Without them quotes are kept, unverified and unlinked.
    """
    from phqwatch.teacher.parse import quote_in_transcript

    normed = {cid: _norm(t) for cid, t in (conversations or {}).items()}
    out: dict[int, list[Quote]] = {}
    dropped = 0
    by_item = {int(k): v for k, v in evidence.items()}  # int keys, or digit strings after a JSON round trip
    for item in sorted(by_item):
        seen: set[str] = set()
        for q in by_item[item]:
            q = str(q).strip()
            if not q or q.casefold() in seen:
                continue
            seen.add(q.casefold())
            if conversations is None:
                out.setdefault(item, []).append(Quote(q, None, False))
                continue
            nq = _norm(q)
            cid = next((c for c, t in normed.items() if nq and nq in t), None)
            if cid is None:
                cid = next((c for c, t in normed.items() if quote_in_transcript(q, t)), None)
            if cid is None:
                dropped += 1
                continue
            out.setdefault(item, []).append(Quote(q, cid, True))
    return out, dropped


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def _response_range(score: float) -> str:
    return RESPONSE_WORDS[max(0, min(3, round(score)))]


def _basis(est: EstimateInput, n_conversations: int) -> str:
    when = ""
    if est.window_start and est.window_end:
        when = f" between {_day(est.window_start).isoformat()} and {_day(est.window_end).isoformat()}"
    convs = f" in {n_conversations} conversation{'s' if n_conversations != 1 else ''}" if n_conversations else ""
    return (
        f"Estimated by {est.model} from {est.n_user_words} words of the patient's own messages{convs}{when}. "
        "An estimate from conversation text, not an administered PHQ-9."
    )


def _limitations(
    est: EstimateInput,
    covered: int,
    dropped: int,
    last_admin: AdministeredScore | None,
    today: date,
    verified: bool,
) -> list[str]:
    out = [
        "This is an estimate from conversation text, not an administered PHQ-9. It supports a clinician's "
        "judgement; it cannot make a diagnosis or confirm a change on its own."
    ]
    if est.status != "ok" or est.value is None:
        out.append(f"No estimate was made: {est.reason or 'the model abstained'}.")
    if est.interval_low is not None and est.interval_high is not None:
        out.append(
            f"The interval runs from {_fmt(est.interval_low)} to {_fmt(est.interval_high)} "
            f"({est.interval_high - est.interval_low:.1f} points wide): the true score could lie anywhere in it."
        )
    elif est.value is not None:
        out.append("This model gives no interval; treat the estimate as uncalibrated.")
    if est.items is not None:
        out.append(
            f"Quotes were found for {covered} of 9 items. Items without a quote rest on the text as a whole, "
            "and conversations rarely say on how many days a problem occurred, which the PHQ-9 asks about."
        )
    if est.n_user_words < LOW_TEXT_WORDS:
        out.append(f"Low text volume: only {est.n_user_words} words of the patient's own messages were available.")
    if last_admin is None:
        out.append("No administered PHQ-9 is on record: administer one to confirm the estimate.")
    elif (today - _day(last_admin.when)).days > ADMINISTER_WITHIN_DAYS:
        out.append(
            f"The last administered PHQ-9 was on {_day(last_admin.when).isoformat()}, more than "
            f"{ADMINISTER_WITHIN_DAYS} days ago: administer one to confirm the estimate."
        )
    if dropped:
        out.append(f"{dropped} evidence quote(s) could not be found in the conversations and were left out.")
    if not verified:
        out.append("Quotes were not checked against the conversations (none were supplied).")
    return out


_PATIENT_NOTES = {
    "minimal": [
        "Keep up what is working for you: regular sleep, meals, movement and time with people you trust.",
        "If things start to feel harder, tell your care team early; small changes are easier to act on.",
    ],
    "mild": [
        "Plan one small, enjoyable or useful activity each day and notice how you feel afterwards "
        "(behavioural activation); it often helps mood before motivation returns.",
        "Keep a regular sleep and wake time, and some daylight and movement each day.",
        "Your care team may suggest guided self-help or a check-in with a short questionnaire in a few weeks.",
    ],
    "moderate": [
        "Talk with your clinician about treatment options such as talking therapy; they will decide with "
        "you what fits.",
        "Plan small, regular activities and keep a steady daily routine, even on days you do not feel like it.",
        "Your care team may ask you to fill in a PHQ-9 questionnaire so they can see how you are doing.",
    ],
    "severe": [
        "Please speak with your clinician soon about treatment; options such as talking therapy and "
        "medication work, and they will plan with you.",
        "Let someone you trust know how you are feeling, and keep your appointments even when it is hard.",
        "Your care team may ask you to fill in a PHQ-9 questionnaire so they can see how you are doing.",
    ],
}
_ITEM_NOTES = {
    3: "Sleep: keep the same wake time every day, limit screens and caffeine late in the day, and get up "
    "rather than lie awake for long.",
    4: "Energy: break tasks into small steps and pace yourself; rest is fine, but some light movement helps.",
    5: "Eating: try regular, simple meals even without appetite.",
    7: "Concentration: short, single tasks with breaks are easier than long ones; write things down.",
}
_FAMILY_ADVICE = [
    "Listen without judging and without rushing to fix things; saying you have noticed and you care helps.",
    "Offer practical help: a shared walk, a meal, a lift to an appointment.",
    "Encourage them to keep in touch with their care team and to keep appointments.",
    "Their conversations with the app are private to them and their care team; let them share what they want to.",
    "Look after yourself as well; supporting someone is demanding.",
    "If they talk about death, suicide or hurting themselves, or you fear for their safety, do not wait: "
    "contact emergency services or a crisis line, and tell their care team.",
]


def _band_key(band: str | None) -> str:
    if band in ("moderately severe", "severe"):
        return "severe"
    return band if band in _PATIENT_NOTES else "mild"


def _summary(
    est: EstimateInput,
    findings: list[dict[str, Any]],
    last_admin: AdministeredScore | None,
    safety: bool,
) -> str:
    if est.value is None or est.status != "ok":
        text = f"No estimate: {est.reason or 'the model abstained'}."
    else:
        interval = (
            f" (interval {_fmt(est.interval_low)}-{_fmt(est.interval_high)})"
            if est.interval_low is not None and est.interval_high is not None
            else " (no interval)"
        )
        text = f"Estimated PHQ-9 {_fmt(est.value)}{interval}, in the {est.band} range: an estimate, not a score."
        strongest = [f["name"].lower() for f in findings if f["quotes"]][:3]
        if strongest:
            text += f" Quotes speak most to {', '.join(strongest)}."
    if last_admin is not None:
        text += (
            f" Last administered PHQ-9: {last_admin.total} ({phq9.band(last_admin.total)}) on "
            f"{_day(last_admin.when).isoformat()}."
        )
    if safety:
        text += " Item 9 (thoughts of death or self-harm) has evidence: assess suicide risk promptly."
    return text


def build_report(
    est: EstimateInput,
    *,
    conversations: Mapping[str, str] | None = None,
    family: Mapping[str, str] | None = None,
    administered: Sequence[AdministeredScore] = (),
    patient_label: str = "",
    index: CriteriaIndex | None = None,
    crisis_text: str = DEFAULT_CRISIS_TEXT,
    now: datetime | None = None,
    k_criteria: int = 2,
) -> dict[str, Any]:
    """The deterministic assistive report as a JSON-able dict (schema `SCHEMA`).

    `conversations` maps conversation id -> the patient's own message text (never a family member's):
    quotes are linked to, and verified against, these. `family` maps conversation id -> what family members
    wrote about the patient: it feeds only the clinicians' "family observations" section, never the estimate,
    the item findings or what the patient sees.
    """
    if est.value is not None and not phq9.MIN_TOTAL <= est.value <= phq9.MAX_TOTAL:
        raise InputError(f"estimate {est.value!r} is outside 0-27", field="value", fix="Pass a PHQ-9 estimate.")
    if est.items is not None and len(est.items) != 9:
        raise InputError(f"expected 9 item scores, got {len(est.items)}", field="items")
    now = now or datetime.now(UTC)
    index = index or CriteriaIndex.default()
    quotes, dropped = link_quotes(est.evidence, conversations)
    history = sorted(administered, key=lambda a: _day(a.when))
    last_admin = history[-1] if history else None

    findings: list[dict[str, Any]] = []
    for it in phq9.ITEMS:
        qs = quotes.get(it.number, [])
        score = None if est.items is None else float(est.items[it.number - 1])
        matches = index.for_item(it.number, [q.text for q in qs], k=k_criteria) if qs else []
        if qs:
            note = f"{len(qs)} quote(s) from the patient's messages."
        else:
            note = "No quote found in the text for this item (not assessed from evidence)."
        if score is not None:
            note = f"Estimated item score {score:.1f} of 3 (about '{_response_range(score)}'). " + note
        findings.append(
            {
                "number": it.number,
                "name": it.short,
                "question": it.text,
                "estimated_score": None if score is None else round(score, 2),
                "quotes": [q.as_dict() for q in qs],
                "criteria": [m.as_dict() for m in matches],
                "linked_criterion": index.linked(it.number).as_dict(),
                "note": note,
            }
        )
    covered = sum(1 for f in findings if f["quotes"])
    item9 = findings[8]
    safety = bool(item9["quotes"]) or (item9["estimated_score"] is not None and item9["estimated_score"] >= 0.5)
    if history and history[-1].items is not None and len(history[-1].items) == 9 and history[-1].items[8] > 0:
        safety = True
    key = _band_key(est.band)
    notes = list(_PATIENT_NOTES[key])
    notes += [_ITEM_NOTES[f["number"]] for f in findings if f["quotes"] and f["number"] in _ITEM_NOTES]
    return {
        "schema": SCHEMA,
        "generated_at": now.isoformat(),
        "generator": {
            "kind": "template",
            "version": TEMPLATE_VERSION,
            "criteria_kb": index.version,
            "fallback_reason": None,
        },
        "patient": patient_label,
        "estimate": {
            "label": "estimated",
            "value": None if est.value is None else round(est.value, 2),
            "low": None if est.interval_low is None else round(est.interval_low, 2),
            "high": None if est.interval_high is None else round(est.interval_high, 2),
            "band": est.band,
            "status": est.status,
            "reason": est.reason,
            "model": est.model,
            "n_user_words": est.n_user_words,
            "estimate_id": est.estimate_id,
            "window_start": None if est.window_start is None else est.window_start.isoformat(),
            "window_end": None if est.window_end is None else est.window_end.isoformat(),
        },
        "basis": _basis(est, len({q.conversation_id for qs in quotes.values() for q in qs if q.conversation_id})),
        "administered": [
            {"date": _day(a.when).isoformat(), "total": a.total, "band": phq9.band(a.total)} for a in history
        ],
        "items": findings,
        "coverage": {"items_with_quotes": covered, "quotes_dropped": dropped},
        "safety_flag": safety,
        "summary": _summary(est, findings, last_admin, safety),
        "clinician_note": "",
        "limitations": _limitations(est, covered, dropped, last_admin, now.date(), conversations is not None),
        "patient_notes": notes,
        "family_advice": list(_FAMILY_ADVICE),
        "family_observations": family_observations(family or {}),
        "crisis_line": crisis_text,
        "llm_claims": [],
    }


def family_observations(family: Mapping[str, str], *, per_item: int = 2) -> list[dict[str, Any]]:
    """What family members observed, by PHQ-9 domain: their sentences that name a domain's symptoms (the
    estimator's symptom lexicon), at most ``per_item`` per item, strongest first. For clinicians only."""
    terms = compiled_terms()
    found: dict[int, list[tuple[float, str, str]]] = {}
    for conv_id, text in family.items():
        for sentence in _SENTENCES.split(text):
            sentence = sentence.strip()
            if not 3 <= len(sentence.split()) <= 60:
                continue
            toks = tokenize(sentence)
            grams = {tuple(toks[i : i + n]) for n in (1, 2, 3) for i in range(len(toks) - n + 1)}
            for item, weights in terms.items():
                score = sum(w for g, w in weights.items() if w > 0 and g in grams)
                if score > 0:
                    found.setdefault(item, []).append((score, sentence, conv_id))
    out: list[dict[str, Any]] = []
    for it in phq9.ITEMS:
        best = sorted(found.get(it.number, []), key=lambda x: -x[0])
        seen: set[str] = set()
        for _, sentence, conv_id in best:
            if sentence in seen:
                continue
            seen.add(sentence)
            out.append({"number": it.number, "name": it.short, "text": sentence, "conversation_id": conv_id})
            if len(seen) >= per_item:
                break
    return out


def days_since(d: date | datetime | None, today: date | None = None) -> int | None:
    """Whole days from `d` to today (None when `d` is None)."""
    if d is None:
        return None
    return ((today or datetime.now(UTC).date()) - _day(d)) // timedelta(days=1)
