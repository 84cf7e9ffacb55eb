"""Context filters: judge one raw rule match in its sentence (negated, reported speech, quoted, lyrics,
idiom, educational, past history). Pure functions over normalised text."""

from __future__ import annotations

import re

from phqwatch.safety.types import Rule

FILTERS = ("idiom", "quoted", "lyrics", "reported speech", "educational", "negated", "history")

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
#: A new clause (subject + verb) between a negator and a match ends the negator's scope, punctuation or not.
_NEW_CLAUSE_RE = re.compile(
    r"\b(?:i|i'm|im|i've|ive|i'll|i'd|you|he|she|we|they|it's|my\s+\w+)\s+"
    r"(?!(?:don'?t|dont|do\s+not|can'?t|cant|cannot|won'?t|wont|never|not|no|didn'?t|didnt)\b)[a-z']+",
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
    r"person|guy|girl|man|woman|bf|gf|bestie|buddy|teen|teens|author|rapper|band|celebrity|actor|actress|"
    r"influencer|streamer|athlete|pastor|priest|imam|rabbi|preacher)\b",
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
    r"cover)\b|^\W{0,3}\s*(?:was|is)\s+(?:just\s+)?(?:a\s+)?(?:joke|expression|figure\s+of\s+speech)\b",
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
    r"character|season|book|game|show|song|band|album|guidelines?|drills?|sprints?|practice|"
    r"can\s+(?:increase|cause|trigger)|side\s+effects?|black\s+box|barriers?|hotlines?|helplines?|dream\w*|nightmares?|"
    r"evidence[\s-]based|interventions?|fentanyl|paramedics?|(?:two|three|four|five|six|several|many|multiple|\d+)\s+overdoses)\b",
    re.I,
)
#: Students of these fields ask about risk for their studies; any other student may be asking about themselves.
_FIELDS = (
    r"nursing|medical|med|medicine|psychology|psych|social\s+work|pharmacy|pharmacology|toxicology|"
    r"criminology|counsell?ing|public\s+health"
)
#: A professional who says so in a sentence of their own ("as a GP", "i'm a school counsellor", "我是学校心理老师").
_PRO_SPEAKER_RE = re.compile(
    r"(?:^|[.!?]\s+)\W*(?:(?:"
    + _FIELDS
    + r")\s+student|nurse|doctor|gp|teacher|counsell?or|therapist|paramedic)\s+here\b|"
    r"(?:^|[.!?]\s+)\W*(?:(?:hi|hello|hey)\W+)?(?:as\s+an?|i'?m\s+an?|i\s+am\s+an?|i\s+work\s+as\s+an?)\s+(?:\w+\s+){0,2}?"
    r"(?:gp|doctor|nurse|teacher|counsell?or|therapist|psychologist|psychiatrist|social\s+worker|pharmacist|"
    r"paramedic|clinician|youth\s+worker|lecturer|tutor|researcher|head\s+of\s+year|senco|chaplain|midwife|"
    r"(?:" + _FIELDS + r")\s+student)\b|"
    r"^\W*(?:您好|你好)?\W*(?:我是(?:一名|一个|一位)?.{0,6}?(?:老师|医生|护士|社工|咨询师|班主任|辅导员|心理师|药师)|"
    r"(?:我是)?(?:心理学?|应用心理|医学|临床医学|精神医学|护理|社工|社会工作|药学)专业(?:的)?(?:学生|研究生))"
)
#: A professional asking how to do their job: the "i" is not the person at risk.
_HOW_SHOULD_I_RE = re.compile(
    r"\b(?:how|what)\s+(?:should|can|could|do|would)\s+i\s+(?:best\s+)?(?:phrase|ask|approach|talk|bring\s+up|raise|"
    r"handle|respond|word|screen|assess|document|refer)\b"
)
#: A question about a word ("what does 'sewerslide' mean?"), or a remark about one ("unalive is a weird word").
_WHAT_DOES_RE = re.compile(r"\bwhat\s+(?:does|do|is)\s+(?:the\s+word\s+)?\W*$")
_MEANS_AFTER_RE = re.compile(r"\W*\s*(?:mean|means|stand\s+for)\b")
_WORD_AFTER_RE = re.compile(
    r"\W*\s*(?:is|are)\s+(?:such\s+)?(?:a\s+)?(?:weird|strange|funny|stupid|new|common|odd|silly)\s+(?:word|term|slang)"
)
#: Someone else's words reported in Chinese ("我闺蜜说她", "我爸 老说").
_ZH_REPORTED_RE = re.compile(
    r"(?:他|她|他们|她们|闺蜜|朋友|同学|室友|网友|同事|妈妈?|爸爸?|老公|老婆|男朋友|女朋友|孩子|儿子|女儿|弟弟|妹妹|哥哥|"
    r"姐姐|有人|有个人)[^我]{0,14}(?:(?:跟|和|对)我)?(?:说|讲|提到|告诉我|开玩笑说|发消息说)[^我]{0,6}$"
)
#: A story, comic, essay or thesis the match is set in ("我画的漫画里主角…", "作文里写…"), unless the speaker
#: says it of themselves just before the match ("我的论文写不完，我想死").
_ZH_WORK_RE = re.compile(
    r"(?:漫画|小说|同人文|故事|剧本|电影|电视剧|剧里|游戏|作文|歌词)(?:里|中)|论文|文献|课题|综述|情节"
)
#: The match is a study's topic ("我在写关于青少年自伤的论文").
_ZH_WORK_AFTER_RE = re.compile(r"^(?:行为|问题|现象)?的?(?:论文|作业|报告|研究|课题|综述|讲座|调查|问卷)")
#: The sentence after a question says it is for study or work ("i'm doing a public health presentation").
_FOR_WORK_AFTER_RE = re.compile(
    r"^\W*(?:(?:it'?s|this\s+is)\s+for\s+|(?:(?:i'?m|im|i\s+am)\s+)?(?:doing|writing|working\s+on|preparing|making|"
    r"giving)\s+|for\s+(?:my|a|an|the|our)\s+)"
)
#: A Chinese negation just before the match ("我没有想自杀哦") with no "but" after it.
_ZH_NEG_BEFORE_RE = re.compile(r"(?:没有|没|从没|从来没有?|并没有|不会|并不|不是真的|并不是真的)(?:想过?|打算|要)?$")
_ZH_CONTRAST_RE = re.compile(r"但|可是|不过|其实")
#: "已经三个月没有自残了": a time since, which is history, not a denial.
_ZH_SINCE_RE = re.compile(r"已经|好久|很久|个月|[年周天]没|星期|戒")
#: Hyperbole: "尴尬到想死", "笑得要死".
_ZH_HYPERBOLE_RE = re.compile(r"(?:尴尬|丢人|丢脸|社死|羞耻|笑|热|冷|饿|困|无聊|好吃|可爱)(?:到|得)$")
#: "not that I want to ...": a negation whose scope is the clause after it.
_NOT_THAT_RE = re.compile(r"\bnot\s+that\s+(?:i|i'?m|im|i'?d)\s+(?:\w+\s+)?$")
#: The people such a professional asks about.
_GROUP_RE = re.compile(
    r"\b(?:patients?|clients?|students?|pupils?|teenagers?|teens|young\s+people|kids|children|service\s+users|"
    r"residents|staff|colleagues|someone|people)\b|学生|病人|患者|来访者|孩子们|青少年|员工"
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
    r"^\s*on\s+(?:christmas\s+|easter\s+|halloween\s+|birthday\s+)?(?:netflix|tv|coffee|caffeine|sugar|candy|chocolate|cake|carbs|youtube|tiktok|memes|anime|"
    r"k-?dramas?|nostalgia|sunshine)\b|"
    r"^\s*(?:for\s+(?:my\s+|the\s+|a\s+|our\s+)?(?:climbing|camping|boat|sailing|tent|swing|hammock|crafts?|"
    r"macrame|tug|washing\s+line|laundry|aerial|silks|yoga|circus|pole|gym|class)|"
    r"to\s+(?:tie|secure|tow)\s+(?:the|a|my|our|down|up))\b|"
    r"^\s*in\s+(?:this|the|my)\s+(?:\w+\s+){0,2}(?:run|level|boss|fight|raid|match|round|playthrough)\b|"
    r"^[^.!?\n]{0,24}\b(?:traffic\s+(?:is|was|jam)|in\s+(?:the\s+)?traffic|stuck\s+in|gonna\s+be\s+late|running\s+late|"
    r"flying\s+(?:to|out|home)|holiday|vacation|trip|wedding|conference|can\s+we\s+(?:move|reschedule))\b|"
    r"^\s*than\s+(?:wear|eat|watch|listen\s+to|sing|dance|be\s+seen)\b|"
    r"^[^.!?\n]{0,40}\bto\s+(?:respawn|reset\s+the\s+(?:level|run|game)|get\s+the\s+achievement)\b|"
    r"^[^.!?\n]{0,40}\b(?:fall\s+damage|in\s+(?:minecraft|fortnite|roblox|apex|warzone|valorant|overwatch|terraria|"
    r"elden\s+ring|dark\s+souls))\b",
    re.I,
)
#: A joke marked in brackets just after the match ("kms if i have to sit through another call (jk obviously)").
_JOKE_AFTER_RE = re.compile(
    r"^[^\n]{0,56}\(\s*(?:jk|j/k|just\s+kidding|kidding|not\s+(?:really|literally|seriously))\b"
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
    r"^\s*(?:is|'s|was)\s+(?:not|never)\s+(?:an\s+option|something\s+i(?:'d|\s+would)\s+(?:ever\s+)?(?:do|consider))|"
    r"^\s*,?\s*(?:no|nope|never)\b(?!\s*(?:one|body|more|longer|joke|doubt|lie|cap|matter|way|idea))",  # "suicidal no"
    re.I,
)
#: Someone asked the speaker and the speaker answered no ("she asked if I'd ever wanted to die and I said no").
_ASKED_RE = re.compile(r"\b(?:asked|asks|asking)\s+(?:me\s+)?(?:if|whether|to\s+rate)\b", re.I)
_ANSWER_NO_RE = re.compile(
    r"\b(?:said|told\s+\w+|answered|replied)\s+(?:honestly\s+|truthfully\s+)?(?:that\s+)?(?:no\b|not\b|zero\b|0\b|"
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
    r"\baccident(?:ally|al)\b|\bby\s+mistake\b|\b(?:fell|tripped|slipped|crashed)\s+(?:off|over|on|down|in)\b|"
    r"不小心|切菜|削(?:苹果|水果|皮)",
    re.I,
)
_HARM_CATEGORIES = {"self-harm", "direct ideation"}
_IDIOM_CATEGORIES = _HARM_CATEGORIES | {"farewell/burden", "plan/means", "intent/plan", "passive ideation"}
_HISTORY_RE = re.compile(
    r"\b(?:used\s+to|years?\s+ago|years?\s+back|months?\s+ago|a\s+long\s+time\s+ago|long\s+ago|in\s+the\s+past|back\s+in|"
    r"back\s+when|when\s+i\s+was\s+(?:a\s+|younger|little|\d+|in)|as\s+a\s+(?:teen|teenager|kid|child)|"
    r"in\s+(?:high\s+school|middle\s+school|college|uni|my\s+teens|my\s+twenties|my\s+20s|\d{4})|"
    r"haven'?t|hasn'?t|havent|clean\s+(?:for|since)|\d+\s+(?:years?|months?|days?|weeks?)\s+clean|"
    r"recovered|recovery|no\s+longer|(?<!if\si\s)(?<!if\si\sjust\s)stopped|history\s+of|past\s+attempt|previous\s+attempt|survivor|"
    r"old\s+scars|scars\s+from|once\s+(?:tried|attempted))\b",
    re.I,
)
_PRESENT_RE = re.compile(
    # bare "now" is not enough: "I attempted years ago, I'm in a better place now" is history
    r"\b(?:(?<!place\s)(?<!better\s)(?<!fine\s)(?<!okay\s)(?<!ok\s)(?<!well\s)now|again|lately|these\s+days|today|"
    r"tonight|recently|right\s+now|this\s+(?:week|morning|month)|"
    r"started\s+again|relaps\w*|still|anymore\s+but|currently|last\s+night|yesterday)\b",
    re.I,
)


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


