"""Word lists written by the project: one PHQ-9 symptom lexicon per item, plus style markers.

Terms are lower-case tokens as `tokenize` produces them (letters/digits with an inner apostrophe kept:
"can't", "i'm"), one to three words. Each symptom term has a weight: 1.0 for a clear symptom phrase,
0.5 for a weaker cue. `HEALTHY` lists phrases that state the opposite ("i sleep fine"); they count
against the item. These are heuristics for features and evidence, not a validated instrument.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; curly apostrophes become straight ones."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def _terms(strong: str, weak: str = "") -> dict[str, float]:
    out = {t.strip(): 0.5 for t in weak.split(";") if t.strip()}
    out.update({t.strip(): 1.0 for t in strong.split(";") if t.strip()})
    return out


#: PHQ-9 item number -> {term: weight}.
SYMPTOMS: dict[int, dict[str, float]] = {
    1: _terms(  # anhedonia: little interest or pleasure
        "anhedonia; no interest; lost interest; losing interest; no motivation; unmotivated; nothing is fun; "
        "not fun anymore; don't enjoy; can't enjoy; cannot enjoy; didn't enjoy; no longer enjoy; enjoy nothing; "
        "nothing matters; don't care; dont care; stopped caring; no point; pointless; meaningless; "
        "no joy; joyless; no pleasure; lost passion; no passion; apathetic; apathy; indifferent; "
        "just exist; going through the motions; numb; feel nothing; feeling nothing; empty inside",
        "bored; boring; boredom; not interested; whatever; nothing to look forward; hobbies; motivation; "
        "can't be bothered; stopped doing; gave up on",
    ),
    2: _terms(  # low mood, depressed, hopeless
        "depressed; depression; depressive; hopeless; hopelessness; despair; miserable; sad; sadness; "
        "unhappy; down; feeling down; feel low; feeling low; low mood; heartbroken; crying; cry; cried; "
        "tears; sobbing; empty; emptiness; lonely; loneliness; alone; grief; grieving; gloomy; "
        "dark place; darkness; no hope; lost hope; give up; giving up; suffering; pain; hurting; hurts; "
        "broken; misery; awful; terrible; horrible; worst",
        "upset; lost; struggle; struggling; stressed; anxious; anxiety; worried; overwhelmed; tired of; "
        "sick of; hate; hard; difficult; bad day; rough",
    ),
    3: _terms(  # sleep: too little or too much
        "insomnia; can't sleep; cant sleep; cannot sleep; couldn't sleep; unable to sleep; trouble sleeping; "
        "problems sleeping; sleepless; sleepless nights; no sleep; lack of sleep; not sleeping; barely sleep; "
        "barely slept; awake all night; up all night; lie awake; lying awake; laying awake; wake up at; "
        "waking up at; keep waking; woke up at; nightmares; oversleep; oversleeping; sleep all day; "
        "sleeping all day; sleep too much; sleeping too much; slept all day; sleep schedule; "
        "falling asleep; fall asleep; stay asleep; staying asleep; sleeping pills; restless night",
        "sleep; sleeping; slept; asleep; awake; tossing and turning; nap; naps; napping; bed all day; "
        "in bed; 3am; 4am; 2am; 5am; night",
    ),
    4: _terms(  # energy: tired, fatigue
        "tired; exhausted; exhaustion; fatigue; fatigued; no energy; low energy; drained; worn out; "
        "lethargic; lethargy; weary; burnt out; burned out; burnout; sluggish; heavy; so tired; "
        "always tired; tired all the time; can't get out of bed; cant get out of bed; get out of bed; "
        "stay in bed; staying in bed; no strength; wiped out",
        "energy; sleepy; effort; lazy; rest; resting; shower; lying in bed",
    ),
    5: _terms(  # appetite: poor appetite or overeating
        "no appetite; lost appetite; loss of appetite; appetite; not eating; stopped eating; can't eat; "
        "cant eat; barely eat; barely eating; skip meals; skipping meals; forget to eat; binge; binging; "
        "bingeing; binge eating; overeating; overeat; stress eating; comfort eating; lost weight; "
        "losing weight; gained weight; gaining weight; weight loss; weight gain; starving myself",
        "hungry; hunger; junk food; snacking; weight; eating habits",
    ),
    6: _terms(  # worthlessness, guilt, failure
        "worthless; worthlessness; useless; failure; a failure; i failed; i'm a failure; failed; "
        "disappointment; let down; let everyone down; letting everyone down; burden; a burden; "
        "hate myself; i hate myself; loathe myself; self hatred; self loathing; ashamed; shame; shameful; "
        "guilt; guilty; my fault; blame myself; not good enough; never good enough; pathetic; "
        "loser; stupid; waste of space; waste of air; don't deserve; unlovable; nobody cares; "
        "no one cares; disgusting; ugly; inadequate; inferior; regret",
        "embarrassed; embarrassing; fault; sorry; mess up; messed up; mistakes; mistake; idiot; weak",
    ),
    7: _terms(  # concentration
        "can't concentrate; cant concentrate; cannot concentrate; trouble concentrating; can't focus; "
        "cant focus; cannot focus; unable to focus; no focus; lose focus; losing focus; lost focus; "
        "brain fog; foggy; distracted; can't think; cant think; can't think straight; mind goes blank; "
        "zone out; zoning out; spacing out; forgetful; forgetting things; can't remember; indecisive; "
        "can't decide; can't read; can't study; can't work",
        "focus; concentrate; concentration; attention; memory; confused; confusion; scattered; "
        "distraction; procrastinate; procrastinating; procrastination",
    ),
    8: _terms(  # psychomotor: slowed or restless
        "restless; restlessness; fidgety; fidgeting; can't sit still; cant sit still; pacing; agitated; "
        "agitation; slowed down; moving slowly; slow motion; everything feels slow; sluggish; "
        "can't stop moving; jittery; on edge; shaking; trembling",
        "slow; slowly; tense; jumpy; twitchy; nervous energy; keyed up",
    ),
    9: _terms(  # thoughts of death or self-harm
        "suicide; suicidal; kill myself; killing myself; end my life; ending my life; end it all; "
        "take my life; want to die; wanna die; wish i was dead; wish i were dead; better off dead; "
        "better off without me; not wake up; don't want to live; dont want to live; don't want to be here; "
        "self harm; self-harm; selfharm; cut myself; cutting myself; cutting; hurt myself; hurting myself; "
        "overdose; od; noose; hang myself; jump off; no reason to live; not worth living; end the pain; "
        "disappear forever",
        "die; dying; death; dead; die soon; kms; ending; gone; disappear",
    ),
}

#: Phrases that state the item is fine; they count against the item (crude negation by context).
HEALTHY: dict[int, tuple[str, ...]] = {
    1: ("enjoy; enjoyed; enjoying; fun; excited; love doing; looking forward",),
    2: ("happy; great; good mood; feel good; feeling good; doing well; doing great; grateful; glad",),
    3: ("sleep fine; sleep well; slept well; sleeping well; sleep great; slept great; sleeping fine; good sleep",),
    4: ("energetic; full of energy; lots of energy; well rested; rested; refreshed",),
    5: ("eating well; eat well; eating fine; good appetite; healthy diet",),
    6: ("proud of myself; proud; confident; i'm good enough; worth it",),
    7: ("focused; concentrating fine; productive; got a lot done",),
    8: ("calm; relaxed; settled",),
    9: ("want to live; glad to be alive; safe",),
}
HEALTHY_TERMS: dict[int, dict[str, float]] = {
    k: {t.strip(): 1.0 for s in v for t in s.split(";") if t.strip()} for k, v in HEALTHY.items()
}

#: Words that negate the next one to three tokens ("not tired", "never depressed").
NEGATORS: frozenset[str] = frozenset(
    "not no never don't dont didn't didnt isn't isnt wasn't wasnt aren't arent haven't havent hardly "
    "without nor neither barely".split()
)

FIRST_PERSON_SINGULAR: frozenset[str] = frozenset("i me my mine myself i'm im i've ive i'd i'll".split())
FIRST_PERSON_PLURAL: frozenset[str] = frozenset("we us our ours ourselves we're we've".split())
SECOND_PERSON: frozenset[str] = frozenset("you your yours yourself you're you've u ur".split())
THIRD_PERSON: frozenset[str] = frozenset("he she him her his hers they them their theirs he's she's".split())
#: Absolutist words (after Al-Mosaiwi & Johnstone 2018, Clinical Psychological Science), project list.
ABSOLUTIST: frozenset[str] = frozenset(
    "absolutely all always complete completely constant constantly definitely entire entirely ever every "
    "everyone everything everybody full fully must never nothing nobody totally whole forever".split()
)
#: Words about help-seeking and treatment (a weak cue of a clinical context).
TREATMENT: frozenset[str] = frozenset(
    "therapist therapy psychiatrist counselor counsellor medication meds antidepressant antidepressants "
    "ssri zoloft prozac lexapro sertraline wellbutrin diagnosed diagnosis hospital".split()
)

STYLE_SETS: dict[str, frozenset[str]] = {
    "first_person_singular": FIRST_PERSON_SINGULAR,
    "first_person_plural": FIRST_PERSON_PLURAL,
    "second_person": SECOND_PERSON,
    "third_person": THIRD_PERSON,
    "absolutist": ABSOLUTIST,
    "negation": NEGATORS,
    "treatment": TREATMENT,
}


@lru_cache(maxsize=1)
def compiled_terms() -> dict[int, dict[tuple[str, ...], float]]:
    """Item -> {token tuple: weight}; HEALTHY terms get negative weights (-0.7)."""
    out: dict[int, dict[tuple[str, ...], float]] = {}
    for item, terms in SYMPTOMS.items():
        d = {tuple(tokenize(t)): w for t, w in terms.items() if tokenize(t)}
        for t in HEALTHY_TERMS.get(item, {}):
            key = tuple(tokenize(t))
            if key and key not in d:
                d[key] = -0.7
        out[item] = d
    return out
