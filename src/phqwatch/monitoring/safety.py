"""The crisis-safety screen: every incoming user message, synchronously, independent of any model score.

``screen(text) -> SafetyResult``. Pure regex (precompiled), no model, no I/O, no logging of text.

Policy (decided here, tested by tests/fixtures/safety/phrasings.jsonl):
- **High recall first; the screen errs toward a human.** Any hit opens an urgent alert for the care team
  (the service's job); ``severity`` only orders the queue:
  ``urgent`` intent, plan, means, method research, current self-harm, direct ideation, farewell notes;
  ``high`` passive ideation, burden and farewell statements, euphemisms; ``review`` bare mentions, calls to
  a crisis line, ambiguous distress ("I can't do this anymore") and **past history**.
- **Past history is surfaced, at lower severity.** "I used to self-harm years ago" or "I haven't cut in
  two years" is a known risk factor, so it is a ``review`` hit, never silently dropped. A present-time cue in
  the same sentence ("again", "lately", "tonight", "still") keeps the original severity.
- **Suppressed (not a hit), each reason recorded in ``SafetyResult.suppressed``:**
  negation of the speaker's own risk in the same clause ("I'd never hurt myself", "I'm not suicidal"),
  unless a contrast follows ("... but sometimes I think about it"); hedges are not negations ("I'm not
  sure I want to live", "I can't stop thinking about killing myself"); reported speech whose subject is
  a third party ("my friend said she wants to die") unless the phrase itself is first person ("my sister
  says I should kill myself" stays a hit); quotes attributed to someone else, song lyrics and titles
  ('the chorus goes "I want to die"'), but not the user's own quoted words ('I told her "I want to die"');
  idioms and accidents ("this traffic is killing me", "I hurt myself at the gym", "I could die of
  embarrassment"); educational or clinical mentions of a bare term ("an essay on suicide prevention")
  unless the speaker describes their own state ("I feel suicidal after class").
- Third-party risk ("my brother is suicidal") is not a user-risk hit; it is recorded as suppressed with the
  reason ``reported speech`` so a service may surface it separately.

Measured on three hand-written sets in tests/fixtures/safety: phrasings.jsonl (tuned on), heldout.jsonl and
blind.jsonl (each first measured blind, then used to widen the rules; see their tests for the blind numbers).

Speed: a rule's regex runs only when the message holds a literal from each of its (up to two) most selective
necessary literal sets; one trie-shaped regex scan per message finds those literals.

Configurable through SafetyConfig: extra rules, disabled rules, disabled filters (e.g. turn off
``negation`` for maximum recall), excerpt length. Leetspeak between letters is normalised before matching
("k1ll mys3lf"); spans always index the original text.
"""

from __future__ import annotations

import re
import re._constants as _sc  # the regex parser ships with CPython (sre_parse before 3.11)
import re._parser as _sp
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from phqwatch.errors import ConfigError

__all__ = [
    "Severity",
    "SEVERITY_ORDER",
    "FILTERS",
    "Rule",
    "Match",
    "Suppressed",
    "SafetyResult",
    "SafetyConfig",
    "SafetyScreen",
    "DEFAULT_RULES",
    "screen",
    "screen_many",
]

Severity = Literal["none", "review", "high", "urgent"]
SEVERITY_ORDER: dict[str, int] = {"none": 0, "review": 1, "high": 2, "urgent": 3}
FILTERS = ("idiom", "quoted", "lyrics", "reported speech", "educational", "negated", "history")


@dataclass(frozen=True)
class Rule:
    """One pattern. ``first_person``: the phrase itself names the speaker (myself, my life), so a
    third-party subject earlier in the sentence does not make it reported speech. ``mention``: a bare term
    that is suppressed in an educational or clinical context."""

    name: str
    category: str
    severity: Severity
    pattern: str
    first_person: bool = False
    mention: bool = False


@dataclass(frozen=True)
class Match:
    span: tuple[int, int]
    excerpt: str
    rule: str
    category: str
    severity: Severity
    note: str | None = None


@dataclass(frozen=True)
class Suppressed:
    span: tuple[int, int]
    rule: str
    reason: str


@dataclass(frozen=True)
class SafetyResult:
    hit: bool
    severity: Severity
    matches: tuple[Match, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.category for m in self.matches))


# --- building blocks ----------------------------------------------------------------------------------
ME = r"(?:my\s*sel[fv]e?|myslef|mysefl|mself|meself|my\s+own\s+self)"
SUI = r"(?:suicide|sucide|suicde|suiside|suicid|sewer\s*slide|suicidal|suicdal|sucidal|suicidial|suisidal)"
NOT = r"(?:don'?t|do\s+not|dont|no\s+longer|doesn'?t|not|never)"
MEANS_DRUGS = r"(?:pills|tablets|meds|medications?|painkillers|sleeping\s+pills|paracetamol|tylenol|insulin)"
WANT = r"(?:want(?:s|ed|ing)?|wanna|wnat|wnt|wish(?:ed|ing)?|ready|would\s+rather|'d\s+rather|d\s+rather)"
PLACE = r"(?:bridge|roof|rooftop|building|balcony|cliff|window|tower|overpass|parking\s+garage|ledge)"

