"""Two detectors, one decision: the pattern rules and the learned risk model read every user message with
its conversation context; the higher severity of the two (and of the context check) is the decision.

``CrisisScreen().screen(text, context) -> ScreenResult``. Synchronous, CPU, no I/O, no logging of text.
A result's ``flag`` (severity high, urgent or imminent) opens the crisis path: an escalating crisis alert
(``crisis_alert``) when a rule, the context check or a confident model score reached it, a high-priority risk
review when only an unsure model did; ``pages`` (urgent or imminent) also pages the care team; "review"
surfaces history and ambiguous distress for a clinician's look.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from phqwatch.safety.context import (
    Turn,
    affirmed_before,
    affirms,
    asks_about_risk,
    bare_answer,
    denies,
    denies_harmlessly,
    disclosure_before_question,
    follows_up,
    fragments_before_short_question,
    last_question,
    laughs_it_off,
    may_take_back,
    names_danger_place,
    preceding_fragments,
    rates_wish_to_live,
    reply_words,
    says_unsafe,
    scale_answer,
    wont_commit,
)
from phqwatch.safety.model import ModelOutput, RiskModel, load_risk_model
from phqwatch.safety.normalise import Normalised, normalise
from phqwatch.safety.rule_screen import RuleConfig, RuleScreen
from phqwatch.safety.types import (
    CRISIS_SEVERITIES,
    PAGING_SEVERITIES,
    SEVERITY_ORDER,
    Category,
    Match,
    RuleResult,
    Severity,
    Suppressed,
    max_severity,
)

if TYPE_CHECKING:  # pragma: no cover
    from phqwatch.config import Settings

__all__ = ["ScreenConfig", "ScreenResult", "CrisisScreen", "screen", "default_screen"]

_TIME = re.compile(
    r"\b(?:tonight|today|tomorrow|this\s+(?:weekend|week|evening|afternoon|morning|friday|saturday|sunday)|"
    r"(?:on|by|this|next)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|soon|now|right\s+now|"
    r"after\s+(?:work|school|my\s+shift|everyone|they)|\d{1,2}\s*(?:am|pm|o'?clock))\b|今晚|今天|明天|周末|马上|现在"
)


#: A countdown in a reply to a risk question ("the train is coming in 4 minutes", "十分钟后").
_SOON = re.compile(
    r"\bin\s+(?:\d{1,3}|a\s+few|few|two|three|five|ten|fifteen|twenty|thirty)\s+(?:min(?:ute)?s?|hours?|hrs?)\b|"
    r"(?:\d{1,3}|几|两|三|五|十|二十|半)(?:分钟|个小时|小时)(?:后|以后|之后|就)"
)


_AFRAID = re.compile(
    r"\b(?:scared|afraid|frightened|terrified|not\s+safe|unsafe|hurts?\s+me|hits?\s+me|hit\s+me|threaten\w*)\b|"
    r"害怕|不安全|打我|威胁"
)

#: Replies this short to an everyday question get at most "review" from an unsure learned model alone.
SHORT_EVERYDAY_ANSWER_WORDS = 3
#: A 0-10 rating of urges: at most LOW_RATING is a no (the model's verdict is void), HIGH_RATING or more a yes.
LOW_RATING, HIGH_RATING = 2, 3
#: A 0-10 rating of the wish to live, read the other way round: LOW_WISH_TO_LIVE or less is a risk answer,
#: HIGH_WISH_TO_LIVE or more a no.
LOW_WISH_TO_LIVE, HIGH_WISH_TO_LIVE = 3, 8
#: A reply this short, after the person disclosed urgent or imminent risk (rules, or the model at EPISODE_SCORE),
#: carries the episode on unless it takes the disclosure back ("not really" to "can you call for help?").
EPISODE_REPLY_WORDS, EPISODE_REPLY_CHARS, EPISODE_SCORE = 14, 40, 0.5


@dataclass(frozen=True)
class ScreenConfig:
    """How the screen decides. ``model_path`` None uses the shipped model; ``use_model`` False runs the rules
    alone. Thresholds override the model folder's own (lower = more recall, more alerts)."""

    rules: RuleConfig = field(default_factory=RuleConfig)
    use_model: bool = True
    model_path: str | None = None
    flag_threshold: float | None = None
    review_threshold: float | None = None
    use_context: bool = True
    #: The learned model alone grades a message urgent or imminent (which pages) only at this score or above;
    #: below it, with no rule or context hit, the message opens the crisis path at "high" (no page).
    page_score: float = 0.3
    #: A flag from the learned model alone below this score is ``confident=False``: the service files it as a
    #: high-priority risk review instead of an escalating crisis alert (0: every flag is a crisis alert).
    alert_score: float = 0.2

    @classmethod
    def from_settings(cls, settings: Settings) -> ScreenConfig:
        """The screen a deployment configured (``crisis_*`` settings)."""
        model = str(settings.crisis_model_dir) if settings.crisis_model_dir else None
        return cls(
            use_model=settings.crisis_use_model,
            model_path=model,
            flag_threshold=settings.crisis_flag_threshold,
            alert_score=settings.crisis_alert_score,
        )


