"""The scripted check-in: the offline default when no model is configured, and the fallback when the model is
down, slow or off-policy.

Not an echo: it opens with an agenda question, reflects what it heard (feelings and themes, in its own
words), follows up with one question chosen from what the person said (guided discovery), gently asks about
one domain the week's conversations have not touched (see `coverage`), agrees on one small step (homework),
and closes with a summary of the themes and the step. Deterministic: the same history gives the same reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from phqwatch.chat.coverage import domain
from phqwatch.chat.types import ChatTurn, Kind

__all__ = [
    "SCRIPT_VERSION",
    "THEMES",
    "ScriptTurn",
    "Theme",
    "feelings_in",
    "is_closing",
    "opening",
    "scripted_reply",
    "themes_in",
]

#: Version of the scripted check-in's text (stored with its replies like a prompt version).
SCRIPT_VERSION = "script-v1"


@dataclass(frozen=True)
class Theme:
    key: str
    label: str  # as it reads in a summary ("work")
    pattern: re.Pattern[str]
    reflect: str
    follow: str  # a guided-discovery question for the patient
    follow_family: str


@dataclass(frozen=True)
class ScriptTurn:
    """One scripted reply: its text, its stage, the coverage domain and the theme it asks about, if any."""

    text: str
    stage: str
    topic: str | None = None
    theme: str | None = None


def _p(words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + words + r")\b", re.IGNORECASE)


THEMES: tuple[Theme, ...] = (
    Theme("work", "work or study", _p(r"work\w*|job|boss|shifts?|office|colleagues?|deadlines?|school|class(?:es)?|"
          r"exams?|stud(?:y|ying)|uni(?:versity)?|college|manager"),
          "It sounds like work or study has been taking a lot out of you.",
          "When things get hard there, what tends to go through your mind?",
          "How do they seem when they come back from work or study?"),
    Theme("family", "family", _p(r"mum|mom|mother|dad|father|parents?|brother|sister|kids?|children|son|daughter|"
          r"family|grand(?:ma|pa|mother|father)"),
          "It sounds like things with your family are on your mind.",
          "What happened with them that stayed with you most?",
          "How have things been between them and the rest of the family?"),
    Theme("relationships", "the people close to you", _p(r"partner|boyfriend|girlfriend|husband|wife|friends?|"
          r"relationship|break ?up|broke up|dating|flatmates?|roommates?"),
          "It sounds like your relationships have been part of how this week has gone.",
          "How did that leave you feeling about yourself?",
          "How have they been with friends or the people close to them?"),
    Theme("loneliness", "feeling alone", _p(r"alone|lonely|isolated|no ?one|nobody|by myself|withdrawn"),
          "It sounds like you have been feeling quite alone with this.",
          "When you feel most alone, what do you usually do - and does it help?",
          "When have you noticed them pulling back from people?"),
    Theme("stress", "stress and worry", _p(r"stress\w*|worr\w*|anxi\w*|panic\w*|overwhelm\w*|nervous|on edge|"
          r"pressure"),
          "It sounds like there has been a lot of pressure and worry.",
          "What is the worry that comes back most often, and what does it tell you?",
          "What seems to worry them most at the moment?"),
    Theme("sleep", "sleep", _p(r"sleep\w*|slept|insomnia|awake|nights?|nightmares?|bed"),
          "It sounds like nights have not been easy.",
          "What goes through your mind when you are lying awake?",
          "What have you noticed about their nights?"),
    Theme("energy", "energy", _p(r"tired|exhausted|drained|no energy|fatigue\w*|worn out|sluggish"),
          "It sounds like you have been running on empty.",
          "What do you notice about the times when you have a little more energy?",
          "When in the day do they seem to have the most energy?"),
    Theme("food", "eating", _p(r"eat\w*|ate|food|appetite|meals?|hungry|snack\w*|cook\w*"),
          "It sounds like eating has been part of this.",
          "What is a usual day of meals like for you at the moment?",
          "What have you noticed about their meals?"),
    Theme("money", "money", _p(r"money|rent|bills?|debts?|afford|broke|pay ?check|salary"),
          "It sounds like money worries have been weighing on you.",
          "What part of it feels most pressing right now?",
          "How much do money worries seem to weigh on them?"),
    Theme("health", "your health", _p(r"pain|sick|ill(?:ness)?|doctor|hospital|health|headaches?|injur\w*"),
          "It sounds like your health has been getting in the way.",
          "How is that affecting the rest of your day?",
          "How is their health affecting their days?"),
    Theme("interest", "motivation and enjoyment", _p(r"motivat\w*|bored|boring|pointless|don'?t enjoy|no fun|"
          r"nothing fun|hobb(?:y|ies)|can'?t be bothered|lost interest"),
          "It sounds like it has been hard to find much enjoyment or drive lately.",
          "What is one thing that used to feel good, and what gets in the way of it now?",
          "What have they stopped doing that they used to enjoy?"),
    Theme("good", "some good moments", _p(r"good|great|better|happy|enjoyed|fun|proud|relaxed|walk(?:ed|ing)?|"
          r"nice|calm"),
          "It sounds like there have been some better moments, too.",
          "What helped make that moment better - and could more of it happen this week?",
          "What seemed to help on the better days?"),
)  # fmt: skip

_FEELINGS = (
    ("low", _p(r"sad|down|low|empty|hopeless|miserable|depress\w*|crying|cried|numb|awful|terrible")),
    ("anxious", _p(r"anxious|worried|nervous|panick?\w*|scared|afraid|on edge|tense")),
    ("frustrated", _p(r"angry|frustrat\w*|annoy\w*|irritat\w*|furious|fed up")),
    ("worn out", _p(r"tired|exhausted|drained|worn out|burn(?:ed|t) out")),
    ("lonely", _p(r"lonely|alone|isolated|left out")),
    ("overwhelmed", _p(r"overwhelm\w*|stressed|too much|swamped")),
    ("a little better", _p(r"better|good|okay|ok|fine|happy|relieved|calm")),
)
_CLOSING = re.compile(
    r"\b(?:bye|goodbye|good night|gotta go|got to go|have to go|that'?s all|that is all|that'?s it for today|"
    r"nothing else|nothing more|that covers (?:it|what)|i think that'?s it|talk (?:to you )?later|see you)\b",
    re.IGNORECASE,
)


def themes_in(text: str) -> list[Theme]:
    """Themes the text touches, in the order of THEMES."""
    return [t for t in THEMES if t.pattern.search(text)]


def feelings_in(text: str) -> list[str]:
    """Feeling words the text uses, as the check-in would name them back."""
    return [name for name, pat in _FEELINGS if pat.search(text)]


def is_closing(text: str) -> bool:
    """The person signals the end of the check-in."""
    return bool(_CLOSING.search(text))


def opening(kind: Kind = "patient", name: str | None = None) -> str:
    """The first assistant message: a greeting and an agenda question."""
    hello = f"Hi {name}" if name else "Hi"
    if kind == "family":
        return (
            f"{hello}, thank you for checking in. This is a space to talk about what you have noticed at home and "
            "how you are doing yourself; your relative will not see it. What would you like to talk about today?"
        )
    return (
        f"{hello}, it is good to hear from you. This is a short check-in: you can talk about anything that has "
        "been on your mind. What would you like to focus on today?"
    )


def _reflection(text: str, themes: list[Theme], n: int) -> str:
    feelings = [f for f in feelings_in(text) if f != "a little better"] or feelings_in(text)
    if feelings:
        if feelings[0] == "a little better":
            return "It sounds like things have felt a little better."
        if len(feelings) > 1:
            return f"It sounds like you have been feeling {feelings[0]}, and {feelings[1]} too."
        return f"It sounds like you have been feeling {feelings[0]}."
    if themes:
        return themes[0].reflect
    if len(text.split()) <= 3:
        return ("Thank you for telling me.", "I hear you.", "Okay.")[n % 3]
    return ("Thank you for sharing that with me.", "That sounds like a lot to carry.", "I appreciate you telling me.")[
        n % 3
    ]


def _follow_up(themes: list[Theme], used: set[str], kind: Kind, n: int) -> tuple[str, str | None]:
    for t in themes:
        if t.key not in used:
            return (t.follow_family if kind == "family" else t.follow), t.key
    generic_patient = (
        "What would you like to be different about that?",
        "What went through your mind when that happened?",
        "How did you handle it, and what helped even a little?",
    )
    generic_family = (
        "What have you noticed that worries you most?",
        "How are you coping with it yourself?",
        "What seems to help them, even a little?",
    )
    return (generic_family if kind == "family" else generic_patient)[n % 3], None


def _summary(history: Sequence[ChatTurn], text: str, kind: Kind) -> str:
    user_texts = [t.text for t in history if t.role == "user" and not t.flagged] + [text]
    labels = list(dict.fromkeys(th.label for ut in user_texts for th in themes_in(ut)))[:4]
    parts = ["Thank you for talking with me today."]
    if labels:
        heard = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        parts.append(f"Here is what I heard: we talked about {heard}.")
    step = _agreed_step(history)
    if step:
        parts.append(f"The step you chose to try before next time: \u201c{step}\u201d.")
    else:
        parts.append("Before next time, you might try one small thing that helped even a little today.")
    parts.append(
        "Your relative's care team can read this conversation."
        if kind == "family"
        else "Your care team can read this conversation."
    )
    parts.append("I will check in again soon - take care.")
    return " ".join(parts)


def _agreed_step(history: Sequence[ChatTurn]) -> str | None:
    """The person's answer to the homework question, clipped (their own plan, said back once in the summary)."""
    for i, t in enumerate(history):
        if t.role == "assistant" and t.meta.get("stage") == "homework":
            answer = next((u for u in history[i + 1 :] if u.role == "user" and not u.flagged), None)
            if answer is None:
                return None
            words = answer.text.split()
            return " ".join(words[:25]) + ("..." if len(words) > 25 else "")
    return None


