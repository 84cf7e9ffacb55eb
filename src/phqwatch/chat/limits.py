"""A per-person sliding-window rate limit for chat messages (the server turns a refusal into HTTP 429)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most ``per_minute`` events per key in any 60-second window."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: Hashable) -> int | None:
        """Count one event for ``key``; None when allowed, else the seconds to wait (nothing is counted)."""
        now = self._clock()
        with self._lock:
            q = self._hits[key]
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return int(60 - (now - q[0])) + 1
            q.append(now)
            return None
