"""Windows: link each administered PHQ-9 to the user's conversation text in the days before it.

The PHQ-9 asks about the last two weeks, so the default window is the 14 days before (and including)
the questionnaire's date. Messages without a timestamp cannot be placed in a window and are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from phqwatch.phq9 import RECALL_DAYS
from phqwatch.transcripts.schema import Message, Questionnaire, Window, count_words


@dataclass(slots=True)
class WindowStats:
    questionnaires: int = 0
    windows: int = 0
    empty: int = 0
    untimed_messages: int = 0


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def build_windows(
    messages: Iterable[Message],
    questionnaires: Iterable[Questionnaire],
    *,
    days: int = RECALL_DAYS,
    include_assistant: bool = False,
    stats: WindowStats | None = None,
) -> list[Window]:
    """One `Window` per questionnaire: the user's messages in [date - days, end of date].

    Windows with no user message are skipped and counted in `stats.empty` (there is nothing to learn
    from). Duplicate messages are counted once.
    """
    stats = stats if stats is not None else WindowStats()
    by_user: dict[str, list[tuple[datetime, Message]]] = defaultdict(list)  # (naive UTC time, message)
    seen: set[tuple] = set()
    for m in messages:
        if m.timestamp is None:
            stats.untimed_messages += 1
            continue
        k = (m.user_id, m.conversation_id, m.role, m.timestamp, m.message_id, m.text)
        if k in seen:
            continue
        seen.add(k)
        by_user[m.user_id].append((_naive_utc(m.timestamp), m))
    for msgs in by_user.values():
        msgs.sort(key=lambda tm: tm[0])
    out: list[Window] = []
    for q in questionnaires:
        stats.questionnaires += 1
        end = datetime.combine(q.date, time.max)
        start = end - timedelta(days=days)
        inside = [m for t, m in by_user.get(q.user_id, ()) if start < t <= end]
        user_msgs = [m for m in inside if m.role == "user"]
        if not user_msgs:
            stats.empty += 1
            continue
        chosen = inside if include_assistant else user_msgs
        text = "\n".join((f"{m.role.capitalize()}: " if include_assistant else "") + m.text for m in chosen)
        out.append(
            Window(
                user_id=q.user_id,
                date=q.date,
                start=start,
                end=end,
                text=text,
                n_user_words=sum(count_words(m.text) for m in user_msgs),
                n_messages=len(user_msgs),
                label=q.total,
                items=q.items,
            )
        )
        stats.windows += 1
    return out