def scripted_reply(
    history: Sequence[ChatTurn], text: str, *, kind: Kind = "patient", topic: str | None = None, closing_after: int = 6
) -> ScriptTurn:
    """The check-in's next turn after ``text``.

    ``history``: the turns before this message (oldest first); ``topic``: a domain key the week's conversations
    have no evidence on (asked once per conversation, third or second turn)."""
    n = 1 + sum(1 for t in history if t.role == "user")
    stages = [t.meta.get("stage") for t in history if t.role == "assistant"]
    if "summary" in stages or "after" in stages:
        return ScriptTurn(
            "We have wrapped up today's check-in; thank you. You can start a new check-in whenever you like, and "
            "your care team is there if something cannot wait.",
            "after",
        )
    if is_closing(text) or n >= closing_after:
        return ScriptTurn(_summary(history, text, kind), "summary")
    themes = themes_in(text)
    used: set[str] = {t.meta["theme"] for t in history if t.role == "assistant" and t.meta.get("theme") is not None}
    reflect = _reflection(text, themes, n)
    asked_topic = any(t.meta.get("topic") for t in history if t.role == "assistant")
    if topic and not asked_topic and n in (2, 3) and not (n == 2 and themes and themes[0].key not in used):
        d = domain(topic)
        q = d.family_question if kind == "family" else d.patient_question
        return ScriptTurn(f"{reflect} I would also like to hear about something else: {q}", "topic", topic)
    if n == closing_after - 2 or (n >= 4 and "homework" not in stages):
        q = (
            "What is one small thing you could do for yourself, or with them, before we next talk?"
            if kind == "family"
            else "What is one small, doable thing you could try before we next talk?"
        )
        return ScriptTurn(f"{reflect} {q}", "homework")
    if "homework" in stages and stages[-1] == "homework":
        return ScriptTurn(
            "That sounds like a good step. Is there anything else you would like to mention before we wrap up?", "check"
        )
    question, theme = _follow_up(themes, used, kind, n)
    return ScriptTurn(f"{reflect} {question}", "reflect", theme=theme)
