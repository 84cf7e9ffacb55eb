"""What every request handler and the worker share: settings, database, cipher, rate limiter, worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phqwatch.config import Settings
from phqwatch.store import Database, TextCipher

if TYPE_CHECKING:
    from phqwatch.server.auth import LoginRateLimiter
    from phqwatch.server.worker import Worker


@dataclass
class ServerContext:
    """Built once by `create_app`; reachable as `request.app.state.ctx`."""

    settings: Settings
    db: Database
    cipher: TextCipher
    limiter: LoginRateLimiter
    worker: Worker | None = None
    #: Set after each ingestion that queued a job, so an in-process worker wakes at once.
    job_signal: threading.Event = field(default_factory=threading.Event)