DEFAULT_RULES: tuple[Rule, ...] = (
    # --- direct ideation ---------------------------------------------------------------------------
    Rule(
        "kill_myself",
        "direct ideation",
        "urgent",
        rf"\b(?:kil+(?:ing|in|ed)?|murder(?:ing)?|unaliv(?:e|ing)|off(?:ing)?)\s*{ME}",
        first_person=True,
    ),
    Rule("kms", "direct ideation", "urgent", r"(?<!\d)(?<!\d\s)\bkms\b", first_person=True),
    Rule(
        "want_to_die",
        "direct ideation",
        "urgent",
        rf"\b{WANT}\s+(?:to\s+|too\s+|2\s+)?(?:just\s+)?(?:die|be\s+dead|not\s+be\s+alive|stop\s+existing|"
        rf"not\s+exist|be\s+gone\s+forever)\b|\b{WANT}\s+(?:to\s+|too\s+|2\s+)?dye(?=\s*(?:[.!?,;\n]|$)|"
        r"\s+(?:already|now|tonight|so|lol|fr|ngl|tbh|honestly|rn)\b)",
    ),
    Rule(
        "wish_dead",
        "direct ideation",
        "urgent",
        r"\bwish(?:ed|ing)?\s+(?:that\s+)?i\s*(?:was|were|'d|had|could|would)\s+(?:just\s+)?(?:be\s+)?"
        r"(?:dead|die|died|never\s+been\s+born|not\s+born|not\s+alive)",
        first_person=True,
    ),
    Rule(
        "end_my_life",
        "direct ideation",
        "urgent",
        r"\b(?:end(?:ing|ed)?|take|taking|took|finish(?:ing|ed)?|stop(?:ping)?)\s+my\s+(?:own\s+)?"
        r"(?:life|lfie|lief|lyfe|liife)\b(?!'|\s+back\b)",
        first_person=True,
    ),
    Rule(
        "end_it_all",
        "direct ideation",
        "urgent",
        r"\bend(?:ing|ed)?\s+(?:it\s+all|everything|it\s+(?:tonight|today|now|soon|for\s+good)|things\s+for\s+good)\b",
    ),
    Rule("commit_suicide", "direct ideation", "urgent", rf"\bcommit(?:ting|ted)?\s+{SUI}"),
    Rule(
        "thoughts_of_suicide",
        "direct ideation",
        "urgent",
        rf"\b(?:thoughts?|thinking|think|thought|ideation|urges?|fantasi[sz]\w*|plans?|planning|considering|"
        rf"contemplat\w*)\s+(?:about|of|on)\s+(?:{SUI}|killing\s+{ME}|ending\s+(?:it|my\s+life|things)|"
        rf"taking\s+my\s+(?:own\s+)?life|hurting\s+{ME}|self[\s-]*harm\w*|cutting\s+{ME}?)",
        mention=True,
    ),
    Rule(
        "thoughts_of_death",
        "passive ideation",
        "high",
        r"\b(?:thoughts?|thinking|think|thought|fantasi[sz]\w*|dream\w*|obsess\w*)\s+(?:a\s+lot\s+)?(?:about|of)\s+"
        r"(?:dying|death|being\s+dead|my\s+(?:own\s+)?death|not\s+being\s+(?:here|alive|around))",
    ),
    Rule(
        "suicidal",
        "direct ideation",
        "urgent",
        r"\b(?:suicidal|suicdal|sucidal|suicidial|suisidal|suicidle|suicidel|su[i1]c[i1]dal)\b",
        mention=True,
    ),
    Rule("suicide_word", "mention", "review", r"\b(?:suicide|sucide|suicde|suiside)\b", mention=True),
    # --- intent, plan, means, method research --------------------------------------------------------
    Rule(
        "intent",
        "intent/plan",
        "urgent",
        rf"\b(?:going\s+to|gonna|i\s+will|i'll|ill|plan(?:ning)?\s+to|decided\s+to|ready\s+to|about\s+to|"
        rf"intend\s+to|tonight\s+i'?ll)\s+(?:finally\s+|just\s+|actually\s+)?(?:kill\s*{ME}|end\s+(?:it|it\s+all|"
        rf"my\s+life|things)|take\s+my\s+(?:own\s+)?life|commit\s+{SUI}|do\s+it\s+(?:tonight|today|this\s+time))\b",
    ),
    Rule(
        "the_night",
        "intent/plan",
        "urgent",
        r"\b(?:tonight|today|this\s+weekend|tomorrow)(?:'s|s|\s+is|\s+will\s+be)\s+the\s+(?:night|day)\b",
    ),
    Rule(
        "stockpile",
        "plan/means",
        "urgent",
        rf"\b(?:stockpil\w*|hoard\w*|sav(?:ed|ing)\s+up|count(?:ed|ing)\s+(?:out\s+)?|collect(?:ed|ing))\s+"
        rf"(?:up\s+)?(?:my\s+|all\s+(?:my|the)\s+|the\s+)?(?:\w+\s+)?{MEANS_DRUGS}",
    ),
    Rule(
        "take_all_pills",
        "plan/means",
        "urgent",
        rf"\b(?:enough\s+(?:\w+\s+)?{MEANS_DRUGS}\s+to|(?:take|taking|swallow\w*|down(?:ing)?)\s+(?:all\s+(?:of\s+)?"
        rf"(?:my|the|them|these|those)|the\s+whole\s+(?:bottle|pack|box)|a\s+(?:whole|full)\s+(?:bottle|pack|box)|"
        rf"every\s+(?:pill|tablet)))",
    ),
    Rule(
        "overdose",
        "plan/means",
        "urgent",
        rf"\b(?:overdos\w*|od\s+on|lethal\s+dose|how\s+many\s+(?:\w+\s+){{0,2}}{MEANS_DRUGS}\s+(?:to|would|does|it\s+(?:would|will|takes|took)|it'?d|"
        rf"i'?d\s+need|i\s+would\s+need))",
        mention=True,
    ),
    Rule(
        "hang",
        "plan/means",
        "urgent",
        rf"\b(?:noose|hang(?:ing)?\s+{ME}|tie\s+(?:a|the)\s+(?:rope|noose)|bought\s+(?:a\s+)?rope)",
    ),
    Rule(
        "gun",
        "plan/means",
        "urgent",
        rf"\b(?:(?:gun|pistol|rifle|shotgun)\s+(?:to\s+my\s+(?:head|mouth|temple)|in\s+my\s+mouth)|shoot\s+{ME}|"
        r"blow\s+my\s+(?:brains|head)\s+(?:out|off))",
    ),
    Rule(
        "means_thinking",
        "plan/means",
        "urgent",
        r"\b(?:gun|pistol|rifle|pills|rope|razor|blades?|bridge|knife)\b[^.!?\n]{0,60}\b(?:keep|been|can'?t\s+stop)\s+"
        r"(?:(?:thinking|staring|looking)\s+(?:about|at)|holding|touching|handling|playing\s+with|taking\s+out|loading)\s+"
        r"(?:it|them|using)",
    ),
    Rule(
        "jump",
        "plan/means",
        "urgent",
        rf"\bjump(?:ing|ed)?\s+(?:off|from|in\s+front\s+of)\s+(?:a|the|my|this|that|our)\s+(?:\w+\s+)?"
        rf"(?:{PLACE}|train|car|bus|truck)",
    ),
    Rule(
        "step_in_front",
        "plan/means",
        "urgent",
        rf"\b(?:step(?:ping)?|walk(?:ing)?|throw(?:ing)?\s+{ME}|lie\s+down|lay\s+down)\s+(?:out\s+)?"
        r"(?:in\s+front\s+of|into|onto|on)\s+(?:a|the|an)?\s*(?:oncoming\s+)?(?:train|tracks|car|bus|truck|traffic)",
    ),
    Rule(
        "drive_into",
        "plan/means",
        "urgent",
        r"\b(?:want(?:ed|ing)?\s+to|wanna|thought\s+about|thinking\s+(?:about|of)|tempted\s+to|urge\s+to|"
        r"(?:could|should)\s+just|feel\s+like|wish\s+i\s+could)\s+(?:just\s+)?(?:drive|driving|crash|crashing|"
        r"swerv\w*)\s+(?:my\s+car\s+)?(?:into|off)\s+",
    ),
    Rule(
        "method_research",
        "plan/means",
        "urgent",
        rf"\b(?:(?:googl\w*|search(?:ed|ing)?|look(?:ed|ing)\s+up|research(?:ed|ing)?)\s+(?:how\s+to\s+"
        rf"(?:kill\s+{ME}|die|overdose|hang|end\s+(?:it|my\s+life))|ways\s+to\s+(?:die|kill\s+{ME}|end\s+it))|"
        rf"(?:painless|quick|quickest|easiest|easy|best|fastest)\s+(?:way|ways|method|methods)\s+to\s+"
        rf"(?:die|kill\s+{ME}|end\s+(?:it|my\s+life|things))|how\s+(?:do\s+i|to|can\s+i|would\s+i|could\s+i)\s+"
        rf"(?:kill\s+{ME}|end\s+my\s+life|die\s+(?:painlessly|quickly|without))|painless\s+(?:way|ways|methods?)\s+"
        r"(?:to\s+go|out)\b|how\s+(?:long|much\s+blood)\s+(?:\w+\s+){0,3}?to\s+(?:bleed\s+out|drown|suffocate|"
        r"lose\s+consciousness)|how\s+deep\s+(?:to|should\s+i|do\s+i\s+(?:need|have)\s+to)\s+cut)",
    ),
    Rule(
        "note",
        "farewell",
        "urgent",
        r"\b(?:(?:wrote|writing|write|written|left|leaving|finished|drafted|drafting)\s+(?:a|my|the)\s+"
        r"(?:suicide|goodbye|farewell)\s+(?:note|letter|message)s?|suicide\s+note)",
        mention=True,
    ),
    Rule(
        "attempt",
        "history/attempt",
        "urgent",
        rf"\b(?:suicide\s+attempt|attempted\s+(?:suicide|to\s+kill\s+{ME})|tried\s+to\s+(?:kill\s+{ME}|"
        rf"end\s+my\s+life|take\s+my\s+(?:own\s+)?life|overdose|hang\s+{ME}|od)|my\s+(?:first|last|second|"
        r"previous|latest)\s+attempt|\bi\s+attempted(?=\s*(?:[.!?,;\n]|$)|\s+(?:and|but|i|again|last|twice|before|"
        r"when|in)\b))",
    ),
    # --- passive ideation --------------------------------------------------------------------------
    Rule(
        "dont_want_to_live",
        "passive ideation",
        "high",
        rf"\b{NOT}\s+(?:really\s+|even\s+)?(?:want|wanna|wish)\s+(?:to\s+)?(?:be\s+alive|live|exist|wake\s+up|"
        r"go\s+on|keep\s+(?:living|going|existing)|be\s+(?:here|around)\s+(?:anymore|any\s+more|on\s+this\s+earth|"
        r"in\s+this\s+world))(?!\s+(?:with|in|near|at|there|by|like\s+that))",
    ),
    Rule(
        "unsure_want_to_live",
        "passive ideation",
        "high",
        r"\b(?:not\s+sure|don'?t\s+know\s+(?:if|whether)|doubt|unsure)\s+(?:if\s+|that\s+|whether\s+)?i\s+"
        r"(?:\w+\s+)?(?:want|wanna|can)\s+(?:to\s+)?(?:live|be\s+alive|go\s+on|keep\s+(?:going|living)|"
        r"stay\s+alive|be\s+here)",
    ),
    Rule(
        "never_wake",
        "passive ideation",
        "high",
        r"\b(?:(?:hope|wish|pray(?:ing)?|wouldn'?t\s+mind\s+if)\s+(?:that\s+)?i\s+(?:don'?t|do\s+not|won'?t|"
        r"never|didn'?t|wouldn'?t)\s+wake\s+up|(?:sleep|go\s+to\s+sleep|fall\s+asleep)\s+(?:and\s+)?"
        r"(?:never|not)\s+wake\s+up|(?:never|not)\s+wak(?:e|ing)\s+up\s+(?:again|ever|tomorrow))",
    ),
    Rule("better_off_dead", "passive ideation", "high", r"\bbetter\s+off\s+dead\b"),
    Rule(
        "no_reason_to_live",
        "passive ideation",
        "high",
        r"\b(?:no|nothing\s+to|any|see\s+(?:a|any|the))\s+(?:reason|point|purpose)\s+(?:for\s+me\s+)?(?:to|in|for|of)\s+"
        r"(?:live|living|go\s+on|going\s+on|be\s+alive|being\s+alive|keep\s+going|carry\s+on|exist|existing|"
        r"life|staying\s+alive)|\bwhat'?s\s+the\s+point\s+(?:of|in)\s+(?:living|life|going\s+on|being\s+alive|"
        r"existing|staying\s+alive)",
    ),
    Rule(
        "life_not_worth",
        "passive ideation",
        "high",
        r"\b(?:life\s+(?:is\s*n'?t|isnt|is\s+not|'s\s+not|s\s+not|ain'?t|feels\s+not|is\s+no\s+longer)\s+"
        r"worth\s+(?:living|it)|not\s+worth\s+living)",
    ),
    Rule(
        "tired_of_living",
        "passive ideation",
        "high",
        r"\b(?:tired|sick|exhausted|done)\s+(?:of|with)\s+(?:living|being\s+alive|life(?!\s+(?:admin|stuff|chores|in|here|as|at|with|on|insurance))|existing|breathing|"
        r"being\s+here|everything\s+and\s+everyone)",
    ),
    Rule(
        "disappear",
        "passive ideation",
        "high",
        r"\b(?:want|wish|wanna)\s+(?:to\s+|i\s+could\s+)?(?:just\s+)?(?:disappear|vanish|fade\s+away|"
        r"cease\s+to\s+exist|stop\s+existing|not\s+exist)(?:\s+forever)?"
        r"(?!\s+(?:into|in\s+(?:a|the|my)|for\s+(?:a|the)|from\s+(?:social|the\s+internet|work)|to\s+(?:a|the|an)\b))",
    ),
    Rule(
        "dont_care_if_die",
        "passive ideation",
        "high",
        r"\b(?:don'?t|wouldn'?t|dont)\s+(?:care|mind)\s+(?:if\s+i\s+(?:die|died|dying|didn'?t\s+wake|got\s+hit|"
        r"crashed|never\s+woke)|(?:dying|being\s+dead))",
    ),
    Rule(
        "hope_hit",
        "passive ideation",
        "high",
        r"\b(?:hope|wish|pray)\s+(?:that\s+)?(?:a|some|the|my)\s+(?:car|bus|truck|train)\s+(?:hits|hit|runs\s+over)\s+me|"
        r"\b(?:hope|wish|pray)\s+(?:that\s+)?(?:the|my)\s+(?:plane|flight)\s+(?:crash\w*|goes\s+down)",
    ),
    Rule(
        "death_relief",
        "passive ideation",
        "high",
        r"\b(?:death|dying|being\s+dead)\s+(?:would\s+be|sounds|seems|feels|would\s+feel)\s+(?:like\s+)?(?:a\s+)?"
        r"(?:relief|peaceful|nice|better|easier|welcome|good)",
    ),
    Rule(
        "cant_go_on",
        "distress",
        "review",
        r"\bcan'?t\s+(?:go\s+on|keep\s+(?:going|living)|do\s+(?:this|it|life)\s+any\s*more|"
        r"take\s+(?:it|this|the\s+pain)\s+any\s*more|live\s+like\s+this)\b|\b(?:don'?t|dont)\s+think\s+i\s+can\s+"
        r"(?:go\s+on|keep\s+(?:going|living)|do\s+this\s+any\s*more)\b",
    ),
    # --- burden and farewell -----------------------------------------------------------------------
    Rule(
        "better_off_without_me",
        "farewell/burden",
        "high",
        r"\b(?:better\s+off|happier|easier)\s+(?:without\s+me|if\s+i\s*(?:was|were|'m|wasn'?t|weren'?t)\s+"
        r"(?:not\s+)?(?:here|around|gone|dead|alive))",
        first_person=True,
    ),
    Rule(
        "burden",
        "farewell/burden",
        "high",
        r"\b(?:(?:i\s*(?:am|'m|m)|im|i\s+feel\s+like|feel\s+like|i'?ve\s+become)\s+(?:(?!not\b|never\b|no\b)\w+\s+){0,2}(?:a\s+)?burden\b|"
        r"burden\s+(?:to|on|for)\s+(?:everyone|every\s*one|my\s+(?:family|friends|parents|kids|wife|husband)|"
        r"them|people))",
        first_person=True,
    ),
    Rule(
        "no_one_would_miss",
        "farewell/burden",
        "high",
        r"\b(?:(?:no\s*one|nobody|no-one)\s+(?:would|will)\s+(?:even\s+)?(?:care|notice|miss\s+me)\s+if\s+i\s+"
        r"(?:died|was\s+gone|were\s+gone|disappeared|killed|left\s+for\s+good)|if\s+i\s+(?:died|disappeared|"
        r"was\s+gone|were\s+gone)[^.!?\n]{0,30}(?:no\s*one|nobody|no-one)\s+would)",
        first_person=True,
    ),
    Rule(
        "wont_be_around",
        "farewell/burden",
        "urgent",
        r"\b(?:won'?t|will\s+not|wont)\s+be\s+(?:around|here|alive)\s+(?:much\s+longer|for\s+(?:much\s+)?long|"
        r"to\s+see|by\s+(?:then|tomorrow|next\s+week))",
    ),
    Rule(
        "goodbye",
        "farewell/burden",
        "urgent",
        r"\b(?:this\s+is\s+(?:my\s+)?(?:goodbye|good\s*bye|farewell|the\s+end\s+for\s+me)|goodbye\s+(?:forever|"
        r"cruel\s+world|world)|saying\s+(?:my\s+)?goodbyes?\s+(?:to\s+everyone|for\s+good|forever)|"
        r"(?:last|final)\s+(?:message|goodbye|words)\s+(?:from\s+me|ever|you'?ll\s+(?:get|hear))|"
        r"this\s+is\s+my\s+(?:last|final)\s+(?:message|post|text|goodbye)|(?:said|saying|say)\s+my\s+goodbyes\b|"
        r"the\s+last\s+time\s+(?:you'?ll|you\s+will|anyone\s+will|you'?re\s+going\s+to)\s+(?:ever\s+)?(?:hear\s+from|"
        r"see|talk\s+to)\s+me|you\s+(?:won'?t|will\s+not|wont)\s+(?:ever\s+)?hear\s+from\s+me\s+(?:again|any\s*more))",
    ),
    Rule(
        "by_the_time",
        "farewell/burden",
        "urgent",
        r"\bby\s+the\s+time\s+(?:you|anyone|someone|they)\s+(?:read|reads|see|sees|find|finds)\s+this",
    ),
    Rule(
        "when_im_gone",
        "farewell/burden",
        "high",
        r"\b(?:when|after|once)\s+i'?m\s+(?:gone|dead|not\s+(?:here|around)\s+any\s*more)",
        first_person=True,
    ),
    Rule(
        "giving_away",
        "farewell/burden",
        "high",
        r"\b(?:giv(?:e|ing)|gave)\s+away\s+(?:all\s+)?(?:of\s+)?my\s+(?:stuff|things|belongings|possessions)|"
        r"\b(?:giv(?:e|ing)|gave|given)\s+(?:all\s+)?(?:of\s+)?my\s+(?:\w+\s+){0,2}?(?:stuff|things|belongings|"
        r"possessions)\s+away\b",
    ),
    Rule(
        "wont_have_to_deal",
        "farewell/burden",
        "high",
        r"\b(?:won'?t|will\s+not|never)\s+have\s+to\s+(?:deal\s+with|worry\s+about|put\s+up\s+with|see)\s+me\s+"
        r"(?:again|anymore|any\s+more|much\s+longer)",
        first_person=True,
    ),
    # --- self-harm ---------------------------------------------------------------------------------
    Rule(
        "harm_myself",
        "self-harm",
        "urgent",
        rf"\b(?:cut|cutting|cuts|burn|burning|burned|burnt|hurt|hurting|harm|harming|hit|hitting|punch(?:ing|ed)?|"
        rf"scratch(?:ing|ed)?|carv(?:e|ing|ed)|starv(?:e|ing|ed)|bruis(?:e|ing|ed)|stab(?:bing|bed)?|"
        rf"mutilat(?:e|ing|ed))\s+(?:up\s+)?{ME}",
        first_person=True,
    ),
    Rule(
        "self_harm_word",
        "self-harm",
        "urgent",
        r"\b(?:self[\s-]*(?:harm\w*|injur\w*|mutilat\w*)|selfharm\w*|s3lf\s*h[a4]rm\w*)",
        mention=True,
    ),
    Rule(
        "cut_body",
        "self-harm",
        "urgent",
        r"\b(?:cut|cutting|cuts|slit|slitting|slash\w*|carv\w*|scratch\w*|burn(?:ing|ed|t)?)\s+(?:\w+\s+){0,2}?(?:on\s+|into\s+)?"
        r"(?:my|both\s+my|both)\s+(?:wrists?|arms?|thighs?|legs?|skin|stomach|hips?|forearms?)",
        first_person=True,
    ),
    Rule(
        "relapse",
        "self-harm",
        "urgent",
        r"\b(?:relaps\w*[^.!?\n]{0,30}\b(?:cutting|self[\s-]*harm\w*|sh|burning)\b|(?:cutting|self[\s-]*harm\w*|"
        r"sh)\s+again\b|urges?\s+to\s+(?:cut|sh|self[\s-]*harm|burn|hurt\s+myself|hit\s+myself))",
    ),
    Rule(
        "fresh_wounds",
        "self-harm",
        "urgent",
        r"\b(?:fresh|new)\s+(?:cuts|scars|wounds|burns)\b|\bhid(?:e|ing)\s+(?:my|the)\s+(?:cuts|wounds|burns)",
    ),
    # --- euphemisms and coded language -------------------------------------------------------------
    Rule(
        "euphemism_unalive",
        "euphemism",
        "high",
        r"\b(?:un[\s-]*aliv(?:e|ing|ed)|sewer\s*slide|self[\s-]*delet(?:e|ing|ion)|ctb)\b",
    ),
    Rule(
        "euphemism_sleep",
        "euphemism",
        "high",
        r"\b(?:permanent\s+solution|(?:take|taking)\s+the\s+easy\s+way\s+out|(?:go|going)\s+to\s+sleep\s+forever|"
        r"sleep\s+forever|eternal\s+sleep|end\s+(?:the|my)\s+(?:pain|suffering)\s+(?:for\s+good|forever|"
        r"permanently)|end\s+my\s+suffering|make\s+(?:it|it\s+all|the\s+pain|everything)\s+stop\s+(?:for\s+good|forever|"
        r"permanently)|(?:check|clock|tap)\s+out\s+(?:early|for\s+good|permanently)|(?:join|be\s+with)\s+(?:my\s+)?\w+\s+"
        r"(?:in\s+heaven|on\s+the\s+other\s+side))",
    ),
    Rule(
        "self_harm_history",
        "past history",
        "review",
        r"\b(?:(?:haven'?t|havent|hasn'?t|not)\s+(?:cut|self[\s-]*harmed|hurt\s+myself|burned\s+myself|relapsed)\s+"
        r"(?:in|since|for)\b|scars\s+from\s+(?:cutting|self[\s-]*harm\w*|burning)|clean\s+(?:from|off)\s+(?:cutting|self[\s-]*harm\w*)|"
        r"\d+\s+(?:days?|weeks?|months?|years?)\s+(?:clean|free)\s+(?:from|of)\s+(?:cutting|self[\s-]*harm\w*))",
    ),
    Rule(
        "cut_intransitive",
        "self-harm",
        "urgent",
        r"\b(?:(?:want(?:ed)?\s+to|wanna|need\s+to|urges?\s+to|going\s+to|gonna|started|keep)\s+(?:cut(?:ting)?|sh)"
        r"(?:\s+(?:so\s+bad|again|tonight|deeper|badly|right\s+now))?\b(?!\s+(?:the|a|an|my|it|them|class|"
        r"back|down|off|out|in|up|corners|ties|carbs|sugar|school|through|him|her|people|costs))|"
        r"(?:^|[.!?]\s*)cut\s+(?:again|deeper)|\bcut\s+deeper\b)",
    ),
    Rule(
        "if_i_wasnt_here",
        "farewell/burden",
        "high",
        r"\bif\s+i\s+(?:just\s+|simply\s+)?(?:wasn'?t|weren'?t|was\s+not|were\s+not|was\s+gone|were\s+gone|died)\s*(?:here|around|"
        r"alive)?(?:\s+any\s*more)?\b",
        first_person=True,
    ),
    Rule(
        "hope_something_kills_me",
        "passive ideation",
        "high",
        r"\b(?:hop(?:e|ing)|wish(?:ing)?|pray(?:ing|s|ed)?)\s+(?:\w+\s+){0,3}?(?:that\s+)?(?:something|someone|somebody|"
        r"it|a\s+\w+|god|the\s+lord|jesus|allah|death)\s+(?:kills|would\s+kill|will\s+kill|takes|would\s+take|will\s+take|"
        r"comes\s+for)\s+me\b(?!\s+(?:to|less|more|a|an|the|back|home|out|there|up|long\w*|\d|places|somewhere|with))",
        first_person=True,
    ),
    Rule(
        "means_ready",
        "plan/means",
        "urgent",
        r"\b(?:for\s+when\s+i'?m\s+ready|(?:know|picked|chosen|chose|found)\s+(?:exactly\s+)?(?:which|the|a)\s+"
        r"(?:bridge|building|roof|spot|place|method|way|tree)\s+(?:i'?d|i\s+would|i\s+will|i'?ll|to)\b|"
        r"how\s+(?:much|many)\s+[\w\s]{0,30}?(?:would\s+be|is|are|it\s+takes\s+to\s+be)\s+(?:lethal|fatal|deadly)|"
        r"(?:going\s+to|gonna|i'?ll|will)\s+(?:drive|crash|swerve)\s+(?:my\s+car\s+)?(?:into|off))",
    ),
    Rule(
        "thanks_goodbye",
        "farewell/burden",
        "high",
        r"\bthank\s+you\s+for\s+everything\W{0,5}\s*(?:good\s*bye|bye|farewell)",
    ),
    # --- added after a blind evaluation (tests/fixtures/safety/blind.jsonl): wordings the rules above missed ---
    Rule(
        "want_it_over",
        "passive ideation",
        "high",
        rf"\b{WANT}\s+(?:it\s+all|my\s+life|life)\s+to\s+(?:stop|end|be\s+over)\b|\b{WANT}\s+(?:the\s+pain|it|"
        r"everything)\s+to\s+(?:stop|end|be\s+over)\s+(?:forever|for\s+good|permanently)",
    ),
    Rule(
        "join_the_dead",
        "direct ideation",
        "urgent",
        rf"\b(?:died|dead|passed\s+away|killed\s+(?:him|her|them)sel(?:f|ves)|suicide|heaven|lost\s+(?:him|her|them))\b"
        rf"[^.!?\n]{{0,80}}\bi\s+(?:just\s+)?{WANT}\s+to\s+(?:join|be\s+with|follow|go\s+(?:with|after))\s+(?:him|her|them)\b",
    ),
    Rule(
        "waiting_to_die",
        "passive ideation",
        "high",
        r"\bwaiting\s+(?:to\s+die|for\s+(?:death|the\s+end\b(?!\s+of)|my\s+(?:death|turn\s+to\s+die)|"
        r"it\s+(?:all\s+)?to\s+(?:end|be\s+over)))",
    ),
    Rule(
        "hit_wouldnt_mind",
        "passive ideation",
        "high",
        r"\bif\s+(?:a|some|the)\s+(?:car|bus|truck|train|plane)\s+(?:hit|hits|ran\s+over|runs\s+over|killed|crashed)\b"
        r"[^.!?\n]{0,50}\b(?:wouldn'?t|would\s+not|won'?t|don'?t|dont|wouldnt)\s+(?:\w+\s+)?(?:mind|care)|"
        r"\b(?:wouldn'?t|would\s+not|wouldnt)\s+(?:\w+\s+)?mind\s+if\s+(?:a|some|the)\s+(?:car|bus|truck|train)\s+"
        r"(?:hit|ran\s+over|killed)\s+me",
    ),
    Rule(
        "no_future_self",
        "passive ideation",
        "high",
        rf"\b(?:don'?t|dont|do\s+not|can'?t|cant|cannot)\s+(?:see|imagine|picture)\s+(?:{ME}|me)\s+(?:still\s+)?"
        r"(?:being\s+)?(?:alive|around\s+(?:much\s+longer|for\s+(?:much\s+)?long|next|in|by)|here\s+(?:much\s+longer|"
        r"for\s+(?:much\s+)?long|next\s+year|in\s+a\s+year)|living\s+(?:much\s+longer|past|to\s+see|beyond))",
        first_person=True,
    ),
    Rule(
        "not_be_around",
        "farewell/burden",
        "urgent",
        r"\b(?:don'?t|dont|do\s+not)\s+(?:think|expect)\s+(?:that\s+)?i'?(?:ll|\s+will)\s+(?:still\s+)?be\s+"
        r"(?:around|alive|here)\s+(?:much\s+longer|for\s+(?:much\s+)?long)|\b(?:not|never)\s+(?:going\s+to|gonna)\s+"
        r"be\s+(?:around|alive|here)\s+(?:much\s+longer|for\s+(?:much\s+)?long)",
    ),
    Rule(
        "decided_gone",
        "intent/plan",
        "urgent",
        r"\b(?:decided|made\s+up\s+my\s+mind)\b[^.!?\n]{0,60}\b(?:(?:not\s+(?:going\s+to|gonna)|won'?t|will\s+not)\s+"
        r"be\s+(?:here|around|alive)|(?:it'?ll|it\s+will)\s+(?:all\s+)?be\s+over)|\b(?:it'?ll|it\s+will)\s+all\s+be\s+"
        r"over\b[^.!?\n]{0,40}\b(?:decided|made\s+up\s+my\s+mind|for\s+good|no\s+more\s+pain)",
    ),
    Rule(
        "cant_stay_safe",
        "intent/plan",
        "urgent",
        r"\b(?:can'?t|cannot|cant|won'?t|not\s+sure\s+i\s+can|don'?t\s+know\s+if\s+i\s+can)\s+(?:promise|guarantee|"
        r"keep\s+myself|stay)\s+(?:(?:you\s+)?(?:that\s+)?i(?:'ll|\s+will|\s+can|\s+am|'m|m)\s+(?:be\s+|stay\s+)?|"
        r"to\s+(?:be|stay)\s+)?safe\b|\b(?:don'?t|do\s+not|dont)\s+feel\s+safe\s+(?:with|around|from)\s+myself|"
        r"\bnot\s+safe\s+(?:from|around|with)\s+myself",
    ),
    Rule(
        "scared_what_i_do",
        "intent/plan",
        "urgent",
        r"\b(?:scared|afraid|terrified|frightened|worried)\s+(?:of\s+)?(?:what\s+i\s+(?:might|will|could|would|"
        r"am\s+going\s+to|'?m\s+going\s+to)\s+do\b|(?:of\s+)?myself\s+(?:tonight|right\s+now|today))|"
        r"\bwhat\s+i\s+(?:might|could|will|would)\s+do\s+to\s+myself\b",
    ),
    Rule(
        "means_at_hand",
        "plan/means",
        "urgent",
        rf"\b(?:bottle|box|pack|packet|handful|stash|pile|strip)s?\s+of\s+(?:my\s+)?(?:\w+\s+)?{MEANS_DRUGS}"
        r"[^.!?\n]{0,40}\b(?:in\s+front\s+of\s+me|next\s+to\s+me|beside\s+me|in\s+my\s+(?:hand|hands|lap|pocket))|"
        r"\bi\s+(?:have|'ve\s+got|ve\s+got|got|am\s+holding|'m\s+holding|m\s+holding)\s+(?:a|my|the|my\s+\w+'?s?)\s+"
        r"(?:gun|pistol|rifle|shotgun|revolver)\s+(?:in\s+(?:my\s+)?(?:hand|lap|room|bed|front\s+of\s+me)|"
        r"next\s+to\s+me|with\s+me|right\s+here|loaded|ready)",
    ),
    Rule(
        "took_many",
        "plan/means",
        "urgent",
        rf"\b(?:took|taken|swallowed|downed|ate)\s+(?:like\s+|about\s+|around\s+|over\s+|almost\s+)?(?:\d{{2,}}|"
        rf"a\s+(?:whole|full)\s+(?:bottle|pack|box|handful)|a\s+handful|ten|twenty|thirty|forty|fifty|fifteen|"
        rf"a\s+bunch)\s*(?:of\s+)?(?:my\s+|the\s+|his\s+|her\s+)?(?:\w+\s+)?{MEANS_DRUGS}",
    ),
    Rule(
        "plan_take_many",
        "plan/means",
        "urgent",
        rf"\b(?:plan\w*|going|gonna|want\w*|wanna|decided|ready|about)\s+(?:to\s+)?(?:take|swallow|down|eat)\s+"
        rf"(?:so\s+|too\s+|very\s+)?(?:many|much|lots\s+of|a\s+lot\s+of|a\s+bunch\s+of|loads\s+of|all\s+(?:of\s+)?"
        rf"(?:my|the)|\d{{2,}})\s+(?:of\s+)?(?:my\s+|the\s+)?(?:\w+\s+)?{MEANS_DRUGS}",
    ),
    Rule(
        "means_take_all",
        "plan/means",
        "urgent",
        rf"\b{MEANS_DRUGS}\b[^.!?\n]{{0,80}}\b(?:take|taking|swallow\w*|down)\s+(?:them|it|those|these)\s+all\b|"
        rf"\b{MEANS_DRUGS}\b[^\n]{{0,150}}\bgo\s+through\s+with\s+it\b",
    ),
    Rule(
        "fall_height",
        "plan/means",
        "urgent",
        rf"\b{PLACE}\b[^\n]{{0,60}}\bhigh\s+enough\b|\bhigh\s+enough\s+to\s+(?:die|kill|not\s+survive|end\s+it)|"
        r"\b(?:survive|survived|survivable)\s+(?:the|a|that)\s+(?:fall|jump)\b|\bhow\s+(?:high|far)\s+(?:\w+\s+){0,5}?"
        r"to\s+(?:die|be\s+(?:fatal|lethal)|not\s+survive|kill\s+(?:you|someone|a\s+person|myself))",
    ),
    Rule(
        "figured_out_how",
        "intent/plan",
        "high",
        r"(?<!n't\s)(?<!not\s)(?<!dont\s)\b(?:figured\s+out|worked\s+out|decided|planned\s+(?:out\s+)?|know|knew)\s+"
        r"(?:exactly\s+)?(?:how|when|where)\s+"
        r"(?:i'?d|i\s+would|i'?ll|i\s+will|i'?m\s+going\s+to|i'?m\s+gonna)\s+do\s+it\b",
    ),
    Rule(
        "step_in_front_of_it",
        "plan/means",
        "urgent",
        r"\b(?:think\w*\s+(?:about|of)|want(?:ed|ing)?\s+to|wanna|urges?\s+to|tempted\s+to|could\s+just)\s+(?:just\s+)?"
        r"(?:step(?:ping)?|walk(?:ing)?|jump(?:ing)?|throw(?:ing)?\s+myself)\s+(?:out\s+)?in\s+front\b(?!\s+of\s+"
        r"(?:the\s+|a\s+|my\s+|everyone\b|people\b)?(?:camera|class|mirror|people|everyone|crowd|audience|tv|computer|"
        r"screen|house|door|line|queue|stage)\b)",
    ),
    Rule(
        "at_the_edge",
        "plan/means",
        "urgent",
        rf"\b(?:sitting|standing|sat|stood|i'?m|i\s+am)\s+on\s+(?:the\s+)?(?:edge|ledge|railing|rail|wrong\s+side)\s+of\s+"
        rf"(?:the|a|my|this|our)\s+(?:\w+\s+)?{PLACE}|\b(?:sitting|standing|sat|stood)\s+on\s+(?:the|a)\s+"
        r"(?:ledge|railing)\b|\b(?:standing|sitting|lying|laying|stood|sat)\s+(?:by|on|at|near|next\s+to)\s+the\s+"
        r"(?:train\s+|railway\s+|rail\s+)?tracks\b",
    ),
    Rule(
        "last_night_alive",
        "intent/plan",
        "urgent",
        r"\bthis\s+is\s+(?:my|the)\s+(?:last|final)\s+(?:night|day)(?:\s+(?:alive|on\s+(?:this\s+)?earth|ever|"
        r"of\s+my\s+life))?(?=\s*(?:[.!?\n]|$))",
    ),
    Rule(
        "wont_be_a_problem",
        "farewell/burden",
        "high",
        r"\b(?:won'?t|will\s+not|wont|not\s+going\s+to)\s+be\s+(?:a\s+)?(?:problem|burden|bother|trouble|nuisance|"
        r"in\s+(?:your|anyone'?s|the)\s+way)\s+(?:for\s+)?(?:much\s+longer|for\s+(?:much\s+)?long|soon)",
    ),
    Rule(
        "tell_them_sorry",
        "farewell/burden",
        "high",
        r"(?<!how\s)(?<!to\s)(?<!i\s)\btell\s+(?:my\s+)?(?:mom|mum|mother|dad|father|parents|family|wife|husband|kids|"
        r"children|sister|brother|son|daughter|girlfriend|boyfriend|partner|everyone|them)\s+(?:that\s+)?"
        r"(?:i'?m\s+sorry|i\s+(?:love|loved)\s+(?:them|her|him|you))",
    ),
    Rule(
        "farewell_letters",
        "farewell/burden",
        "urgent",
        r"\b(?:wrote|written|writing|left|finished)\s+(?:the|my)\s+notes\s+(?:for|to)\s+|\bletters\s+(?:for|to)\s+"
        r"(?:everyone|every\s+one|all\s+the\s+people|each\s+of)|\b(?:find|read|open)\s+(?:it|them|the\s+\w+)\s+"
        r"(?:after|afterwards|when\s+i'?m\s+gone)(?=\s*(?:[.!?;\n]|$))",
    ),
    Rule(
        "arrangements_after",
        "farewell/burden",
        "high",
        r"\b(?:find|read|open|close|handle|deal\s+with|sort\s+out|take\s+care\s+of)\s+(?:all\s+)?(?:my\s+\w+|"
        r"everything)\s+(?:after|afterwards|when\s+i'?m\s+gone)(?=\s*(?:[.!?;\n]|$))",
        first_person=True,
    ),
    Rule(
        "giveaway_wont_need",
        "farewell/burden",
        "high",
        r"\b(?:gave|given|giving|give)\s+(?:\w+\s+){0,3}?away\b[^\n]{0,150}?\b(?:need\b[^.!?\n]{0,30}where\s+i'?m\s+going|"
        r"(?:won'?t|wont|will\s+not)\s+need\s+(?:them|it|any\s+of\s+it)|where\s+i'?m\s+going)|\bcancel\w*\s+(?:all\s+)?"
        r"(?:of\s+)?my\s+\w+[^.!?\n]{0,40}\b(?:won'?t|will\s+not|wont)\s+need\s+(?:them|it)\b",
    ),
    Rule(
        "wanted_it_to_hurt",
        "self-harm",
        "urgent",
        r"\b(?:wanted|want|needed|need)\s+(?:it|myself)\s+to\s+(?:hurt|bleed|scar)\b(?!\s+(?:less|him|her|them|you))|"
        r"\buntil\s+(?:my\s+)?(?:knuckles|skin|arms?|wrists?|fists?|hands?|head|legs?|thighs?)\s+(?:bled|bleed|"
        r"were\s+bleeding|was\s+bleeding|broke|cracked|bruised|split)",
        first_person=True,
    ),
    Rule(
        "i_cut_again",
        "self-harm",
        "urgent",
        r"\bi\s+(?:just\s+|have\s+|'ve\s+|ve\s+|had\s+)?cut\s+(?:again|deeper|so\s+deep|too\s+deep)\b",
    ),
    Rule(
        "want_to_end_it",
        "direct ideation",
        "urgent",
        rf"\b{WANT}\s+(?:to\s+)?(?:just\s+)?end\s+it(?=\s*(?:[.!?,;\n]|$)|\s+(?:already|now|tonight|today|all|right\s+now)\b)",
    ),
    Rule(
        "rope_slang",
        "euphemism",
        "high",
        r"\b(?:gonna|going\s+to|wanna|want\s+to|about\s+to|might|should|i'?ll|i\s+will|just)\s+rope(?:\s+myself)?\b"
        r"(?!\s+(?:in|off|them|him|her|it|the|a)\b)",
    ),
    Rule(
        "want_kill_me",
        "direct ideation",
        "urgent",
        rf"\b{WANT}\s+(?:to\s+)?kill\s+me\b(?!\s+(?:if|when|for|because|with|after))",
    ),
    Rule(
        "leave_this_world",
        "passive ideation",
        "high",
        r"\b(?:leave|leaving|go\s+away\s+(?:forever\s+)?from|gone\s+from|depart\w*\s+from|check\s+out\s+of)\s+"
        r"this\s+(?:world|earth|life)\b|\b(?:want|wanna|wish)\s+(?:to\s+)?(?:just\s+)?go\s+away\s+forever\b",
    ),
    Rule(
        "better_i_dead",
        "passive ideation",
        "high",
        r"\bbetter\s+(?:if\s+|that\s+)?i\s*(?:am|'m|m|be|was|were|would\s+be|'d\s+be)\s+(?:just\s+)?(?:dead|die|gone|"
        r"not\s+(?:here|alive|born))\b",
        first_person=True,
    ),
    Rule(
        "crisis_line",
        "help-seeking",
        "review",
        r"\b(?:call(?:ed|ing)?|text(?:ed|ing)?|rang|dial(?:ed|led)?)\s+(?:a\s+|the\s+)?(?:suicide\s+|crisis\s+)?"
        r"(?:hotline|crisis\s+line|lifeline|helpline|988|samaritans)",
    ),
)

