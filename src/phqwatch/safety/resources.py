"""Crisis-resources text per locale: what goes back to the person (in the API response and the chat reply)
when the screen flags a message. A deployment sets its locale, or its own text, in Settings."""

from __future__ import annotations

__all__ = ["CRISIS_RESOURCES", "crisis_resources"]

CRISIS_RESOURCES: dict[str, str] = {
    "en-US": (
        "If you are thinking about harming yourself or ending your life, please reach out now: call or text 988 "
        "(Suicide & Crisis Lifeline), or call 911 if you are in immediate danger. You are not alone, and a "
        "member of your care team has been notified."
    ),
    "en-GB": (
        "If you are thinking about harming yourself or ending your life, please reach out now: call Samaritans "
        "on 116 123 (free, any time), or 999 if you are in immediate danger. You are not alone, and a member "
        "of your care team has been notified."
    ),
    "en": (
        "If you are thinking about harming yourself or ending your life, please reach out now: call your local "
        "emergency number or a crisis line. You are not alone, and a member of your care team has been notified."
    ),
    "zh-CN": (
        "如果你有伤害自己或结束生命的想法，请现在就寻求帮助：拨打希望24热线 400-161-9995，或北京心理危机研究与干预中心 "
        "010-82951332；如有紧急危险请拨打 120 或 110。你并不孤单，你的照护团队已经收到通知。"
    ),
}


def crisis_resources(locale: str = "en-US", override: str | None = None) -> str:
    """The crisis-resources text for ``locale`` (falling back to its language, then to English);
    ``override`` (a deployment's own text) wins."""
    if override:
        return override
    if locale in CRISIS_RESOURCES:
        return CRISIS_RESOURCES[locale]
    lang = locale.split("-")[0]
    for key, text in CRISIS_RESOURCES.items():
        if key.split("-")[0] == lang:
            return text
    return CRISIS_RESOURCES["en"]
