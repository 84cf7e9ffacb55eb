"""Conversation context: a reply is judged with the question it answers, a fragment with the fragments
before it.

``Turn`` is one preceding turn (oldest first). ``asks_about_risk`` recognises the assistant's (or a
clinician's) risk questions in English and Chinese and says what a "yes" to them would mean;
``affirms`` recognises short affirmative answers ("yeah every night", "kind of", "嗯", "每天晚上"); a
reply that affirms a risk question is a hit at that question's severity, whatever its own words.
``preceding_fragments`` gives the user's turns just before this one (no assistant turn between), which the
screen reads joined with the message ("i just want it" / "to stop. forever"). ``scale_answer`` reads a 0-10
rating (``rates_wish_to_live``: one where a low number is the risk answer), and ``may_take_back`` says
whether a reply may take back what the person disclosed earlier ("what do you mean?" / "lol, a song").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from phqwatch.safety.normalise import normalise
from phqwatch.safety.types import Category, Severity

__all__ = [
    "Turn",
    "RiskQuestion",
    "asks_about_risk",
    "affirms",
    "affirmed_before",
    "follows_up",
    "denies",
    "denies_harmlessly",
    "laughs_it_off",
    "says_safe",
    "says_unsafe",
    "disclosure_before_question",
    "names_danger_place",
    "preceding_fragments",
    "fragments_before_short_question",
    "reply_words",
    "may_take_back",
    "rates_wish_to_live",
    "wont_commit",
    "scale_answer",
]

#: How many of the user's preceding fragments are read with a message.
MAX_FRAGMENTS = 3
_CJK = re.compile(r"[\u3400-\u9fff]")  # a Chinese character


@dataclass(frozen=True)
class Turn:
    """A preceding turn of the same conversation."""

    role: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True)
class RiskQuestion:
    """What a "yes" to this question means."""

    severity: Severity
    category: Category
    rule: str
    #: False for a safety check ("are you safe right now?"): there a "no" is the risk answer and a "yes" is not.
    yes_is_risk: bool = True

    def answered_safely(self, reply: str) -> bool:
        """A (normalised) reply that gives only this question's safe answer: a pure denial ("no, never"), or a
        "yes" to a safety check ("yeah im ok")."""
        return denial_only(reply) if self.yes_is_risk else says_safe(reply)


#: "Are you safe at home?": a "no" is the risk answer, about someone at home.
_HOME_CHECK = re.compile(
    r"\b(?:are|do)\s+you\s+(?:feel\s+)?safe\s+(?:at\s+home|where\s+you\s+live|with\s+(?:him|her|them))|"
    r"在家(?:里)?(?:感觉)?安全吗"
)
_SAFETY_CHECK = re.compile(
    r"\bare\s+you\s+(?:safe|somewhere\s+safe|in\s+a\s+safe\s+place)(?:\s+(?:right\s+)?now)?\s*\?*\s*$|"
    r"(?:你)?(?:现在)?(?:安全吗|在安全的地方吗)\s*[？?]*\s*$"
)
_SAFE_YES = re.compile(
    r"\W*(?:(?:no\s+worries|don'?t\s+worry|不用担心|别担心|放心(?:吧)?)[\s,，.!。]*)?"
    r"(?:yes|yeah|yea|yep|yup|ya|i\s+am|i\s+think\s+so|safe|i(?:\s+am|'?m)\s+(?:safe|ok|okay|fine|good|alright|"
    r"all\s+right|home|at\s+home)|嗯|是|是的|对|(?:我)?(?:很|挺)?安全(?:的)?|还好|(?:我)?没事|在家)"
    r"(?:[\s,，.!。-]+(?:i(?:\s+am|'?m)\s+)?(?:safe|ok|okay|fine|good|alright|at\s+home|home|thanks|thank\s+you|"
    r"for\s+now|now|i\s+promise|really|honestly|with\s+my\s+\w+|(?:我)?(?:很|挺)?安全(?:的)?|没事|谢谢|在家))*\W*"
)
_UNSAFE = re.compile(
    r"^\W*(?:no+|nope|nah|not\s+really|not\s+(?:sure|safe|exactly)|i(?:\s+am|'?m)\s+not|i\s+don'?t\s+(?:think|know)|"
    r"idk|no\s+idea|不安全|不太安全|不是很安全|没有|不太|不知道)"
)
#: "no worries, I'm safe", "不用担心，我很安全", "i'm not going to do anything stupid": a no that is not about safety.
_SAFE_AFTER_ALL = re.compile(
    r"\b(?:i'?m|i\s+am)\s+(?:safe|ok|okay|fine|alright)\b|"
    r"^\W*(?:i(?:'?m|\s+am)\s+not\s+(?:going\s+to|gonna)|i\s+(?:won'?t|will\s+not))\s+(?:do\s+(?:anything|something)|"
    r"hurt\s+myself)\b(?![^.!?]{0,30}\b(?:yet|until|unless)\b)|我很安全|我挺安全|很安全|安全的|我没事"
)


def says_safe(reply: str) -> bool:
    """A (normalised) reply that only says yes to a safety check ("yeah im ok", "安全")."""
    return bool(_SAFE_YES.fullmatch(_answer(reply) or reply))


def says_unsafe(reply: str) -> bool:
    """A (normalised) reply that says no, or not sure, to a safety check ("not really", "不安全"), and does
    not go on to say it is safe ("no worries, i'm safe")."""
    reply = _answer(reply) or reply
    return bool(_UNSAFE.match(reply)) and not _SAFE_AFTER_ALL.search(reply)


_Q: list[tuple[str, Severity, Category, str]] = [
    # (pattern on the normalised question, severity of a yes, category, rule id); first match wins
    (
        r"\b(?:(?:have|did|do|are)\s+you\s+(?:already\s+)?(?:taken|took|take|swallowed|done|hurt|cut|started)\s+"
        r"(?:anything|something|them|it|any|some)|"
        r"(?:is|are)\s+(?:the|those|they|it)\s+(?:\w+\s+)?(?:with|near|next\s+to|in\s+front\s+of)\s+you|"
        r"do\s+you\s+have\s+(?:\w+\s+){0,3}(?:with\s+you|nearby|near\s+you|at\s+hand|in\s+the\s+house|access)|"
        r"anything\s+(?:nearby|around\s+you|at\s+home)\s+(?:that\s+)?you\s+could\s+(?:use|hurt))",
        "imminent",
        "suicide",
        "context_means",
    ),
    (
        r"\b(?:when\s+(?:are|were|do)\s+you\s+(?:planning|going|thinking)(?!\s+(?:to|of|about)\s+(?:call|ring|tell|talk|"
        r"speak|text|see|visit|meet|start|book|ask|move|travel|return|go\s+(?:back|home|to\s+the)|try\s+the|email))|"
        r"have\s+you\s+(?:picked|chosen|set)\s+a\s+"
        r"(?:time|date|day))",
        "imminent",
        "suicide",
        "context_time",
    ),
    (
        r"\b(?:act(?:ing)?\s+on\s+(?:it|them|these|those|(?:these|those|the|your)\s+(?:thoughts|urges|feelings))|"
        r"go(?:ing)?\s+through\s+with\s+it)\b[^?]{0,40}\b(?:tonight|today|now|right\s+now)\b|"
        r"(?:今晚|今天|现在).{0,12}(?:付诸行动|行动|动手|做傻事)",
        "imminent",
        "suicide",
        "context_time",
    ),
    (
        r"\bact(?:ing)?\s+on\s+(?:it|them|these|those|(?:these|those|the|your)\s+(?:thoughts|urges|feelings))\b|"
        r"(?:按|照)着?(?:这些|这个|那些|这种|那种)?(?:想法|念头)(?:去)?(?:做|行动)|(?:真的|真)(?:会)?去做",
        "urgent",
        "suicide",
        "context_suicide",
    ),
    (
        r"\b(?:hurt(?:ing)?|harm(?:ing)?|cut(?:ting)?|burn(?:ing)?|hit(?:ting)?|punch(?:ing)?|scratch(?:ing)?)\s+"
        r"yourself|self[\s-]*harm|\b(?:hit(?:ting)?|bang(?:ing)?)\s+your\s+head\b",
        "urgent",
        "self-harm",
        "context_self_harm",
    ),
    (
        r"\b(?:hurt(?:ing)?|harm(?:ing)?|kill(?:ing)?)\s+(?:someone|anyone|somebody|them|him|her|others|other\s+people)",
        "urgent",
        "harm-to-others",
        "context_harm_others",
    ),
    (
        r"\b(?:(?:is|has)\s+(?:someone|anyone|he|she|they)\s+(?:hurting|hitting|hurt|hit|threaten\w*)\s+you|"
        r"are\s+you\s+afraid\s+of)",
        "urgent",
        "harmed-by-others",
        "context_harmed",
    ),
    (
        r"\b(?:suicid\w*|kill(?:ing)?\s+yourself|end(?:ing)?\s+(?:your|ur)\s+(?:own\s+)?life|take\s+your\s+(?:own\s+)?life|"
        r"us(?:e|ing)\s+(?:it|them|that|those|the\s+\w+)\s+on\s+yourself|tak(?:e|ing)\s+(?:it|them|that|those)\s+yourself|"
        r"ending\s+(?:it|things)|a\s+plan\b|plans?\s+(?:to|for)\s+(?:die|dying|end)|(?:thoughts?|thinking)\s+"
        r"(?:of|about)\s+(?:death|dying|not\s+being\s+alive|not\s+wanting\s+to\s+live))",
        "urgent",
        "suicide",
        "context_suicide",
    ),
    (
        r"\b(?:better\s+off\s+dead|wish(?:ed)?\s+you\s+(?:were\s+dead|could\s+die|wouldn'?t\s+wake)|"
        r"not\s+(?:wanting|want)\s+to\s+(?:live|be\s+alive|wake\s+up)|you\s+(?:weren'?t|were\s+not)\s+(?:alive|here|around)|"
        r"life\s+(?:is\s+|isn'?t\s+|is\s+not\s+)?(?:not\s+)?worth\s+living|"
        r"(?:go\s+to\s+sleep|fall\s+asleep)\s+and\s+not\s+wake|disappear\s+forever|burden|"
        r"rather\s+not\s+(?:wake\s+up|be\s+(?:here|alive|around))|(?:be\s+)?better\s+off\s+without\s+you)",
        "high",
        "suicide",
        "context_passive",
    ),
    (
        r"(?:伤害|伤|割|划)(?:你)?自己|自残|自伤|(?:伤口?|疤|划痕)(?:是|都是)?(?:最近|新|刚)",
        "urgent",
        "self-harm",
        "context_self_harm",
    ),
    (
        r"死了(?:会不会|是不是|就)?(?:更好|比较好|好了|解脱)|不在了(?:会不会|是不是)?(?:更好|比较好)|活着(?:没|没有)意思|"
        r"不想醒来|醒不过来|消失(?:就好|算了)|付诸行动|做傻事",
        "high",
        "suicide",
        "context_passive",
    ),
    (
        r"(?:现在|身边|手边).{0,6}(?:药|刀|绳)|已经(?:吃|割|做)了|(?:有没有|是不是|是否)(?:已经)?(?:吃|喝|吞)(?:了)?"
        r"(?:什么|药|东西)|有(?:吃|喝|吞)(?:了)?什么|吃了什么",
        "imminent",
        "suicide",
        "context_means",
    ),
    (
        r"自杀|轻生|结束(?:自己的|你的)?生命|不想活|想死|死.{0,6}念头|计划|打算怎么",
        "urgent",
        "suicide",
        "context_suicide",
    ),
]
_QUESTIONS = [(re.compile(p), sev, cat, rule) for p, sev, cat, rule in _Q]

_YES = re.compile(
    r"^\W*(?:yes|yeah|yea|yep|yup|ya|yah|ye|y|mhm+|mm+|uh\s*huh|sure|right|true|correct|i\s+(?:do|am|have|did|guess)|"
    r"kind\s+of|kinda|sort\s+of|sorta|a\s+(?:little|bit|lot)|sometimes|often|always|constantly|every\s+(?:day|night|"
    r"morning|week)|all\s+the\s+time|most\s+(?:days|nights)|lately|recently|again|still|maybe|probably|idk|"
    r"i\s+don'?t\s+know|not\s+sure|i\s+think\s+so|more\s+than\s+(?:once|i'?d\s+like)|since|tonight|today|tomorrow|"
    r"this\s+(?:week|weekend)|soon|already|👍|✅|"
    r"(?:a\s+)?(?:few|couple(?:\s+of)?|several|many|\d+|once|twice)\s+(?:times|a\s+(?:day|week|night))|daily|nightly|"
    r"more\s+(?:than\s+before|often|and\s+more)|"
    r"嗯|恩|是|是的|对|有|有的|有过|会|经常|总是|每天|每晚|天天|偶尔|有时|有时候|一直|最近|好像|可能|也许|不知道|已经|今晚|明天)"
)
_NO = re.compile(
    r"^\W*(?:(?:no+|nope|nah|never|not\s+(?:really|at\s+all|anymore|now|lately)|i\s+(?:don'?t|do\s+not|haven'?t|"
    r"wouldn'?t|won'?t|am\s+not|'m\s+not)|i(?:\s+am|'?m)\s+(?:ok|okay|fine|good|alright|all\s+right|safe)|none|"
    r"nothing|absolutely\s+not|of\s+course\s+not)\b|"
    r"没有|没|不会|不是|不想|从来没|绝对不|不)"
)
_NEG_AFTER_YES = re.compile(r"^\W*(?:yes|yeah|sure|ok|okay)\W+(?:but\s+)?(?:no|not|never|i'?m\s+safe|i\s+won'?t)\b")
_ANSWER_WORDS = 12


def asks_about_risk(question: str) -> RiskQuestion | None:
    """What a "yes" to this (normalised) assistant question would mean, or None for a question about
    something else."""
    tail = question[-300:]
    if _HOME_CHECK.search(tail):
        return RiskQuestion("urgent", "harmed-by-others", "context_harmed", yes_is_risk=False)
    if _SAFETY_CHECK.search(tail):
        return RiskQuestion("imminent", "suicide", "context_unsafe", yes_is_risk=False)
    for rx, sev, cat, rule in _QUESTIONS:
        if rx.search(tail):
            return RiskQuestion(sev, cat, rule)
    return None


_FILLER = re.compile(
    r"^\W*(?:(?:honestly|well|um+|uh+|hmm+|tbh|i\s+mean|so|ok|okay|to\s+be\s+honest|if\s+i'?m\s+honest)\b[\s,.!-]*)+"
)


def _answer(reply: str) -> str:
    """The reply without leading fillers ("honestly, no" -> "no")."""
    return _FILLER.sub("", reply)


def denies(reply: str) -> bool:
    """A (normalised) short reply that answers no."""
    reply = _answer(reply)
    return bool(_NO.match(reply) or _NEG_AFTER_YES.match(reply))


def affirms(reply: str) -> bool:
    """A (normalised) short reply that answers yes, or names a time or means, to the question before it."""
    if denies(reply) or _USUAL_DOSE.search(reply):
        return False
    reply = _answer(reply) or reply
    words = reply.split()
    if len(words) > _ANSWER_WORDS and not _CJK.search(reply):
        return False
    return bool(_YES.match(reply)) or bool(
        re.match(
            r"^\W*(?:the\s+|my\s+|some\s+|a\s+)?(?:pills?|meds|tablets|rope|knife|razor|blade|gun|bridge|roof|"
            r"car|garage|bottle|belt|cord)\b|^\W*(?:全|都|全部|一整瓶)?(?:吃|吞|喝)(?:了|完了|光了)",
            reply,
        )
    )


#: A dose taken as meant ("按说明书吃的两粒", "just my usual one, as prescribed"): not a yes to "have you taken
#: anything?".
_USUAL_DOSE = re.compile(
    r"按(?:说明书|医嘱|剂量)|(?:^|[^\d])(?:一|两|二|1|2)(?:粒|片|颗)|\bas\s+prescribed\b|\b(?:my\s+)?usual\s+(?:dose|one|pill)\b"
)
#: A question that follows up what was just said ("are you thinking of doing it tonight?", "when?").
_FOLLOW_UP = re.compile(
    r"\b(?:do(?:ing)?|go(?:ing)?\s+through\s+with|act(?:ing)?\s+on)\s+(?:it|that|this)\b|\bwhen\b|"
    r"\b(?:it|that|this|them)\b[^?]{0,30}\b(?:tonight|today|now|soon|this\s+week(?:end)?)\b|今晚|什么时候"
)
#: A time given in reply to "when?" ("about an hour ago", "at 9", "刚才").
_WHEN_ANSWER = re.compile(
    r"\b(?:ago|an?\s+hour|(?:\d+|few|couple\s+of)\s+(?:min(?:ute)?s?|hours?|hrs?)|earlier|just\s+now|at\s+\d|"
    r"this\s+(?:morning|afternoon|evening))\b|前|刚才|刚刚|早上|晚上"
)


def affirmed_before(context: Sequence[Turn]) -> RiskQuestion | None:
    """The last risk question the user said yes to earlier in the conversation ("are you thinking of killing
    yourself?" / "yes"), unless a later reply took it back; None when there is none."""
    found: RiskQuestion | None = None
    asked: RiskQuestion | None = None
    for t in context:
        if t.role == "assistant":
            asked = asks_about_risk(normalise(t.text).text)
            continue
        reply = normalise(t.text).text
        if asked is not None and asked.yes_is_risk and affirms(reply):
            found = asked
        elif asked is not None and asked.answered_safely(reply):
            found = None
        asked = None
    return found


#: Words after a "no" that carry the risk on ("no. i already took them", "not yet, but tonight").
_GOES_ON = re.compile(
    r"\b(?:but|already|yet|still|though|although|actually|took|taken|done|did\s+it|going\s+to|gonna|tonight|"
    r"planning|plan|want|wanna|wish|die|dead|kill|hurt|cut|pills?|rope|gun|knife|blade\s+is|jump)\b|"
    r"但|可是|不过|已经|其实|还是|想死|今晚"
)
_LAUGHS = re.compile(r"\b(?:lol|lmao|haha\w*|jk)\b|😂|🤣|哈哈")


def denies_harmlessly(reply: str) -> bool:
    """A (normalised) reply that says no and whose explanation carries nothing on ("no! it's a craft blade")."""
    return denies(reply) and not _GOES_ON.search(reply)


def laughs_it_off(reply: str) -> bool:
    """A (normalised) reply of more than three words that laughs ("the bridge club! lol. we're playing")."""
    return bool(_LAUGHS.search(reply)) and len(reply.split()) > 3


def follows_up(question: str, reply: str) -> bool:
    """A yes, or a time given to "when?", in reply to a question that follows up what came before it."""
    if not _FOLLOW_UP.search(question):
        return False
    return affirms(reply) or (bool(re.search(r"\bwhen\b|什么时候", question)) and bool(_WHEN_ANSWER.search(reply)))


_DENIAL_ONLY = re.compile(
    r"\W*(?:no+|nope|nah|never|not\s+really|not\s+at\s+all|absolutely\s+not|of\s+course\s+not|"
    r"i\s+(?:don'?t|do\s+not|haven'?t|have\s+not|wouldn'?t|won'?t|never)(?:\s+think\s+so)?|"
    r"i(?:\s+am|'?m)\s+(?:ok|okay|fine|good|alright|all\s+right|safe)|i(?:\s+am|'?m)\s+not)"
    r"(?:[\s,.!-]+(?:no+|never|not\s+really|not\s+at\s+all|really|honestly|thanks|thank\s+you|"
    r"i(?:\s+am|'?m)\s+(?:ok|okay|fine|good|alright|safe)|i\s+promise|i\s+swear|nothing\s+like\s+that|"
    r"i\s+(?:want|wanna)\s+to\s+(?:be\s+here|live|be\s+alive|stay)|(?:and\s+)?i\s+don'?t\s+want\s+to|"
    r"just\s+(?:\w+\s+){0,2}(?:tired|sad|stressed|exhausted|down|low|bored|overwhelmed|busy|sleepy|anxious|meh)|"
    r"(?:have|did|would|will|haven'?t|didn'?t|wouldn'?t|won'?t)(?=\W*$)))*\W*"
)


_ZH_DENIAL = re.compile(
    r"^\W*(?:没有|没|不会|不是|从来没有?|从没|绝对不会|不想|并没有)(?:的|啦|哦|呀|吧|呢)?(?:[\W\s]|$)"
)
_ZH_GOES_ON = re.compile(r"但|可是|不过|已经|其实|只是.{0,4}(?:想|会)|偶尔|有时")


def denial_only(reply: str) -> bool:
    """A (normalised) reply that says no and nothing else ("no, never", "no I'm safe", "没有"): a reply that
    goes on ("no. i took the pills", "没有，但是…") is not one."""
    reply = _answer(reply) or reply
    if _ZH_DENIAL.match(reply):
        return not _ZH_GOES_ON.search(reply)
    return bool(_DENIAL_ONLY.fullmatch(reply))


def bare_answer(reply: str) -> bool:
    """A (normalised) reply of at most five words that only answers yes or no ("yeah", "no not really"):
    it means nothing without the question before it."""
    reply = _answer(reply) or reply
    if len(reply.split()) > 5 or _CJK.search(reply):
        return False
    return bool(
        _NO.fullmatch(reply.strip(" .!?"))
        or re.fullmatch(
            r"\W*(?:(?:yes|yeah|yea|yep|yup|ya|yah|ye|y|mhm+|mm+|uh\s*huh|sure|right|true|correct|ok|okay|k+|no+|nope|"
            r"nah|not\s+really|i\s+guess|i\s+do|i\s+am|i\s+have|i\s+did|maybe|kinda|sometimes|idk|not\s+(?:tonight|"
            r"now|today|right\s+now|yet)|later|i\s+think\s+so|i\s+hope\s+so|hopefully|probably|fingers\s+crossed)"
            r"(?:\W+(?:pls|please|plz|thanks|thank\s+you|thx|ty|yeah|maybe|then|later|i\s+think\s+so|i\s+hope\s+so|"
            r"hopefully|probably))*)\W*",
            reply,
        )
    )


_WHERE = re.compile(
    r"\bwhere\s+(?:are|r)\s+(?:you|u)(?:\s+(?:right\s+)?now)?\b|\bwhere\s+you\s+are\b|你(?:现在)?在哪|你(?:现在)?人在哪"
)
#: High places and railways only: "by the river" or "on the balcony" is where people walk the dog or smoke.
_DANGER_PLACE = re.compile(
    r"\b(?:on|at|by|under|near|up)\s+(?:the\s+|a\s+|my\s+)?(?:\w+\s+)?(?:bridge|roof|rooftop|ledge|cliff|"
    r"edge|tracks|railway|train\s+line|level\s+crossing|overpass|top\s+floor)\b|"
    r"桥上|桥边|栏杆外|铁轨|轨道上|悬崖|(?:楼顶|天台|顶楼)(?:上|边|了)?(?![上边]?的)"
)


def names_danger_place(question: str, reply: str) -> bool:
    """A (normalised) reply to "where are you?" that names a bridge, roof, edge or railway ("一个人，在卢浦大桥上")."""
    return (
        bool(_WHERE.search(question[-200:]))
        and len(reply.split()) <= _ANSWER_WORDS
        and bool(_DANGER_PLACE.search(reply))
    )


_SCALE = re.compile(
    r"\b(?:scale\s+of|out\s+of\s+(?:10|ten)|(?:0|1|zero|one)\s*(?:-|to)\s*(?:10|ten))\b|(?:0|1)\s*(?:-|到)\s*10|"
    r"\b(?:0|zero)\b[^?]{0,24}\bto\s+(?:10|ten)\b"
)
#: A rating of the wish to live, where a low number is the risk answer ("你现在有多想活下去？").
_LIVE_SCALE = re.compile(
    r"\b(?:wish|want|will|desire|reasons?)\s+(?:\w+\s+)?to\s+(?:be\s+alive|live|keep\s+(?:going|living))|"
    r"\bhow\s+(?:hopeful|much\s+do\s+you\s+want\s+to\s+live)|想活|活下去|求生"
)
_SCALE_ANSWER = re.compile(r"^\W*(10|[0-9])(?:\s*(?:/|out\s+of)\s*10)?(?![\d.,]*\d)")


_GOES_ON = re.compile(r"\b(?:but|though|although|except|still|already|tho)\b|但|可是|不过|已经")


#: "Can you promise me you'll call the crisis line first?": a safety plan the person is asked to commit to.
_COMMIT = re.compile(
    r"\b(?:can|could|will|would)\s+you\s+(?:promise|agree|commit|keep\s+yourself\s+safe|stay\s+safe)|"
    r"你(?:能|可以|愿意)(?:答应|保证|承诺)|能不能答应|能(?:保证|答应)"
)
#: ... and it is a safety plan, not homework ("could you commit to a walk tomorrow?").
_SAFETY_PLAN = re.compile(
    r"\b(?:crisis|hotline|helpline|lifeline|samaritans|988|999|911|112|emergency|safe|safety|urges?|hurt|harm|"
    r"reach\s+out|call\s+(?:someone|a\s+friend|me|us))\b|热线|援助|急救|120|110|安全|冲动|伤害"
)
_WONT_COMMIT = re.compile(
    r"^\W*(?:no+|nope|nah|not\s+really|i\s+can'?t(?:\s+promise)?|i\s+don'?t\s+know|idk|not\s+sure|no\s+promises|"
    r"i\s+won'?t|probably\s+not|maybe\s+not)\b|不能|做不到|保证不了|不确定|不一定|不知道|不行|答应不了"
)


def wont_commit(question: str, reply: str) -> bool:
    """A (normalised) reply that will not promise the safety plan the question asks for ("不能保证")."""
    q = question[-300:]
    return bool(
        _COMMIT.search(q)
        and _SAFETY_PLAN.search(q)
        and _WONT_COMMIT.search(reply)
        and not _SAFE_AFTER_ALL.search(reply)
    )


def rates_wish_to_live(question: str) -> bool:
    """A (normalised) 0-10 question about the wish to live, where a low rating is the risk answer."""
    return bool(_SCALE.search(question[-300:]) and _LIVE_SCALE.search(question[-300:]))


def scale_answer(question: str, reply: str) -> int | None:
    """The number a short (normalised) reply gives to a 0-10 rating question ("0. genuinely" -> 0), else None.
    A reply that goes on ("2 but i took the pills already") is not a bare rating."""
    if not _SCALE.search(question[-300:]) or len(reply.split()) > 8 or _GOES_ON.search(reply):
        return None
    m = _SCALE_ANSWER.match(reply)
    return int(m.group(1)) if m else None


def last_question(context: Sequence[Turn]) -> str | None:
    """The assistant's turn that the message answers (the last assistant turn), if any."""
    for t in reversed(context):
        if t.role == "assistant":
            return t.text
    return None


def disclosure_before_question(context: Sequence[Turn]) -> str | None:
    """The user's turns just before the assistant's last turn, joined ("i keep wishing i won't wake up",
    then "how often do those thoughts come?"): what a reply to a follow-up question is about."""
    idx = max((i for i, t in enumerate(context) if t.role == "assistant"), default=None)
    if idx is None:
        return None
    before = preceding_fragments(context[:idx])
    return " ".join(before) if before else None


def preceding_fragments(context: Sequence[Turn]) -> list[str]:
    """The user's turns right before this message, oldest first (stops at an assistant turn)."""
    out: list[str] = []
    for t in reversed(context):
        if t.role != "user" or len(out) >= MAX_FRAGMENTS:
            break
        out.append(t.text)
    return out[::-1]


#: An assistant turn this short that asks a question ("better off how?", "until what?") asks the user to go on.
SHORT_QUESTION_WORDS = 6


def fragments_before_short_question(context: Sequence[Turn]) -> list[str]:
    """The user's turns before the assistant's last turn when that turn is a short question and the last one
    ("my kids would be better off" / "better off how?"): the reply finishes what they began."""
    if not context or context[-1].role != "assistant":
        return []
    q = context[-1].text.strip()
    if not q.endswith(("?", "？")) or reply_words(q) > SHORT_QUESTION_WORDS:
        return []
    return preceding_fragments(context[:-1])


def reply_words(text: str) -> float:
    """Length in words, three Chinese characters counting as one ("我妈，她挺懂我的" is short, as "my mum" is)."""
    cjk = len(_CJK.findall(text))
    return len(re.findall(r"[^\W_]+(?:'[^\W_]+)?", _CJK.sub(" ", text))) + cjk / 3


#: The assistant asks what a disclosure meant, what it was, where or who ("what do you mean by end it?",
#: "你买炭是做什么用的？"), ...
_CLARIFY = re.compile(
    r"\bwhat\b(?!\s+(?:time|day|date)\b)|\bdid\s+you\s+mean|\bwhen\s+you\s+(?:say|said)|\bmean\s+(?:that|it)\b|"
    r"\bliterally\b|\bwho\b|"
    r"\bwhere\b|\b(?:is\s+(?:this|it|that)|talking|asking)\s+about\s+(?:you|yourself|someone\s+else)\b|"
    r"\bwhy\s+(?:are\s+you\s+|do\s+you\s+)?ask|\bare\s+you\s+(?:doing\s+)?(?:ok|okay|alright|all\s+right)\b|"
    r"什么(?!时候)|指的?是|是指|你自己|为什么问|谁|哪|怎么回事|还好吗|没事吧"
)
#: ... or the reply takes it back, or says the person is safe ("lol no, a song", "开玩笑的").
_RETRACT = re.compile(
    r"\b(?:joke|joking|kidding|jk|lol|lmao|haha\w*|not\s+like\s+that|i\s+meant|i\s+mean|expression|"
    r"figure\s+of\s+speech|song|lyrics?|story|character|game|not\s+me|my\s+friend|fanfic|fan\s+fiction|chapter|"
    r"i(?:\s+am|'?m)\s+(?:safe|ok|okay|fine|good|alright))\b|"
    r"\b(?:autocorrect\w*|typo)\b|开玩笑|哈哈|不是我|朋友|没事|安全|气话|说着玩|游戏里|不是.{0,8}的意思|没有啦"
)


def may_take_back(question: str, reply: str) -> bool:
    """Whether a (normalised) reply may take back what the person disclosed before the question: a question
    in it (or its last sentence) asks what they meant, what it was, where or who, or the reply says so."""
    sentences = [p for p in re.split(r"(?<=[.!?。！？])", question.strip()) if p.strip(" .!?。！？")]
    asked = [p for p in sentences if p.rstrip().endswith(("?", "？"))] + sentences[-1:]
    return any(_CLARIFY.search(p) for p in asked) or bool(_RETRACT.search(reply))