# --- context filters -----------------------------------------------------------------------------
_LEET = str.maketrans({"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "@": "a", "$": "s", "4": "a", "5": "s"})
_LEET_RE = re.compile(r"(?<=[a-z])[1!|30@$45](?=[a-z])", re.I)
_APOS_RE = re.compile(r"(?<=\w)[’`´](?=\w)")
_SENT_RE = re.compile(r"[.!?\n]+|\s+-\s+")
_CLAUSE_RE = re.compile(r"[,;:()]|\b(?:but|though|although|yet|however|except|and|so|because|cause|cuz)\b", re.I)
_NEG_RE = re.compile(
    r"(?:\b(?:never|not|no|nor|cannot|nobody|nothing|none|without|deny|denies|denied|zero|nah|dont|cant|wont|"
    r"didnt|doesnt|isnt|wasnt|wouldnt|couldnt|shouldnt|aint|havent|hasnt)\b|(?<=\w)n't\b)",
    re.I,
)
#: A negator followed by these is a hedge or a double negative, not a denial.
_HEDGE_AFTER_RE = re.compile(
    r"^\s*(?:\w+\s+)?(?:sure|know|think|certain|care|mind|stop|help|see\s+(?:a|any|the)\s+(?:point|reason)|"
    r"bear|stand|wait|handle|cope|anymore|any\s+more|longer|one|way\s+out|point|reason|matter|other|see|"
    r"change|different|miss|notice|care|this|so|such|that|"
    r"(?:a|any)\s+(?:other\s+)?(?:option|choice|way))\b",
    re.I,
)
_TEMPORAL_NEG_RE = re.compile(r"\b(?:haven'?t|hasn'?t|havent|hasnt|not\s+since|no\s+longer|stopped|quit)\b", re.I)
_CONTRAST_AFTER_RE = re.compile(
    r"\b(?:but|yet|though|although)\b[^.!?\n]{0,60}\b(?:maybe|might|sometimes|tempt\w*|think\s+about|"
    r"thought\s+about|part\s+of\s+me|want\s+to|urges?|close|tomorrow|soon|lately|wish|scared\s+i|plan)",
    re.I,
)
_FIRST_RE = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|i'll|me|myself)\b", re.I)
_THIRD_RE = re.compile(
    r"\b(?:he|she|they|he's|she's|they're|hes|shes|his|him|her|hers|their|them|friend|friends|sister|brother|"
    r"mom|mum|mother|dad|father|cousin|aunt|uncle|grandma|grandpa|grandmother|grandfather|coworker|co-worker|"
    r"colleague|roommate|partner|boyfriend|girlfriend|husband|wife|son|daughter|kid|child|classmate|patient|"
    r"client|character|neighbou?r|teacher|student|someone|somebody|people|singer|narrator|protagonist|"
    r"person|guy|girl|man|woman|bf|gf|bestie|buddy|teen|teens|author|rapper|band)\b",
    re.I,
)
_QUOTE_RE = re.compile(  # a single-quoted span may hold apostrophes between letters ('I'm going to ...')
    r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|‘[^’\n]{1,300}’|(?<!\w)'(?:[^'\n]|(?<=\w)'(?=\w)){1,300}'(?!\w)"
)
_ATTRIB_RE = re.compile(
    r"\b(?:said|says|say|sang|sings|singing|sing|song|songs|lyrics?|line|lines|quote|quoted|quoting|goes|wrote|"
    r"writes|posted|tweeted|texted|character|movie|film|book|show|poem|album|track|meme|caption|verse|chorus|"
    r"called|titled|named|screams?|screamed|yelled|asked|asks|tells|told|tattoo|shirt|sign|episode|novel|joked|"
    r"jokes|humming|hummed|listening|playing|played|shuffle|playlist)\b",
    re.I,
)
_OWN_SPEECH_RE = re.compile(
    r"\bi\s+(?:\w+\s+){0,2}?(?:said|say|told|tell|keep\s+(?:thinking|saying|telling)|kept\s+(?:thinking|saying)|"
    r"thought|think|wrote|write|texted|text|screamed|yelled|whisper\w*|typed|messaged|journal\w*|joked|joke)\b",
    re.I,
)
_AFTER_QUOTE_RE = re.compile(
    r"^\W{0,3}\s*(?:\w+\s+){0,5}?(?:line|lyric|lyrics|song|quote|track|album|from|by|chorus|verse|meme|title|"
    r"movie|film|book|show|poem|novel|episode|series|band|game|theme|tune|single|b-side|came\s+on|playlist|"
    r"cover)\b",
    re.I,
)
_LYRIC_CUE_RE = re.compile(
    r"(?:♪|🎵|🎶|\b(?:lyrics?|line|song|chorus|verse|track)\s+(?:that\s+)?(?:goes|is|says|went)\b|"
    r"\bsing(?:ing)?\s+along\b|\bsang\b|\bsong\s+(?:called|titled|named)\b|\bcalled\b)",
    re.I,
)
_EDU_RE = re.compile(
    r"\b(?:clinical(?:ly)?|class|classes|lecture|course|module|exam|essay|paper|thesis|dissertation|research|study|studies|"
    r"article|news|documentary|podcast|training|workshop|seminar|textbook|statistics|stats|rates?|awareness|"
    r"prevention|questionnaire|survey|phq(?:-?9)?|item\s+9|question\s+9|screening|assessment|policy|protocol|"
    r"chapter|novel|movie|film|episode|squad|doors?|assignment|homework|presentation|opioid|epidemic|crisis|"
    r"report|campaign|volunteer\w*|charity|research\w*|history\s+of\s+the|museum|literature|poem|poetry|"
    r"character|season|book|game|show|song|band|album|guidelines?|drills?|sprints?|practice)\b",
    re.I,
)
_OWN_STATE_RE = re.compile(
    r"(?:\bi\s*(?:am|'m|m)|\bim|\bi\s+feel|\bfeel(?:ing|s)?|\bfelt|\bi'?ve\s+been|\bbeen|\bgetting|\bgot|"
    r"\bi\s+was|\bhaving|\bhad|\bmy|\bi\s+keep|\bi\s+started|\bi\s+still|\bi)\s+"
    r"(?:(?:so|really|very|pretty|kind\s+of|kinda|feeling|a\s+bit|quite|super|extremely|always|still|often|"
    r"constantly|actually|been|having|getting|more|these|some|bad|serious|intense|dark|recurring|a\s+lot\s+of|"
    r"lots\s+of|feel|felt|a\s+little)\s+){0,3}$",
    re.I,
)
_IDIOM_AFTER_RE = re.compile(
    r"^[\s.…,!-]*(?:of|from|with)\s+(?:embarrassment|shame|laughter|laughing|boredom|cringe|cuteness|jealousy|envy|"
    r"happiness|excitement|hunger|curiosity)\b|^\s*(?:laughing|lol\s+at)\b|^\s*(?:my|her|his|your)\s+hair\b|"
    r"^\s*with\s+(?:him|her|them|my\s+\w+|this\s+\w+|that\s+\w+|the\s+\w+)\b|"
    r"^\s*(?:for|on)\s+(?:the\s+weekend|vacation|holiday|a\s+trip|business|work)\b|"
    r"^\s*(?:into|in)\s+(?:the\s+|a\s+)?(?:water|lake|pool|sea|ocean|river)\b|"
    r"^\s*on\s+(?:netflix|tv|coffee|caffeine|sugar|candy|chocolate|cake|carbs|youtube|tiktok|memes|anime|"
    r"k-?dramas?|nostalgia|sunshine)\b|"
    r"^\s*(?:for\s+(?:my\s+|the\s+|a\s+|our\s+)?(?:climbing|camping|boat|sailing|tent|swing|hammock|crafts?|"
    r"macrame|tug|washing\s+line|laundry)|to\s+(?:tie|secure|tow)\s+(?:the|a|my|our|down|up))\b|"
    r"^[^.!?\n]{0,40}\bto\s+(?:respawn|reset\s+the\s+(?:level|run|game)|get\s+the\s+achievement)\b",
    re.I,
)
#: A game named just before a match in the same clause ("in Minecraft I jumped off a cliff"): not the speaker.
_GAME_PREFIX_RE = re.compile(
    r"\bin\s+(?:minecraft|fortnite|roblox|apex|warzone|call\s+of\s+duty|cod|gta|valorant|overwatch|skyrim|"
    r"elden\s+ring|dark\s+souls|the\s+sims|terraria|zelda|mario)\b",
    re.I,
)
#: A denial of the speaker's own thoughts ("I haven't had any thoughts of ..."), unlike "I haven't cut in years".
_DENIAL_RE = re.compile(
    r"\b(?:haven'?t|havent|hasn'?t|hasnt|never)\s+(?:ever\s+)?(?:had|been\s+having|experienced|felt|got|gotten)\s+"
    r"any\s+(?:(?:thoughts?|urges?|ideas?|feelings?|plans?)\s+(?:of|about|to)\s+)?$",
    re.I,
)
#: Words after a denial that undo it ("... in years", "... until now", "... but I am").
_UNDO_DENIAL_RE = re.compile(
    r"\b(?:(?:in|for|since)\s+(?:\w+\s+)?(?:years?|months?|weeks?|days?|a\s+while|ages|\d{4})|until|till|before|but|"
    r"yet|though|although|except|lately|recently|now)\b",
    re.I,
)
#: A negation right after the term ("suicide has never crossed my mind").
_NEG_AFTER_RE = re.compile(
    r"^\s*(?:has|have|had)\s+never\s+(?:once\s+)?(?:crossed|entered|been\s+on)\s+my\s+mind|"
    r"^\s*(?:is|'s|was)\s+(?:not|never)\s+(?:an\s+option|something\s+i(?:'d|\s+would)\s+(?:ever\s+)?(?:do|consider))",
    re.I,
)
#: Someone asked the speaker and the speaker answered no ("she asked if I'd ever wanted to die and I said no").
_ASKED_RE = re.compile(r"\b(?:asked|asks|asking)\s+(?:me\s+)?(?:if|whether)\b", re.I)
_ANSWER_NO_RE = re.compile(
    r"\b(?:said|told\s+\w+|answered|replied)\s+(?:honestly\s+|truthfully\s+)?(?:that\s+)?(?:no\b|not\b|"
    r"i\s+(?:haven'?t|hadn'?t|don'?t|didn'?t|wasn'?t|am\s+not|'m\s+not)\b)",
    re.I,
)
_ACCIDENT_AFTER_RE = re.compile(
    r"^\s*(?:\w+\s+){0,3}?(?:on\s+(?:a|the|some|my)\s+(?!purpose)\w+|while\s+\w+ing|when\s+i\s+(?:fell|tripped|"
    r"slipped)|lifting|playing|running|shaving|cooking|chopping|slicing|cleaning|gardening|skiing|skating|"
    r"climbing|baking|ironing|working\s+out|at\s+the\s+gym|at\s+practice|by\s+accident|accidentally|studying|"
    r"working|training|cramming|in\s+(?:a|the)\s+(?:fall|accident|game|match|kitchen|garden)|"
    r"(?:\w+\s+){0,4}?with\s+(?:a|the|my)\s+(?:door|ball|hammer|racket|bat|branch|cupboard|drawer|pan|car\s+door))|"
    r"\b(?:ouch|oops|clumsy)\b",
    re.I,
)
_ACCIDENT_BEFORE_RE = re.compile(
    r"\baccident(?:ally|al)\b|\bby\s+mistake\b|\b(?:fell|tripped|slipped|crashed)\s+(?:off|over|on|down|in)\b", re.I
)
_HARM_CATEGORIES = {"self-harm", "direct ideation"}
_IDIOM_CATEGORIES = _HARM_CATEGORIES | {"farewell/burden", "plan/means", "intent/plan", "passive ideation"}
_HISTORY_RE = re.compile(
    r"\b(?:used\s+to|years?\s+ago|months?\s+ago|a\s+long\s+time\s+ago|long\s+ago|in\s+the\s+past|back\s+in|"
    r"back\s+when|when\s+i\s+was\s+(?:a\s+|younger|little|\d+|in)|as\s+a\s+(?:teen|teenager|kid|child)|"
    r"in\s+(?:high\s+school|middle\s+school|college|uni|my\s+teens|my\s+twenties|my\s+20s|\d{4})|"
    r"haven'?t|hasn'?t|havent|clean\s+(?:for|since)|\d+\s+(?:years?|months?|days?|weeks?)\s+clean|"
    r"recovered|recovery|no\s+longer|stopped|history\s+of|past\s+attempt|previous\s+attempt|survivor|"
    r"old\s+scars|scars\s+from|once\s+(?:tried|attempted))\b",
    re.I,
)
_PRESENT_RE = re.compile(
    r"\b(?:now|again|lately|these\s+days|today|tonight|recently|right\s+now|this\s+(?:week|morning|month)|"
    r"started\s+again|relaps\w*|still|anymore\s+but|currently|last\s+night|yesterday)\b",
    re.I,
)


@dataclass(frozen=True)
class SafetyConfig:
    """What the screen matches. ``extra_rules`` are added to the defaults; ``disabled_rules`` names rules to
    drop; ``disabled_filters`` names context filters to turn off (see FILTERS; fewer filters = more hits)."""

    extra_rules: tuple[Rule, ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    disabled_filters: frozenset[str] = frozenset()
    excerpt_chars: int = 60
    rules: tuple[Rule, ...] = field(default=DEFAULT_RULES, repr=False)

    def __post_init__(self) -> None:
        names = {r.name for r in self.rules} | {r.name for r in self.extra_rules}
        unknown = set(self.disabled_rules) - names
        if unknown:
            raise ConfigError(
                f"disabled_rules names unknown rules {sorted(unknown)}.",
                fix=f"Use names from phqwatch.monitoring.safety.DEFAULT_RULES or extra_rules ({len(names)} known).",
            )
        bad = set(self.disabled_filters) - set(FILTERS)
        if bad:
            raise ConfigError(f"disabled_filters has unknown filters {sorted(bad)}.", fix=f"Use some of {FILTERS}.")
        for r in self.extra_rules:
            if r.severity not in ("review", "high", "urgent"):
                raise ConfigError(
                    f"extra rule {r.name!r} has severity {r.severity!r}.", fix="Use 'review', 'high' or 'urgent'."
                )


def _normalise(text: str) -> str:
    """Lowercased, same length as ``text`` (so spans carry over): leetspeak between letters and typographic
    apostrophes normalised."""
    low = text.lower()
    if len(low) != len(text):  # a few Unicode letters lowercase to two characters: keep those as they are
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    low = _APOS_RE.sub("'", low)
    return _LEET_RE.sub(lambda m: m.group(0).translate(_LEET), low)


#: Frequent words of everyday chat. Used only to rank candidate prefilter literals: a literal found inside many
#: of them ("end" in "friend", "weekend") lets the regex run on most messages, so a rarer one is preferred.
_COMMON_WORDS = tuple(
    """the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
    she or an will my one all would there their what so up out if about who get which go me when make can like
    time no just him know take people into year your good some could them see other than then now look only come
    its over think also back after use two how our work first well way even new want because any these give day
    most us going thing things really feel friend friends weekend today tonight night morning home school week
    plan busy talk call phone family sleep tired money job happy sad okay need keep start again still down off
    end life read write love hate tell said went got had was were been being am is are did""".split()
)


def _commonness(lits: set[str]) -> tuple[int, int, int]:
    """Sort key for a candidate literal set: lower is a more selective prefilter."""
    hits = sum(lit in w for lit in lits for w in _COMMON_WORDS)
    return hits, -min(len(x) for x in lits), len(lits)


def _required(items: _sp.SubPattern | list) -> set[str] | None:
    """Literal strings one of which every match of this parsed pattern must contain (None: unknown): the most
    selective of ``_necessary(items)``."""
    sets = _necessary(items)
    return min(sets, key=_commonness) if sets else None


def _necessary(items: _sp.SubPattern | list) -> list[set[str]]:
    """Literal sets, one per necessary part of this parsed pattern: every match contains a literal of each.

    Used as a prefilter: a rule for which some set has no literal in a message cannot match it, so its regex
    is not run. Conservative: parts it cannot reason about give no set (always run the regex).
    """
    cands: list[set[str] | None] = []
    run = ""
    for op, av in items:
        if op is _sc.LITERAL:
            run += chr(av)
            continue
        if run:
            cands.append({run})
            run = ""
        if op is _sc.SUBPATTERN:
            cands.append(_required(av[-1]))
        elif op is _sc.BRANCH:
            alts = [_required(a) for a in av[1]]
            cands.append(None if any(a is None for a in alts) else set().union(*alts))  # type: ignore[arg-type]
        elif op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT) and av[0] >= 1:
            cands.append(_required(av[2]))
        else:
            cands.append(None)
    if run:
        cands.append({run})
    return [c for c in cands if c]


def _trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` shaped as a trie (fast to try at every position); longest match first."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


def _has_upper_literal(items: _sp.SubPattern | list) -> bool:
    for op, av in items:
        if op is _sc.LITERAL and chr(av) != chr(av).lower():
            return True
        if op is _sc.SUBPATTERN and _has_upper_literal(av[-1]):
            return True
        if op is _sc.BRANCH and any(_has_upper_literal(a) for a in av[1]):
            return True
        if op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT) and _has_upper_literal(av[2]):
            return True
        if op in (_sc.ASSERT, _sc.ASSERT_NOT) and _has_upper_literal(av[1]):
            return True
    return False


def _bounds(regex: re.Pattern[str], text: str, pos: int) -> tuple[int, int]:
    """Start and end of the segment (sentence or clause) that contains ``pos``."""
    start, end = 0, len(text)
    for m in regex.finditer(text):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            end = m.start()
            break
    return start, end


class SafetyScreen:
    """A compiled screen. Build once (rules compile at construction) and call ``screen`` per message."""

    def __init__(self, config: SafetyConfig | None = None) -> None:
        self.config = config or SafetyConfig()
        rules = [r for r in (*self.config.rules, *self.config.extra_rules) if r.name not in self.config.disabled_rules]
        # Per rule: up to two literal sets (the most selective); the regex runs only if each set has a literal
        # in the message. Which literals a message holds is computed once per message (``self._literals``).
        self._rules: list[tuple[Rule, re.Pattern[str], tuple[frozenset[str], ...]]] = []
        for r in rules:
            try:
                # Text is lowercased before matching, so lowercase patterns need no IGNORECASE (much faster).
                parsed = _sp.parse(r.pattern)
                flags = re.I if _has_upper_literal(parsed) else 0
                sets = [] if flags else sorted(_necessary(parsed), key=_commonness)[:2]
                self._rules.append((r, re.compile(r.pattern, flags), tuple(frozenset(c) for c in sets)))
            except re.error as exc:
                raise ConfigError(
                    f"safety rule {r.name!r} has an invalid regular expression: {exc}.",
                    fix="Fix the pattern (Python `re` syntax, matched case-insensitively).",
                ) from exc
        self._off = self.config.disabled_filters
        # One scan per message finds every gate literal it holds (a trie regex tried at each position gives the
        # longest literal starting there; the literals that are prefixes of it start there too). Each literal
        # maps to the (rule, set) pairs it satisfies; a rule runs when all its sets are satisfied.
        literals = sorted({lit for _, _, sets in self._rules for c in sets for lit in c})
        self._literal_rx = re.compile("(?=(" + _trie_pattern(literals) + "))") if literals else None
        self._prefixes = {m: tuple(lit for lit in literals if m.startswith(lit)) for m in literals}
        index: dict[str, list[tuple[int, int]]] = {}
        for i, (_, _, sets) in enumerate(self._rules):
            for j, c in enumerate(sets):
                for lit in c:
                    index.setdefault(lit, []).append((i, 1 << j))
        self._literal_rules = {k: tuple(v) for k, v in index.items()}
        self._full_mask = [(1 << len(sets)) - 1 for _, _, sets in self._rules]
        self._ungated = [i for i, (_, _, sets) in enumerate(self._rules) if not sets]

    def _candidates(self, norm: str) -> list[int]:
        """Indices of the rules whose every literal set has a literal in ``norm`` (plus ungated rules)."""
        if self._literal_rx is None:
            return list(range(len(self._rules)))
        masks: dict[int, int] = {}
        seen: set[str] = set()
        for longest in self._literal_rx.findall(norm):
            for lit in self._prefixes[longest]:
                if lit in seen:
                    continue
                seen.add(lit)
                for i, bit in self._literal_rules[lit]:
                    masks[i] = masks.get(i, 0) | bit
        full = self._full_mask
        return sorted([i for i, mask in masks.items() if mask == full[i]] + self._ungated)

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r, _, _ in self._rules)

    def screen(self, text: str, *, gate: bool = True) -> SafetyResult:
        """Screen one message. ``gate=False`` skips the literal prefilter (for benchmarks and tests only)."""
        if not text or not self._rules:
            return SafetyResult(False, "none")
        norm = _normalise(text)
        matches: list[Match] = []
        suppressed: list[Suppressed] = []
        rules = self._rules
        for idx in self._candidates(norm) if gate else range(len(rules)):
            rule, rx, _ = rules[idx]
            for m in rx.finditer(norm):
                reason, note = self._judge(norm, m.start(), m.end(), rule)
                if reason is not None:
                    suppressed.append(Suppressed((m.start(), m.end()), rule.name, reason))
                    continue
                sev: Severity = "review" if note else rule.severity
                matches.append(
                    Match(
                        (m.start(), m.end()),
                        self._excerpt(text, m.start(), m.end()),
                        rule.name,
                        rule.category,
                        sev,
                        note,
                    )
                )
        matches = _dedupe(matches)
        if not matches:
            return SafetyResult(False, "none", (), tuple(suppressed))
        top = max(matches, key=lambda x: SEVERITY_ORDER[x.severity]).severity
        return SafetyResult(True, top, tuple(matches), tuple(suppressed))

    # --- filters -----------------------------------------------------------------------------------
    def _judge(self, text: str, start: int, end: int, rule: Rule) -> tuple[str | None, str | None]:
        """(suppression reason or None, note or None) for one raw match."""
        s0, s1 = _bounds(_SENT_RE, text, start)
        sentence_prefix = text[s0:start]
        after = text[end:s1]
        c0 = s0 + _bounds(_CLAUSE_RE, text[s0:start] + " ", len(text[s0:start]))[0]
        clause_prefix = text[c0:start]
        off = self._off

        if "idiom" not in off and rule.category in _IDIOM_CATEGORIES:
            if _IDIOM_AFTER_RE.search(text[end : end + 60]):
                return "idiom", None
            if _GAME_PREFIX_RE.search(clause_prefix):
                return "idiom", None
            if rule.category == "self-harm" or rule.name in ("kill_myself", "end_my_life"):
                if _ACCIDENT_AFTER_RE.search(after) or _ACCIDENT_BEFORE_RE.search(sentence_prefix):
                    return "idiom", None
        if "quoted" not in off:
            q = self._quoted(text, start, end, s0)
            if q:
                return q, None
        if "lyrics" not in off and (_LYRIC_CUE_RE.search(sentence_prefix[-60:]) or "♪" in text[s0:s1]):
            if not _OWN_SPEECH_RE.search(sentence_prefix[-40:]):
                return "lyrics", None
        if "reported speech" not in off and not rule.first_person:
            last_first = max((m.end() for m in _FIRST_RE.finditer(sentence_prefix)), default=-1)
            last_third = max((m.end() for m in _THIRD_RE.finditer(sentence_prefix)), default=-1)
            if last_third > last_first and not _FIRST_RE.search(text[start:end]):
                return "reported speech", None
        if "educational" not in off and rule.mention and _EDU_RE.search(text[s0:s1]):
            if not _OWN_STATE_RE.search(text[max(s0, start - 40) : start]):
                return "educational", None
        if "negated" not in off:
            denied = _DENIAL_RE.search(clause_prefix[-60:]) or _NEG_AFTER_RE.search(after)
            if not denied and _ASKED_RE.search(sentence_prefix):
                answer = _ANSWER_NO_RE.search(after)
                denied = answer and not _UNDO_DENIAL_RE.search(after[answer.end() :])
                if denied:
                    return "negated", None
            if denied and not _UNDO_DENIAL_RE.search(after):
                return "negated", None
        history = "history" not in off and bool(_HISTORY_RE.search(text[s0:s1])) and not _PRESENT_RE.search(text[s0:s1])
        if "negated" not in off and not history:
            window = clause_prefix[-45:]
            for neg in _NEG_RE.finditer(window):
                if _HEDGE_AFTER_RE.search(window[neg.end() :] + text[start:end]):
                    continue
                if _TEMPORAL_NEG_RE.search(window[max(0, neg.start() - 6) : neg.end() + 6]):
                    continue
                if _CONTRAST_AFTER_RE.search(after):
                    break
                return "negated", None
        if history:
            return None, "past history: surfaced at review severity"
        return None, None

    @staticmethod
    def _quoted(text: str, start: int, end: int, s0: int) -> str | None:
        for q in _QUOTE_RE.finditer(text):
            if q.start() > start:
                break
            if q.start() < start and end <= q.end():
                before = text[max(0, s0 - 0, q.start() - 80) : q.start()]
                after = text[q.end() : q.end() + 60]
                if _OWN_SPEECH_RE.search(before[-50:]):
                    return None
                if _ATTRIB_RE.search(before) or _AFTER_QUOTE_RE.search(after) or _THIRD_RE.search(before[-30:]):
                    return "quoted"
        return None

    def _excerpt(self, text: str, start: int, end: int) -> str:
        n = self.config.excerpt_chars
        a, b = max(0, start - n), min(len(text), end + n)
        if a > 0:
            sp = text.find(" ", a, start)
            a = sp + 1 if sp != -1 else a
        if b < len(text):
            sp = text.rfind(" ", end, b)
            b = sp if sp != -1 else b
        return ("…" if a > 0 else "") + " ".join(text[a:b].split()) + ("…" if b < len(text) else "")


def _dedupe(matches: list[Match]) -> list[Match]:
    """Drop a match whose span lies inside another match of at least the same severity."""
    keep: list[Match] = []
    for m in matches:
        inside = any(
            o is not m
            and o.span[0] <= m.span[0]
            and m.span[1] <= o.span[1]
            and (o.span != m.span or matches.index(o) < matches.index(m))
            and SEVERITY_ORDER[o.severity] >= SEVERITY_ORDER[m.severity]
            for o in matches
        )
        if not inside:
            keep.append(m)
    return sorted(keep, key=lambda m: m.span)


@lru_cache(maxsize=1)
def _default_screen() -> SafetyScreen:
    return SafetyScreen()


def screen(text: str, config: SafetyConfig | None = None) -> SafetyResult:
    """Screen one user message with the default rules (cached) or a given config (compiled per call:
    build a SafetyScreen once instead when screening many messages with a custom config)."""
    return (_default_screen() if config is None else SafetyScreen(config)).screen(text)


def screen_many(texts: Iterable[str], config: SafetyConfig | None = None) -> list[SafetyResult]:
    """Screen several messages with one compiled screen."""
    s = _default_screen() if config is None else SafetyScreen(config)
    return [s.screen(t) for t in texts]
