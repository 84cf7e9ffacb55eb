"""Demo seed: an organisation, an admin, two clinicians, patients from the bundled synthetic examples, a
patient login, a family member, a service account with an API key; the example transcripts and PHQ-9s
imported through the same ingestion path as the API (so the crisis screen runs), and a backfill job queued
per patient. Every date is moved by the same number of days so the latest message falls on today.

Used by `phqwatch db seed`, the lead's `make demo`, and the dashboard. Refuses production mode; the demo
passwords are random per seed and returned (the CLI prints them in development mode only).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import func, select

from phqwatch.config import Settings
from phqwatch.datasets.synthetic import EXAMPLES_DIR, shift_to_now
from phqwatch.errors import ConfigError
from phqwatch.server.auth import hash_password
from phqwatch.server.services.ingestion import ingest
from phqwatch.store import Database, TextCipher, jobs, people, questionnaires
from phqwatch.store.tables import Alert
from phqwatch.transcripts import iter_messages, read_questionnaires

ORG_SLUG = "demo"


@dataclass
class DemoSeed:
    """What the seed created. `logins`: username -> (role, password). `api_key` is for the service account."""

    organisation_id: int
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)
    patient_ids: dict[str, int] = field(default_factory=dict)
    family_id: int | None = None
    api_key: str = ""
    messages: int = 0
    questionnaires: int = 0
    crisis_alerts: int = 0
    paging_alerts: int = 0  # crisis alerts at urgent severity (imminent or urgent screen grade: they page)
    model_reviews: int = 0  # high-priority risk reviews: flags from an unsure learned model alone


def seed_demo(
    settings: Settings,
    *,
    examples_dir: Path | None = None,
    db: Database | None = None,
    passwords: dict[str, str] | None = None,
    now: datetime | None = None,
) -> DemoSeed:
    """Seed the demo organisation into settings.database_url (migrated first), from `examples_dir` (default:
    the bundled synthetic examples) with dates moved so the latest message falls on `now`'s day. Idempotent
    refusal: a second seed into the same database raises ConfigError (drop the file to start again)."""
    if settings.production:
        raise ConfigError("The demo seed creates known accounts; it is refused in production mode.")
    from phqwatch.store import upgrade

    upgrade(settings.database_url)
    own = db is None
    db = db or Database.from_url(settings.database_url)
    cipher = TextCipher(settings.encryption_key.get_secret_value())
    examples = examples_dir or EXAMPLES_DIR
    transcripts = examples / "transcripts.jsonl"
    phq9_csv = examples / "phq9.csv"
    pw = {
        u: (passwords or {}).get(u) or secrets.token_urlsafe(9)
        for u in ("admin", "dr.lee", "dr.kim", "patient", "family")
    }
    try:
        msgs, qs = shift_to_now(
            list(iter_messages(transcripts)) if transcripts.exists() else [],
            read_questionnaires(phq9_csv) if phq9_csv.exists() else [],
            now,
        )
        user_ids = sorted({m.user_id for m in msgs})
        with db.write() as s:
            if people.organisation_by_slug(s, ORG_SLUG) is not None:
                raise ConfigError(
                    "This database already holds the demo organisation.",
                    fix="Delete the database file (or use a new PHQWATCH_DATABASE_URL) and seed again.",
                )
            org = people.create_organisation(s, ORG_SLUG, "Demo clinic (synthetic data)")
            seed = DemoSeed(org.id)
            admin = people.create_person(
                s, organisation_id=org.id, role="admin", username="admin", password_hash=hash_password(pw["admin"]),
                display_name="Demo admin",
            )  # fmt: skip
            clinicians = [
                people.create_person(
                    s,
                    organisation_id=org.id,
                    role="clinician",
                    username=u,
                    password_hash=hash_password(pw[u]),
                    display_name=name,
                )  # fmt: skip
                for u, name in (("dr.lee", "Dr. Lee"), ("dr.kim", "Dr. Kim"))
            ]
            for i, uid in enumerate(user_ids):
                p = people.create_person(
                    s,
                    organisation_id=org.id,
                    role="patient",
                    external_id=uid,
                    display_name=uid.replace("-", " ").title(),
                    username="patient" if i == 0 else None,
                    password_hash=hash_password(pw["patient"]) if i == 0 else None,
                )
                seed.patient_ids[uid] = p.id
                people.assign_clinician(s, clinicians[0 if i < (len(user_ids) + 1) // 2 else 1].id, p.id)
            first = seed.patient_ids[user_ids[0]] if user_ids else None
            if first is not None:
                fam = people.create_person(
                    s, organisation_id=org.id, role="family", username="family",
                    password_hash=hash_password(pw["family"]), display_name="Family of patient 1",
                    external_id=f"{user_ids[0]}-family", linked_patient_id=first,
                )  # fmt: skip
                seed.family_id = fam.id
            service = people.create_person(s, organisation_id=org.id, role="service", display_name="Chat app")
            _, seed.api_key = people.create_api_key(s, service.id, "demo chat app")
            seed.logins = {
                "admin": ("admin", pw["admin"]),
                "dr.lee": ("clinician", pw["dr.lee"]),
                "dr.kim": ("clinician", pw["dr.kim"]),
            }
            if first is not None:
                seed.logins["patient"] = ("patient", pw["patient"])
                seed.logins["family"] = ("family", pw["family"])
            admin_id = admin.id
        alert_ids: set[int] = set()
        for j in range(0, len(msgs), 500):
            with db.write() as s:
                out = ingest(
                    s, cipher, organisation_id=seed.organisation_id, items=msgs[j : j + 500],
                    actor_id=admin_id, actor_role="admin", ip=None,
                )  # fmt: skip
                seed.messages += out.accepted
                alert_ids.update(out.crisis_alert_ids)  # a batch may add hits to an alert opened earlier
        seed.crisis_alerts = len(alert_ids)
        with db.read() as s:

            def count(kind: str, severity: str) -> int:
                q = select(func.count(Alert.id)).where(
                    Alert.organisation_id == seed.organisation_id, Alert.kind == kind, Alert.severity == severity
                )
                return int(s.scalar(q) or 0)

            seed.paging_alerts = count("crisis", "urgent")
            seed.model_reviews = count("risk-review", "high")
        if qs:
            with db.write() as s:
                for q in qs:
                    pid = seed.patient_ids.get(q.user_id)
                    if pid is None:
                        continue
                    questionnaires.add_questionnaire(
                        s, organisation_id=seed.organisation_id, patient_id=pid,
                        administered_at=datetime.combine(q.date, time(12, 0), tzinfo=UTC),
                        total=q.total, items=q.items, source="demo", entered_by_id=admin_id,
                    )  # fmt: skip
                    seed.questionnaires += 1
        with db.write() as s:
            for pid in seed.patient_ids.values():
                jobs.enqueue(s, "backfill", organisation_id=seed.organisation_id, patient_id=pid)
        return seed
    finally:
        if own:
            db.dispose()