def judge(
    text: str, start: int, end: int, rule: Rule, off: frozenset[str] = frozenset()
) -> tuple[str | None, str | None]:
    """(suppression reason or None, note or None) for one raw match."""
    s0, s1 = _bounds(_SENT_RE, text, start)
    sentence_prefix = text[s0:start]
    after = text[end:s1]
    c0 = s0 + _bounds(_CLAUSE_RE, text[s0:start] + " ", len(text[s0:start]))[0]
    clause_prefix = text[c0:start]

    if "idiom" not in off and _JOKE_AFTER_RE.search(text[end : end + 60]):
        return "idiom", None
    if "idiom" not in off and rule.kind in _IDIOM_CATEGORIES:
        if _IDIOM_AFTER_RE.search(text[end : end + 60]):
            return "idiom", None
        if _GAME_PREFIX_RE.search(clause_prefix):
            return "idiom", None
        if rule.kind == "self-harm" or rule.name in ("kill_myself", "end_my_life"):
            if _ACCIDENT_AFTER_RE.search(after) or _ACCIDENT_BEFORE_RE.search(sentence_prefix):
                return "idiom", None
    if "quoted" not in off:
        q = _quoted(text, start, end, s0)
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
    if "educational" not in off and not rule.first_person and _PRO_SPEAKER_RE.search(text[:300]):
        asks = _GROUP_RE.search(text[s0:s1]) or "?" in text[end : s1 + 2]
        own = _HOW_SHOULD_I_RE.sub(" ", clause_prefix)  # "how should i phrase questions about self-harm?"
        if asks and not re.search(r"\b(?:i|i'?m|im|me|my)\b", own) and "我" not in clause_prefix[-8:]:
            return "educational", None  # "as a GP, how do you handle patients who disclose suicidal thoughts?"
    if "educational" not in off and (rule.mention or rule.kind == "euphemism"):
        if (_WHAT_DOES_RE.search(sentence_prefix) and _MEANS_AFTER_RE.match(after)) or _WORD_AFTER_RE.match(after):
            return "educational", None  # "what does 'sewerslide' mean?", "unalive is such a weird word"
    if "reported speech" not in off and not rule.first_person and _ZH_REPORTED_RE.search(sentence_prefix[-24:]):
        return "reported speech", None  # "我闺蜜说她不想活了"
    if (
        "educational" not in off
        and (_ZH_WORK_RE.search(sentence_prefix[-20:]) or _ZH_WORK_AFTER_RE.match(after))
        and "我" not in sentence_prefix[-3:]
    ):
        return "educational", None  # "我画的漫画里主角手上有自残的疤"
    if "idiom" not in off and _ZH_HYPERBOLE_RE.search(sentence_prefix[-4:]):
        return "idiom", None  # "尴尬到想死"
    if (
        "negated" not in off
        and _ZH_NEG_BEFORE_RE.search(sentence_prefix[-6:])
        and not _ZH_CONTRAST_RE.search(after)
        and not _ZH_SINCE_RE.search(sentence_prefix)
    ):
        return "negated", None  # "我没有想自杀哦，只是最近心情不太好"
    if "educational" not in off and rule.mention and "?" in text[s1 : s1 + 2]:
        purpose = _FOR_WORK_AFTER_RE.match(text[s1 + 1 : s1 + 120])  # "...? i'm doing a public health presentation"
        if purpose and _EDU_RE.search(text[s1 + 1 : s1 + 120]):
            return "educational", None
    if "educational" not in off and rule.mention and _EDU_RE.search(text[s0:s1]):
        if not _OWN_STATE_RE.search(text[max(s0, start - 40) : start]):
            return "educational", None
    if "negated" not in off:
        denied = bool(_DENIAL_RE.search(clause_prefix[-60:]) or _NEG_AFTER_RE.search(after))
        if not denied and _ASKED_RE.search(sentence_prefix):
            answer = _ANSWER_NO_RE.search(after)
            denied = answer is not None and not _UNDO_DENIAL_RE.search(after[answer.end() :])
            if denied:
                return "negated", None
        if denied and not _UNDO_DENIAL_RE.search(after):
            return "negated", None
    history = "history" not in off and bool(_HISTORY_RE.search(text[s0:s1])) and not _PRESENT_RE.search(text[s0:s1])
    if "negated" not in off and _NOT_THAT_RE.search(clause_prefix[-30:]):
        return "negated", None  # "it's more like I'm sad, not that I want to die"
    if "negated" not in off and not history:
        window = clause_prefix[-45:]
        for neg in _NEG_RE.finditer(window):
            if _HEDGE_AFTER_RE.search(window[neg.end() :] + text[start:end]):
                continue
            if _TEMPORAL_NEG_RE.search(window[max(0, neg.start() - 6) : neg.end() + 6]):
                continue
            if _NEW_CLAUSE_RE.search(window[neg.end() :]):
                continue  # a new subject and verb after the negator: its scope ended ("i can't sleep i want to ...")
            if _CONTRAST_AFTER_RE.search(after):
                break
            return "negated", None
    if history:
        return None, "past history: surfaced at review severity"
    return None, None


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
