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
        rf"\b(?:kil+(?:ing|ed)?|murder(?:ing)?|unaliv(?:e|ing)|off(?:ing)?)\s*{ME}",
        first_person=True,
    ),
    Rule("kms", "direct ideation", "urgent", r"(?<!\d)(?<!\d\s)\bkms\b", first_person=True),
    Rule(
        "want_to_die",
        "direct ideation",
        "urgent",
        rf"\b{WANT}\s+(?:to\s+|too\s+|2\s+)?(?:just\s+)?(?:die|be\s+dead|not\s+be\s+alive|stop\s+existing|"
        r"not\s+exist|be\s+gone\s+forever)\b",
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
        r"\b(?:end(?:ing|ed)?|take|taking|took)\s+my\s+(?:own\s+)?life\b",
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
        r"\b(?:tonight|today|this\s+weekend|tomorrow)\s+(?:is|will\s+be)\s+the\s+(?:night|day)\b",
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
        rf"\b(?:overdos\w*|od\s+on|lethal\s+dose|how\s+many\s+(?:\w+\s+){{0,2}}{MEANS_DRUGS}\s+(?:to|would|does))",
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
        r"(?:thinking|staring|looking)\s+(?:about|at)\s+(?:it|them|using)",
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
        r"\b(?:want(?:ed)?\s+to|wanna|thought\s+about|thinking\s+(?:about|of)|tempted\s+to|urge\s+to|"
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
        rf"(?:kill\s+{ME}|end\s+my\s+life|die\s+(?:painlessly|quickly|without)))",
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
        r"previous|latest)\s+attempt)",
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
        r"\b(?:no|nothing\s+to|any|see\s+(?:a|any|the))\s+(?:reason|point|purpose)\s+(?:to|in|for|of)\s+"
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
        r"\b(?:hope|wish|pray)\s+(?:a|some)\s+(?:car|bus|truck|train)\s+(?:hits|hit|runs\s+over)\s+me",
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
        r"take\s+(?:it|this|the\s+pain)\s+any\s*more|live\s+like\s+this)\b",
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
        r"this\s+is\s+my\s+(?:last|final)\s+(?:message|post|text|goodbye))",
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
        r"\b(?:giv(?:e|ing)|gave)\s+away\s+(?:all\s+)?(?:of\s+)?my\s+(?:stuff|things|belongings|possessions)",
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
        r"permanently)|(?:check|clock|tap)\s+out\s+(?:early|for\s+good|permanently)|join\s+(?:my\s+)?\w+\s+"
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
        r"\bif\s+i\s+(?:wasn'?t|weren'?t|was\s+not|were\s+not|was\s+gone|were\s+gone|died)\s*(?:here|around|"
        r"alive)?(?:\s+any\s*more)?\b",
        first_person=True,
    ),
    Rule(
        "hope_something_kills_me",
        "passive ideation",
        "high",
        r"\b(?:hop(?:e|ing)|wish(?:ing)?|pray(?:ing)?)\s+(?:that\s+)?(?:something|someone|somebody|it|a\s+\w+)\s+"
        r"(?:kills|would\s+kill|will\s+kill|takes)\s+me\b",
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
    r"change|different|miss|notice|care|"
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
_QUOTE_RE = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|‘[^’\n]{1,300}’|(?<!\w)'[^'\n]{1,300}'(?!\w)")
_ATTRIB_RE = re.compile(
    r"\b(?:said|says|say|sang|sings|singing|sing|song|songs|lyrics?|line|lines|quote|quoted|quoting|goes|wrote|"
    r"writes|posted|tweeted|texted|character|movie|film|book|show|poem|album|track|meme|caption|verse|chorus|"
    r"called|titled|named|screams?|screamed|yelled|asked|asks|tells|told|tattoo|shirt|sign|episode|novel)\b",
    re.I,
)
_OWN_SPEECH_RE = re.compile(
    r"\bi\s+(?:\w+\s+){0,2}?(?:said|say|told|tell|keep\s+(?:thinking|saying|telling)|kept\s+(?:thinking|saying)|"
    r"thought|think|wrote|write|texted|text|screamed|yelled|whisper\w*|typed|messaged|journal\w*)\b",
    re.I,
)
_AFTER_QUOTE_RE = re.compile(
    r"^\W{0,3}\s*(?:\w+\s+){0,5}?(?:line|lyric|lyrics|song|quote|track|album|from|by|chorus|verse|meme|title|"
    r"movie|film|book|show|poem|novel|episode|series|band|game)\b",
    re.I,
)
_LYRIC_CUE_RE = re.compile(
    r"(?:♪|🎵|🎶|\b(?:lyrics?|line|song|chorus|verse|track)\s+(?:that\s+)?(?:goes|is|says|went)\b|"
    r"\bsing(?:ing)?\s+along\b|\bsang\b|\bsong\s+(?:called|titled|named)\b|\bcalled\b)",
    re.I,
)
_EDU_RE = re.compile(
    r"\b(?:class|classes|lecture|course|module|exam|essay|paper|thesis|dissertation|research|study|studies|"
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
    r"^\s*(?:into|in)\s+(?:the\s+|a\s+)?(?:water|lake|pool|sea|ocean|river)\b",
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


def _required(items: _sp.SubPattern | list) -> set[str] | None:
    """Literal strings one of which every match of this parsed pattern must contain (None: unknown).

    Used as a prefilter: a rule whose required literals are all absent from a message cannot match it, so
    its regex is not run. Conservative: anything it cannot reason about gives None (always run the regex).
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
    best: tuple[tuple[int, int], set[str]] | None = None
    for c in cands:
        if c:
            key = (min(len(x) for x in c), -len(c))
            if best is None or key > best[0]:
                best = (key, c)
    return None if best is None else best[1]


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
        self._rules: list[tuple[Rule, re.Pattern[str], tuple[str, ...] | None]] = []
        for r in rules:
            try:
                # Text is lowercased before matching, so lowercase patterns need no IGNORECASE (much faster).
                parsed = _sp.parse(r.pattern)
                flags = re.I if _has_upper_literal(parsed) else 0
                req = None if flags else _required(parsed)
                self._rules.append((r, re.compile(r.pattern, flags), tuple(sorted(req)) if req else None))
            except re.error as exc:
                raise ConfigError(
                    f"safety rule {r.name!r} has an invalid regular expression: {exc}.",
                    fix="Fix the pattern (Python `re` syntax, matched case-insensitively).",
                ) from exc
        self._off = self.config.disabled_filters

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
        for rule, rx, req in self._rules:
            if gate and req is not None and not any(lit in norm for lit in req):
                continue
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