@dataclass(frozen=True)
class ScreenResult:
    """The screen's decision on one user message."""

    severity: Severity
    categories: tuple[Category, ...] = ()
    score: float | None = None  # the learned model's probability of crisis risk (None: model off)
    rules: tuple[str, ...] = ()  # ids of the rules (and context checks) that fired
    matches: tuple[Match, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    detectors: tuple[str, ...] = ()  # which of "rules", "context", "model" reached this severity
    excerpt: str = ""
    #: False when only the learned model reached this severity, below ``ScreenConfig.alert_score``.
    confident: bool = True

    @property
    def hit(self) -> bool:
        """Anything worth a clinician's look (review or above)."""
        return self.severity != "none"

    @property
    def flag(self) -> bool:
        """Opens the crisis path (high, urgent or imminent)."""
        return self.severity in CRISIS_SEVERITIES

    @property
    def crisis_alert(self) -> bool:
        """Opens an escalating crisis alert: a flag that a rule, the context check or a confident model score
        reached (an unsure model's flag is filed as a high-priority risk review instead)."""
        return self.flag and self.confident

    @property
    def pages(self) -> bool:
        """Pages the care team at once (urgent or imminent)."""
        return self.severity in PAGING_SEVERITIES


class CrisisScreen:
    """Rules + learned model + context. Build once; ``screen`` or ``screen_many`` per message."""

    def __init__(self, config: ScreenConfig | None = None, *, model: RiskModel | None = None) -> None:
        self.config = config or ScreenConfig()
        self.rules = RuleScreen(self.config.rules)
        self.model: RiskModel | None = None
        if self.config.use_model:
            self.model = model or load_risk_model(self.config.model_path)
            flag = self.config.flag_threshold
            review = self.config.review_threshold
            if flag is not None or review is not None:
                m = copy.copy(self.model)  # shares the weights; only the thresholds differ
                m.flag_threshold = flag if flag is not None else self.model.flag_threshold
                m.review_threshold = review if review is not None else self.model.review_threshold
                self.model = m

    def screen(self, text: str, context: Sequence[Turn] = ()) -> ScreenResult:
        """Screen one user message read with its preceding turns (oldest first)."""
        return self.screen_many([text], [context])[0]

    def screen_many(self, texts: Sequence[str], contexts: Sequence[Sequence[Turn]] | None = None) -> list[ScreenResult]:
        """Screen several messages (the learned model scores them in one batch)."""
        ctxs: list[Sequence[Turn]] = (
            [tuple(c) for c in contexts] if contexts is not None and self.config.use_context else [()] * len(texts)
        )
        norms = [normalise(t) for t in texts]
        found = [self.rules.screen(n) for n in norms]
        outputs = self.model.predict(texts, ctxs, found) if self.model is not None and texts else [None] * len(texts)
        episodes = self._episodes([n.text for n in norms], ctxs)
        return [
            self._decide(t, n, r, c, o, e)
            for t, n, r, c, o, e in zip(texts, norms, found, ctxs, outputs, episodes, strict=True)
        ]

    def _episodes(
        self, norms: Sequence[str], contexts: Sequence[Sequence[Turn]]
    ) -> list[tuple[Severity, Category] | None]:
        """For each reply, the most severe urgent or imminent risk the person disclosed earlier in the context
        (and did not take back), when the reply carries that episode on ("gun's loaded" / "are you planning to
        use it tonight?" / "pretty much"); None otherwise. Each disclosure is read by the rules and the
        model once per batch."""
        wanted = [_episode_disclosures(n, c) for n, c in zip(norms, contexts, strict=True)]
        texts = list(dict.fromkeys(d for ds in wanted for d in ds))
        read: dict[str, tuple[Severity, Category] | None] = {}
        found = [self.rules.screen(normalise(d)) for d in texts]
        outputs = self.model.predict(texts, [()] * len(texts), found) if self.model is not None and texts else None
        for j, (d, f) in enumerate(zip(texts, found, strict=True)):
            severity, categories = f.severity, f.categories
            o = outputs[j] if outputs is not None else None
            if o is not None and o.score >= EPISODE_SCORE and SEVERITY_ORDER[o.severity] > SEVERITY_ORDER[severity]:
                severity, categories = o.severity, o.categories
            read[d] = (severity, categories[0]) if severity in PAGING_SEVERITIES and categories else None
        out: list[tuple[Severity, Category] | None] = []
        for ds in wanted:
            hits = [h for d in ds if (h := read[d]) is not None]
            out.append(max(hits, key=lambda h: SEVERITY_ORDER[h[0]]) if hits else None)
        return out

    def _decide(
        self,
        text: str,
        norm: Normalised,
        found: RuleResult,
        context: Sequence[Turn],
        output: ModelOutput | None,
        episode: tuple[Severity, Category] | None = None,
    ) -> ScreenResult:
        if not text or not text.strip():
            return ScreenResult("none", score=None if output is None else output.score)
        found = self._with_fragments(text, context, found)
        severity: Severity = found.severity
        categories: list[Category] = list(found.categories)
        rules = list(found.rules)
        detectors = ["rules"] if found.hit else []
        excerpts = [m.excerpt for m in found.matches]

        ctx = self._context_hit(norm.text, context) if context else None
        if ctx is None and episode is not None:
            ctx = (*episode, "context_episode")
        if ctx is not None:
            sev, cat, rule = ctx
            if SEVERITY_ORDER[sev] >= SEVERITY_ORDER[severity]:
                detectors.append("context")
            severity = max_severity(severity, sev)
            categories.append(cat)
            rules.append(rule)
            excerpts.append(_clip(text))

        without_model = severity
        score = None
        if output is not None:
            score = output.score
            if output.severity != "none" and not self._answers_a_harmless_question(norm.text, context):
                graded = output.severity
                if not detectors and output.score < self.config.page_score and graded in PAGING_SEVERITIES:
                    graded = "high"  # an unsure model alone opens the crisis path but does not page
                if (
                    not detectors
                    and output.score < self.config.page_score
                    and self._short_everyday_answer(norm.text, context)
                ):
                    graded = "review"  # "the kids" to "what would you like to talk about?": a look, no crisis
                if SEVERITY_ORDER[graded] >= SEVERITY_ORDER[severity]:
                    detectors.append("model")
                severity = max_severity(severity, graded)
                categories.extend(output.categories)
                if not excerpts:
                    excerpts.append(_clip(text))
        if severity == "none":
            return ScreenResult("none", score=score, suppressed=found.suppressed)
        return ScreenResult(
            severity,
            tuple(dict.fromkeys(categories)),
            score,
            tuple(dict.fromkeys(rules)),
            found.matches,
            found.suppressed,
            tuple(dict.fromkeys(detectors)),
            " … ".join(dict.fromkeys(excerpts))[:500],
            confident=without_model in CRISIS_SEVERITIES or score is None or score >= self.config.alert_score,
        )

    def _with_fragments(self, text: str, context: Sequence[Turn], found: RuleResult) -> RuleResult:
        """Read the message joined with the user's preceding fragments (or, after a short question such as
        "better off how?", with what the user said before it); keep the joined reading when it is more severe
        and its match reaches into this message."""
        frags = preceding_fragments(context) if self.config.use_context else []
        if not frags and self.config.use_context:
            frags = fragments_before_short_question(context)
        if not frags:
            return found
        prefix = " ".join(frags) + " "
        joined = self.rules.screen(prefix + text)
        if SEVERITY_ORDER[joined.severity] <= SEVERITY_ORDER[found.severity]:
            return found
        reaching = tuple(m for m in joined.matches if m.span[1] > len(prefix))
        if not reaching:
            return found
        top = max((m.severity for m in reaching), key=SEVERITY_ORDER.__getitem__)
        return RuleResult(True, top, reaching, found.suppressed)

    def _short_everyday_answer(self, norm: str, context: Sequence[Turn]) -> bool:
        """A reply of at most three words to a question that is not about risk ("the kids", "my mum"): an
        unsure model alone grades it "review" at most (the rules, the context check and a confident model
        still read it: "took them all" stays a crisis)."""
        question = last_question(context) if self.config.use_context else None
        if question is None or asks_about_risk(normalise(question).text):
            return False
        return reply_words(norm) <= SHORT_EVERYDAY_ANSWER_WORDS

    def _answers_a_harmless_question(self, norm: str, context: Sequence[Turn]) -> bool:
        """Whether the model's verdict on a short answer is void: a bare yes or no ("yeah") carries no risk
        of its own when the question before it is not about risk, and a reply that only denies a risk
        question ("no, never"; not "no. i took the pills") is what the person said (the rules and the
        context check still read it)."""
        question = last_question(context) if self.config.use_context else None
        q = normalise(question).text if question is not None else ""
        if question is not None and rates_wish_to_live(q):
            live = scale_answer(q, norm)
            return live is not None and live >= HIGH_WISH_TO_LIVE  # "9, i've got a lot to live for"
        asked = asks_about_risk(q) if question is not None else None
        if asked is None:
            return bare_answer(norm)
        rating = scale_answer(q, norm)
        if rating is not None:
            return rating <= LOW_RATING  # "0. genuinely. today's been nice" to "0-10, how strong are the urges?"
        return asked.answered_safely(norm)

    def _context_hit(self, norm: str, context: Sequence[Turn]) -> tuple[Severity, Category, str] | None:
        """A short reply that affirms the risk question before it (or rates it 3 or more out of 10), says no to
        a safety check, names a bridge, roof or railway when asked where the person is, or affirms a follow-up
        question about a risk the person disclosed just before it ("most days now" to "how often do
        those thoughts come?" after "i keep wishing i won't wake up")."""
        question = last_question(context)
        if question is None:
            return None
        q = normalise(question).text
        if names_danger_place(q, norm):
            return "imminent", "suicide", "context_place"
        if rates_wish_to_live(q):
            live = scale_answer(q, norm)
            return ("high", "suicide", "context_live_scale") if live is not None and live <= LOW_WISH_TO_LIVE else None
        if wont_commit(q, norm):
            return "urgent", "suicide", "context_no_commitment"
        asked = asks_about_risk(q)
        if asked is None:
            return self._disclosure_followed_up(norm, context)
        if not asked.yes_is_risk:
            if asked.category == "harmed-by-others" and len(norm.split()) > 5 and not _AFRAID.search(norm):
                return None  # "no we're fine now, it was one argument": a no that says all is well at home
            return (asked.severity, asked.category, asked.rule) if says_unsafe(norm) else None
        rating = scale_answer(q, norm)
        if rating is not None:
            return (asked.severity, asked.category, asked.rule) if rating >= HIGH_RATING else None
        if asked.category in ("suicide", "self-harm") and _SOON.search(norm) and not denies(norm):
            return "imminent", asked.category, asked.rule  # "the train is coming in 4 minutes"
        if not affirms(norm):
            return None
        severity: Severity = asked.severity
        if asked.category in ("suicide", "self-harm") and _TIME.search(norm):
            severity = "imminent"
        return severity, asked.category, asked.rule

    def _disclosure_followed_up(self, norm: str, context: Sequence[Turn]) -> tuple[Severity, Category, str] | None:
        """A yes (or a time given to "when?") to a question about what the user disclosed just before it, or
        to a follow-up of a risk question they said yes to earlier ("are you thinking of killing yourself?" /
        "yes" / ... / "are you thinking of doing it tonight?" / "yes")."""
        question = normalise(last_question(context) or "").text
        if laughs_it_off(norm):
            return None  # "the bridge club! lol. we're playing duplicate tonight"
        followed = follows_up(question, norm)
        disclosure = disclosure_before_question(context)
        if disclosure is not None and (affirms(norm) or followed):
            found = self.rules.screen(normalise(disclosure))
            if found.severity in CRISIS_SEVERITIES and found.categories:
                return found.severity, found.categories[0], "context_disclosure"
        earlier = affirmed_before(context[:-1]) if followed else None
        if earlier is None:
            return None
        severity: Severity = earlier.severity
        if earlier.category in ("suicide", "self-harm") and (_TIME.search(question) or _TIME.search(norm)):
            severity = "imminent"
        return severity, earlier.category, "context_follow_up"


def _takes_back(question: str, reply: str) -> bool:
    """Whether a (normalised) reply may take back what came before it: it answers "what do you mean?" or
    "where are you?", says "lol, a song", says no to a risk question (alone, or with an explanation that
    carries nothing on: "no! it's a craft blade") or yes to a safety check."""
    if may_take_back(question, reply):
        return True
    asked = asks_about_risk(question)
    if asked is not None and asked.yes_is_risk and denies_harmlessly(reply):
        return True  # "no! it's a craft blade, i'm doing linocut printing"
    return asked is not None and asked.answered_safely(reply)


def _episode_disclosures(norm: str, context: Sequence[Turn]) -> list[str]:
    """The user's turns before the assistant's last turn, since the last one that took things back, when
    this (normalised) reply is short and does not take them back itself."""
    question = last_question(context)
    if question is None or len(norm.split()) > EPISODE_REPLY_WORDS or len(norm) > EPISODE_REPLY_CHARS * 4:
        return []
    if len(re.findall(r"[\u3400-\u9fff]", norm)) > EPISODE_REPLY_CHARS or _takes_back(normalise(question).text, norm):
        return []
    last = max(i for i, t in enumerate(context) if t.role == "assistant")
    out: list[str] = []
    asked: str | None = None
    for t in context[:last]:
        if t.role == "assistant":
            asked = t.text
            continue
        if asked is not None and _takes_back(normalise(asked).text, normalise(t.text).text):
            out = []
        out.append(t.text)
    return out


def _clip(text: str, n: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


@lru_cache(maxsize=1)
def default_screen() -> CrisisScreen:
    """The screen with the shipped rules and model, built once per process."""
    return CrisisScreen()


def screen(text: str, context: Sequence[Turn] = ()) -> ScreenResult:
    """Screen one user message with the default screen."""
    return default_screen().screen(text, context)
