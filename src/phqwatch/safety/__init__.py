"""The crisis screen: normalise -> pattern rules + learned risk model -> conversation context -> one graded
decision. Pure and synchronous (no I/O, no logging of text); every user message passes it first.

    from phqwatch.safety import screen, Turn
    r = screen("yeah every night", context=[Turn("assistant", "Are you having thoughts of hurting yourself?")])
    r.flag, r.severity, r.categories, r.score, r.rules
"""

from phqwatch.safety.context import Turn
from phqwatch.safety.resources import crisis_resources
from phqwatch.safety.rule_screen import RuleConfig, RuleScreen
from phqwatch.safety.screen import CrisisScreen, ScreenConfig, ScreenResult, default_screen, screen
from phqwatch.safety.types import CATEGORIES, CRISIS_SEVERITIES, PAGING_SEVERITIES, SEVERITIES, Severity

__all__ = [
    "CATEGORIES",
    "CRISIS_SEVERITIES",
    "CrisisScreen",
    "PAGING_SEVERITIES",
    "RuleConfig",
    "RuleScreen",
    "SEVERITIES",
    "ScreenConfig",
    "ScreenResult",
    "Severity",
    "Turn",
    "crisis_resources",
    "default_screen",
    "screen",
]
