"""What every request handler and the worker share: settings, database, cipher, rate limiter, worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from phqwatch.config import Settings
from phqwatch.store import Database, TextCipher

if TYPE_CHECKING:
    from phqwatch.safety import CrisisScreen
    from phqwatch.server.rate_limits import LoginLimiter
    from phqwatch.server.worker import Worker


@dataclass
class ServerContext:
    """Built once by `create_app`; reachable as `request.app.state.ctx`."""

    settings: Settings
    db: Database
    cipher: TextCipher
    limiter: LoginLimiter
    worker: Worker | None = None
    #: Set after each ingestion that queued a job, so an in-process worker wakes at once.
    job_signal: threading.Event = field(default_factory=threading.Event)

    @cached_property
    def crisis_screen(self) -> CrisisScreen:
        """The crisis screen as configured (rules + the shipped or configured risk model), built once."""
        from phqwatch.safety import CrisisScreen, ScreenConfig

        return CrisisScreen(ScreenConfig.from_settings(self.settings))
