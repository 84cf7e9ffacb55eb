"""A small, real world for the page tests: SQLite, one clinic, people of every role, messages ingested
through the service's own ingestion path, stored estimates with evidence, and administered PHQ-9s.

Written for these tests (synthetic text, no real person). Shared by tests/server/test_pages*.py and the
browser tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from phqwatch.config import Settings

PASSWORD = "pages-test-password-1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PATIENT_LINES = [
    "I can barely sleep, I lie awake until 3 most nights.",
    "I feel so empty and sad most of the time.",
    "Work was fine and I cooked dinner with my flatmate.",
    "I'm such a failure, I let everyone down at work.",
    "I have no energy, even a shower feels like too much.",
]
FAMILY_LINES = ["My brother seems withdrawn lately and I'm worried about him.", "He skipped our family dinner again."]


@dataclass
class PagesWorld:
    settings: Settings
    app: Any
    ids: dict[str, int] = field(default_factory=dict)


def build(url: str, *, n_extra_patients: int = 0, estimates_per_patient: int = 6, **settings_kw: Any) -> PagesWorld:
    """Create the app (pages on, no background worker) and fill the database."""
    from phqwatch.server import create_app
    from phqwatch.server.auth import hash_password
    from phqwatch.server.services.ingestion import ingest
    from phqwatch.store import estimates, people, questionnaires, upgrade
    from phqwatch.transcripts.schema import Message

    upgrade(url)
    settings = Settings(database_url=url, **settings_kw)
    app = create_app(settings, migrate=False)
    ctx = app.state.ctx
    w = PagesWorld(settings, app)
    pw = hash_password(PASSWORD)
    with ctx.db.write() as s:
        org = people.create_organisation(s, "clinic", "Clinic")
        mk = people.create_person
        w.ids["org"] = org.id
        w.ids["doc"] = mk(
            s, organisation_id=org.id, role="clinician", username="doc", password_hash=pw, display_name="Dr. Doc"
        ).id
        w.ids["doc2"] = mk(s, organisation_id=org.id, role="clinician", username="doc2", password_hash=pw).id
        w.ids["pat"] = mk(
            s,
            organisation_id=org.id,
            role="patient",
            username="pat",
            password_hash=pw,
            external_id="p1",
            display_name="Pat Example",
        ).id
        w.ids["pat2"] = mk(
            s,
            organisation_id=org.id,
            role="patient",
            username="pat2",
            password_hash=pw,
            external_id="p2",
            display_name="Other Patient",
        ).id
        w.ids["fam"] = mk(
            s,
            organisation_id=org.id,
            role="family",
            username="fam",
            password_hash=pw,
            external_id="p1-fam",
            linked_patient_id=w.ids["pat"],
            display_name="Sam (brother)",
        ).id
        people.assign_clinician(s, w.ids["doc"], w.ids["pat"])
        people.assign_clinician(s, w.ids["doc2"], w.ids["pat2"])
        extra = []
        for i in range(n_extra_patients):
            p = mk(s, organisation_id=org.id, role="patient", external_id=f"x{i:04d}", display_name=f"Patient {i:04d}")
            people.assign_clinician(s, w.ids["doc"], p.id)
            extra.append(p.id)
    msgs = []
    for day in range(0, 21, 3):
        for j, line in enumerate(PATIENT_LINES):
            ts = T0 + timedelta(days=day, minutes=j)
            msgs.append(Message("p1", f"p1-c{day:02d}", "user", line, ts, f"p1-{day}-{j}"))
            msgs.append(Message("p1", f"p1-c{day:02d}", "assistant", "Thank you for telling me.", ts, f"p1-{day}-{j}a"))
    for j, line in enumerate(FAMILY_LINES):
        msgs.append(Message("p1-fam", "fam-c1", "user", line, T0 + timedelta(days=4, minutes=j), f"f-{j}"))
    msgs.append(Message("p2", "p2-c1", "user", "Fine week, nothing to report.", T0, "p2-0"))
    with ctx.db.write() as s:
        ingest(s, ctx.cipher, organisation_id=w.ids["org"], items=msgs, actor_id=None, actor_role="service", ip=None)
    evidence = {
        2: ["I feel so empty and sad most of the time."],
        3: ["I can barely sleep, I lie awake until 3 most nights."],
        4: ["I have no energy, even a shower feels like too much."],
        6: ["I'm such a failure, I let everyone down at work."],
    }
    with ctx.db.write() as s:
        for pid, base in [(w.ids["pat"], 9.0), (w.ids["pat2"], 4.0)] + [(p, 3.0 + (p % 20)) for p in extra]:
            n = estimates_per_patient
            for k in range(n):
                v = min(27.0, base + k * 0.8)
                estimates.add_estimate(
                    s,
                    ctx.cipher,
                    organisation_id=w.ids["org"],
                    patient_id=pid,
                    model_name="lexical",
                    model_version="1.0",
                    window_start=T0 - timedelta(days=14) + timedelta(days=3 * k),
                    window_end=T0 + timedelta(days=3 * k, hours=1),
                    status="ok",
                    value=v,
                    interval_low=max(0.0, v - 4),
                    interval_high=min(27.0, v + 4),
                    band=_band(v),
                    items=[1.0, 2.0, 2.0, 1.5, 0.2, 1.8, 0.4, 0.2, 0.1],
                    evidence=evidence if pid == w.ids["pat"] else None,
                    reason=None,
                    n_user_words=640,
                    n_messages=35,
                )
        questionnaires.add_questionnaire(
            s,
            organisation_id=w.ids["org"],
            patient_id=w.ids["pat"],
            administered_at=T0 - timedelta(days=10),
            total=11,
            items=[1, 2, 2, 1, 0, 2, 1, 1, 1],
            source="test",
            entered_by_id=w.ids["doc"],
        )
    return w


def _band(v: float) -> str:
    from phqwatch import phq9

    return phq9.band(v)
