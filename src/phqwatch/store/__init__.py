"""Persistence: SQL tables, engine from URL (SQLite default, PostgreSQL), data functions, migrations.

The store knows nothing of models, monitoring or the web. Data functions take a SQLAlchemy `Session`
(from `Database.write()` / `Database.read()`) and never commit: the caller's transaction decides.

    from phqwatch.store import Database, upgrade
    upgrade("sqlite:///phqwatch.db")
    db = Database.from_url("sqlite:///phqwatch.db")
    with db.write() as s:
        org = people.create_organisation(s, "demo", "Demo clinic")
"""

from phqwatch.store import alerts, audit, estimates, jobs, messages, notifications, people, questionnaires
from phqwatch.store.crypto import TextCipher
from phqwatch.store.engine import Database, make_engine, normalise_url
from phqwatch.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "Database",
    "TextCipher",
    "alerts",
    "audit",
    "current_revision",
    "estimates",
    "head_revision",
    "jobs",
    "make_engine",
    "messages",
    "normalise_url",
    "notifications",
    "people",
    "questionnaires",
    "upgrade",
]
