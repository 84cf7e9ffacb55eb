"""The conversational front: a safety-gated, CBT-informed check-in chat for patients and family members.

Every user message passes the crisis screen (`phqwatch.safety`) before any model sees it; imminent and urgent
hits get a fixed safety script. Any OpenAI-compatible model answers under a versioned system prompt
(`prompts/`), and its replies are checked before anyone reads them; without a model (or when it is down or
slow) a scripted check-in answers. Coverage-aware: it gently asks about PHQ-9 domains the week's
conversations have no evidence on, never administers the questionnaire and never tells a score.
No database and no web here: the server stores and serves the conversations.

    from phqwatch.chat import ChatEngine, ChatConfig, backend_from_settings
    engine = ChatEngine(ChatConfig(), backend=backend_from_settings(settings))
    reply = await engine.respond(history, "I keep waking up at 4am")
"""

from phqwatch.chat.backend import ModelBackend, OpenAIBackend, backend_from_settings, config_from_settings
from phqwatch.chat.coverage import DOMAINS, choose_topic, coverage_gaps
from phqwatch.chat.engine import FALLBACK_NOTICE, ChatEngine
from phqwatch.chat.gate import SAFETY_VERSION, check_reply, safety_script
from phqwatch.chat.limits import SlidingWindow
from phqwatch.chat.prompt import load_prompt
from phqwatch.chat.script import SCRIPT_VERSION, scripted_reply
from phqwatch.chat.types import KINDS, ChatConfig, ChatTurn, Kind, Reply

__all__ = [
    "DOMAINS",
    "FALLBACK_NOTICE",
    "KINDS",
    "SAFETY_VERSION",
    "SCRIPT_VERSION",
    "ChatConfig",
    "ChatEngine",
    "ChatTurn",
    "Kind",
    "ModelBackend",
    "OpenAIBackend",
    "Reply",
    "SlidingWindow",
    "backend_from_settings",
    "check_reply",
    "config_from_settings",
    "choose_topic",
    "coverage_gaps",
    "load_prompt",
    "safety_script",
    "scripted_reply",
]
