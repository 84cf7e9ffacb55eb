"""The safety gate: the fixed safety script, and the checks every model reply passes before anyone reads it.

User messages are screened by the crisis screen (`phqwatch.safety`) before any model sees them; an imminent
or urgent hit gets `safety_script` (the locale's crisis resources, encouragement to contact them now, the care
team alerted) and no model text. A model reply is screened too, and checked for method information and for
encouragement of self-harm; a hit replaces it with the safety script. A reply that diagnoses, gives a score or
advises on medication is replaced by the scripted check-in instead.
"""

from __future__ import annotations

import re

from phqwatch.safety import CrisisScreen
from phqwatch.safety.resources import crisis_resources

__all__ = ["SAFETY_VERSION", "safety_script", "safety_followup", "high_risk_note", "check_reply", "METHOD", "ENCOURAGE"]

#: Version of the fixed safety texts (stored with every safety reply like a prompt version).
SAFETY_VERSION = "safety-v1"

# Method information: means, amounts, lethality, places, "how to" about self-harm or suicide.
METHOD = re.compile(
    r"\b(?:"
    r"lethal\s+(?:dose|amount|quantity)|fatal\s+dose|overdos\w*\s+(?:on|with|of)|(?:how\s+many|number\s+of)\s+"
    r"(?:pills|tablets|capsules)|\d+\s*(?:mg|milligrams?|grams?|g|tablets|pills)\b(?:[^.]{0,40})(?:kill|fatal|lethal|die"
    r"|enough)|enough\s+(?:pills|tablets|to\s+(?:die|kill))|(?:noose|ligature|hang(?:ing)?\s+yourself|tie\s+a\s+rope)|"
    r"(?:jump|jumping)\s+(?:off|from)\s+(?:a|the)\s+(?:bridge|building|roof|cliff)|"
    r"(?:cut|slit)\s+(?:your|the)\s+(?:wrists?|arms?|throat)|(?:deep(?:er|ly)?|vertical)\s+cuts?|"
    r"carbon\s+monoxide|exhaust\s+fumes|charcoal\s+(?:burning|grill)|helium\s+(?:bag|hood)|"
    r"(?:most|least)\s+painless\s+way|painless\s+(?:way|method)s?\s+to|(?:best|quickest|easiest)\s+(?:way|method)s?\s+to"
    r"\s+(?:die|kill|end)|(?:method|means|way)s?\s+(?:of|for|to)\s+(?:suicide|killing\s+yourself|ending\s+(?:it|your\s+life))"
    r")",
    re.IGNORECASE,
)
# Encouragement, agreement or validation of self-harm or suicide as a way out.
ENCOURAGE = re.compile(
    r"\b(?:"
    r"you\s+should\s+(?:just\s+)?(?:kill|hurt|harm|cut|end)|go\s+ahead\s+(?:and\s+)?(?:do\s+it|end|kill|hurt|cut)|"
    r"(?:it'?s|it\s+is|that'?s|that\s+is)\s+(?:okay|ok|fine|understandable|reasonable|a\s+good\s+idea)\s+to\s+"
    r"(?:want\s+to\s+)?(?:die|kill|end\s+(?:it|your\s+life)|hurt\s+yourself|harm\s+yourself)|"
    r"(?:everyone|they|people)\s+(?:would\s+be|are)\s+better\s+off\s+without\s+you|no\s*one\s+would\s+miss\s+you|"
    r"(?:death|suicide|dying)\s+(?:is|would\s+be|might\s+be)\s+(?:a|the)\s+(?:relief|answer|solution|way\s+out)|"
    r"end\s+it\s+all\s+(?:is|would)|you\s+deserve\s+to\s+(?:die|suffer|be\s+hurt)"
    r")",
    re.IGNORECASE,
)
# Off-policy but not dangerous: a score, a diagnosis, medication advice -> the scripted check-in instead.
OFF_POLICY = re.compile(
    r"\b(?:"
    r"phq|questionnaire|your\s+(?:score|rating)|score\s+(?:of|is)|\d+\s*(?:/|out\s+of)\s*(?:10|27|100)|"
    r"you\s+(?:have|are\s+suffering\s+from|might\s+have|probably\s+have|seem\s+to\s+have)\s+(?:major\s+|clinical\s+|"
    r"moderate\s+|severe\s+|mild\s+)?(?:depression|a\s+depressive|bipolar|an?\s+anxiety\s+disorder|ptsd|adhd)|"
    r"diagnos(?:e|is|ed)\s+(?:you|with)|"
    r"(?:increase|decrease|double|stop|start|skip|halve|reduce|up)\s+(?:your\s+)?(?:dose|dosage|medication|meds|"
    r"antidepressants?|pills)|take\s+(?:some\s+)?(?:sertraline|fluoxetine|citalopram|escitalopram|prozac|zoloft|"
    r"xanax|lorazepam|diazepam|melatonin|sleeping\s+pills|st\.?\s*john'?s\s+wort)|\d+\s*mg\b"
    r")",
    re.IGNORECASE,
)


def _alerted(resources: str) -> str:
    return "" if "care team" in resources else " Your care team has been alerted and will follow up with you."


def safety_script(locale: str = "en-US", crisis_text: str | None = None) -> str:
    """The fixed reply to an imminent or urgent message: crisis resources for the locale, encouragement to
    contact them now, and the care team alerted. No model text."""
    resources = crisis_resources(locale, crisis_text)
    return (
        "I'm really glad you told me, and I'm worried about your safety right now. "
        f"{resources} Please contact them now rather than wait, and if you can, stay with someone you trust."
        f"{_alerted(resources)}"
    )


def safety_followup(locale: str = "en-US", crisis_text: str | None = None) -> str:
    """The reply to every later message of a conversation that switched to the safety script."""
    resources = crisis_resources(locale, crisis_text)
    return (
        "I'm still here, and your safety comes first. This conversation is paused so that a person from your care "
        f"team can follow up. {resources}{_alerted(resources)}"
    )


def high_risk_note(locale: str = "en-US", crisis_text: str | None = None) -> str:
    """Added to the reply to a message the screen flagged at "high" (crisis path, no page)."""
    return f"What you said matters, and I want you to have support. {crisis_resources(locale, crisis_text)}"


def check_reply(reply: str, *, screen: CrisisScreen | None = None) -> tuple[str, str] | None:
    """Why a model reply must not be shown -> ("risk", reason) for the safety script, ("policy", reason) for
    the scripted check-in, or None when it may be shown. Reasons are kinds, never text."""
    if METHOD.search(reply):
        return "risk", "method-information"
    if ENCOURAGE.search(reply):
        return "risk", "encouragement"
    if screen is not None:
        r = screen.screen(reply)
        if r.pages:
            return "risk", f"screen-{r.severity}"
    if OFF_POLICY.search(reply):
        return "policy", "score-diagnosis-or-medication"
    return None
