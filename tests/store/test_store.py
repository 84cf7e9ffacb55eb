"""Store tests on SQLite and on a real PostgreSQL server (the `postgres` half of `db_url`)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from phqwatch.config import DEV_ENCRYPTION_KEY
from phqwatch.errors import InputError, NotFoundError
from phqwatch.store import (
    Database,
    TextCipher,
    alerts,
    audit,
    estimates,
    head_revision,
    jobs,
    messages,
    people,
    questionnaires,
    upgrade,
)
from phqwatch.store.tables import AlertEvent, Base, Job, MessageRow, Person
from phqwatch.transcripts.schema import Message

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url):
    assert upgrade(db_url) == head_revision()
    db = Database.from_url(db_url)
    cipher = TextCipher(DEV_ENCRYPTION_KEY)
    with db.write() as s:
        org = people.create_organisation(s, "c", "Clinic")
        pat = people.create_person(s, organisation_id=org.id, role="patient", external_id="u1")
        fam = people.create_person(
            s, organisation_id=org.id, role="family", external_id="u1-f", linked_patient_id=pat.id
        )
        doc = people.create_person(s, organisation_id=org.id, role="clinician", username="doc")
        ids = {"org": org.id, "pat": pat.id, "fam": fam.id, "doc": doc.id}
    yield db, cipher, ids
    db.dispose()


def test_migrations_match_the_tables(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    upgrade(db_url)
    db = Database.from_url(db_url)
    with db.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata)
    db.dispose()
    assert diff == []
    assert upgrade(db_url) == head_revision()  # idempotent


def test_people_rules(store):
    db, _, ids = store
    with pytest.raises(InputError, match="family member needs"):
        with db.write() as s:
            people.create_person(s, organisation_id=ids["org"], role="family", linked_patient_id=ids["doc"])
    with pytest.raises(InputError, match="unknown role"):
        with db.write() as s:
            people.create_person(s, organisation_id=ids["org"], role="nurse")
    with pytest.raises(InputError, match="taken"):
        with db.write() as s:
            people.create_person(s, organisation_id=ids["org"], role="clinician", username="doc")
    with db.write() as s:
        people.assign_clinician(s, ids["doc"], ids["pat"])
        people.assign_clinician(s, ids["doc"], ids["pat"])  # idempotent
        assert people.assigned_patient_ids(s, ids["doc"]) == [ids["pat"]]
        svc = people.create_person(s, organisation_id=ids["org"], role="service")
        _, key = people.create_api_key(s, svc.id)
    with db.read() as s:
        assert people.verify_api_key(s, key).id == svc.id
        assert people.verify_api_key(s, key[:-2] + "xx") is None


def _msgs(n: int, user: str = "u1", with_id: bool = True) -> list[Message]:
    return [
        Message(
            user,
            "c1",
            "user",
            f"message number {i} about my week",
            T0 + timedelta(minutes=i),
            f"m{i}" if with_id else None,
        )
        for i in range(n)
    ]


def test_ingest_is_idempotent_and_encrypted(store):
    db, cipher, ids = store
    with db.write() as s:
        first = messages.ingest_messages(s, cipher, ids["org"], _msgs(3))
    with db.write() as s:
        again = messages.ingest_messages(s, cipher, ids["org"], _msgs(4))
    assert [r.status for r in first] == ["accepted"] * 3
    assert [r.status for r in again] == ["duplicate"] * 3 + ["accepted"]
    with db.write() as s:  # no id: deduplicated by a keyed content hash, also within one batch
        nid = _msgs(2, with_id=False)
        out = messages.ingest_messages(s, cipher, ids["org"], [*nid, nid[0]])
        assert [r.status for r in out] == ["accepted", "accepted", "duplicate"]
    with db.write() as s:
        assert messages.ingest_messages(s, cipher, ids["org"], _msgs(2, with_id=False))[0].status == "duplicate"
    with db.read() as s:
        raw = list(s.scalars(select(MessageRow.text_enc)))
        assert len(raw) == 6 and all(b"message number" not in bytes(r) for r in raw)
        keys = list(s.scalars(select(MessageRow.dedup_key)))
        assert all("message" not in k for k in keys)
        got = messages.patient_messages(s, cipher, ids["pat"])
        assert [m.text for m in got][:2] == ["message number 0 about my week", "message number 0 about my week"]
        assert got[0].sent_at.tzinfo is not None


def test_family_messages_are_kept_apart(store):
    db, cipher, ids = store
    with db.write() as s:
        family = Message("u1-f", "c9", "user", "how is my son doing", T0, "f0")  # message ids are unique per org
        messages.ingest_messages(s, cipher, ids["org"], [*_msgs(2), family])
    with db.read() as s:
        own = messages.patient_messages(s, cipher, ids["pat"])
        both = messages.patient_messages(s, cipher, ids["pat"], patient_only=False)
    assert len(own) == 2 and all(m.by_patient for m in own)
    assert len(both) == 3 and sum(not m.by_patient for m in both) == 1


def test_family_member_linked_to_no_patient_is_refused_before_writing(store):
    db, cipher, ids = store
    with db.write() as s:
        s.get(Person, ids["fam"]).linked_patient_id = None  # what deleting the patient leaves (ON DELETE SET NULL)
    with pytest.raises(InputError, match="messages\\[1\\].user_id 'u1-f' is a family member linked to no patient"):
        with db.write() as s:
            family = Message("u1-f", "c9", "user", "how is my son doing", T0, "f0")
            messages.ingest_messages(s, cipher, ids["org"], [*_msgs(1), family])
    with db.read() as s:
        assert messages.count_messages(s) == 0


def test_unknown_user_writes_nothing(store):
    db, cipher, ids = store
    with pytest.raises(NotFoundError, match="messages\\[1\\].user_id 'ghost'"):
        with db.write() as s:
            messages.ingest_messages(s, cipher, ids["org"], [*_msgs(1), *_msgs(1, user="ghost")])
    with db.read() as s:
        assert messages.count_messages(s) == 0


def test_estimates_and_questionnaires_are_separate(store):
    db, cipher, ids = store
    with db.write() as s:
        e = estimates.add_estimate(
            s, cipher, organisation_id=ids["org"], patient_id=ids["pat"], model_name="m", model_version="1",
            window_start=T0 - timedelta(days=14), window_end=T0, status="ok", value=12.5, interval_low=9,
            interval_high=16, band="moderate", items=[1.0] * 9, evidence={2: ["I feel down"]}, n_user_words=120,
        )  # fmt: skip
        estimates.add_estimate(
            s, cipher, organisation_id=ids["org"], patient_id=ids["pat"], model_name="m", model_version="1",
            window_start=T0, window_end=T0 + timedelta(days=7), status="abstained", reason="too little text",
        )  # fmt: skip
        questionnaires.add_questionnaire(
            s, organisation_id=ids["org"], patient_id=ids["pat"], administered_at=T0, items=[1, 1, 1, 1, 1, 1, 1, 1, 0]
        )
        with pytest.raises(InputError):
            questionnaires.add_questionnaire(
                s, organisation_id=ids["org"], patient_id=ids["pat"], administered_at=T0, total=30
            )
    with db.read() as s:
        rows = estimates.list_estimates(s, ids["pat"])
        assert [r.status for r in rows] == ["ok", "abstained"]
        assert estimates.evidence_of(cipher, rows[0]) == {2: ["I feel down"]}
        assert b"I feel down" not in bytes(rows[0].evidence_enc)
        assert estimates.latest_estimate(s, ids["pat"]).id == e.id
        assert [q.total for q in questionnaires.list_questionnaires(s, ids["pat"])] == [8]


def test_alert_lifecycle_keeps_history(store):
    db, cipher, ids = store
    with db.write() as s:
        a = alerts.open_alert(
            s, cipher, organisation_id=ids["org"], patient_id=ids["pat"], kind="crisis", severity="urgent",
            key="crisis:1", message="m", excerpt="quote",
        )  # fmt: skip
        assert alerts.open_alert(
            s, cipher, organisation_id=ids["org"], patient_id=ids["pat"], kind="crisis", severity="urgent",
            key="crisis:1", message="m",
        ) is None  # fmt: skip
        alerts.acknowledge(s, a, ids["doc"])
        with pytest.raises(InputError, match="not on the care team"):
            alerts.assign(s, a, ids["doc"], ids["doc"])
        people.assign_clinician(s, ids["doc"], ids["pat"])  # only a care-team clinician can be assigned
        alerts.assign(s, a, ids["doc"], ids["doc"])
        alerts.snooze(s, a, datetime.now(UTC) + timedelta(seconds=0.2), ids["doc"])
        aid = a.id
    import time

    time.sleep(0.3)
    with db.write() as s:
        listed = alerts.list_alerts(s, ids["org"])  # wakes the snoozed alert
        assert [(x.id, x.status) for x in listed] == [(aid, "open")]
        alerts.resolve(s, alerts.get_alert(s, aid), ids["doc"], "called the patient")
        with pytest.raises(InputError, match="resolved"):
            alerts.acknowledge(s, alerts.get_alert(s, aid), ids["doc"])
    with db.read() as s:
        hist = [(e.action, e.from_status, e.to_status) for e in alerts.history(s, aid)]
        assert hist == [
            ("opened", None, "open"),
            ("acknowledged", "open", "acknowledged"),
            ("assigned", "acknowledged", "acknowledged"),
            ("snoozed", "acknowledged", "snoozed"),
            ("woke", "snoozed", "open"),
            ("resolved", "open", "resolved"),
        ]
        assert alerts.excerpt_of(cipher, alerts.get_alert(s, aid)) == "quote"
        assert s.scalar(select(AlertEvent.note).where(AlertEvent.action == "resolved")) == "called the patient"


def test_jobs_coalesce_claim_and_recover(store):
    db, _, ids = store
    with db.write() as s:
        assert jobs.enqueue(s, "estimate", organisation_id=ids["org"], patient_id=ids["pat"]) is True
        assert jobs.enqueue(s, "estimate", organisation_id=ids["org"], patient_id=ids["pat"]) is False
        assert jobs.enqueue(s, "backfill", organisation_id=ids["org"], patient_id=ids["pat"]) is True
    with db.write() as s:
        claimed = jobs.claim(s, "w1", limit=5)
        assert sorted(j.kind for j in claimed) == ["backfill", "estimate"]
        est_id = next(j.id for j in claimed if j.kind == "estimate")
    with db.write() as s:  # a new message while running queues a second job, not claimable yet
        assert jobs.enqueue(s, "estimate", organisation_id=ids["org"], patient_id=ids["pat"]) is True
        assert jobs.claim(s, "w2") == []
    with db.write() as s:  # worker w1 died: after the lease its running jobs are re-queued or superseded
        n = jobs.requeue_stale(s, now=datetime.now(UTC) + timedelta(minutes=1))
        assert n == 2
    with db.read() as s:
        by_id = {j.id: j.status for j in jobs.list_jobs(s)}
        assert by_id[est_id] == "failed"  # superseded by the queued twin
        assert sorted(by_id.values()) == ["failed", "queued", "queued"]
    with db.write() as s:
        got = jobs.claim(s, "w3", limit=5, now=datetime.now(UTC) + timedelta(minutes=2))
        for j in got:
            jobs.complete(s, j.id)
    with db.read() as s:
        assert jobs.stats(s) == {"done": 2, "failed": 1}


def test_failed_job_backs_off_then_gives_up(store):
    db, _, ids = store
    with db.write() as s:
        jobs.enqueue(s, "estimate", organisation_id=ids["org"], patient_id=ids["pat"])
    for attempt in range(1, 4):
        with db.write() as s:
            (j,) = jobs.claim(s, "w", now=datetime.now(UTC) + timedelta(days=attempt))
            status = jobs.fail(s, j.id, "boom", max_attempts=3)
        assert status == ("dead" if attempt == 3 else "queued")  # dead-lettered, for an admin to retry


@pytest.mark.postgres
def test_postgres_workers_claim_disjoint_jobs(postgres_url):
    """Two concurrent transactions on PostgreSQL never claim the same job (FOR UPDATE SKIP LOCKED)."""
    upgrade(postgres_url)
    db = Database.from_url(postgres_url)
    with db.write() as s:
        org = people.create_organisation(s, "c", "C")
        pids = [
            people.create_person(s, organisation_id=org.id, role="patient", external_id=f"p{i}").id for i in range(40)
        ]
        for pid in pids:
            jobs.enqueue(s, "estimate", organisation_id=org.id, patient_id=pid)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        got: list[int] = []
        barrier.wait()
        while True:
            with db.write() as s:
                js = jobs.claim(s, name, limit=3)
                if not js:
                    break
                s.execute(text("SELECT pg_sleep(0.01)"))
                got += [j.id for j in js]
        claimed[name] = got

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [i for v in claimed.values() for i in v]
    assert len(all_ids) == len(set(all_ids)) == 40
    assert sum(1 for v in claimed.values() if v) >= 2  # the load was shared
    with db.read() as s:
        assert {j.status for j in s.scalars(select(Job))} == {"running"}
    db.dispose()


def test_audit_never_holds_text(store):
    db, cipher, ids = store
    with db.write() as s:
        audit.record(s, actor_id=ids["doc"], actor_role="clinician", action="read", resource="timeline",
                     patient_id=ids["pat"], organisation_id=ids["org"], details={"n": 3})  # fmt: skip
        with pytest.raises(ValueError):
            audit.record(s, actor_id=None, actor_role="x", action="peek", resource="r")
    with db.read() as s:
        (e,) = audit.entries(s, patient_id=ids["pat"])
        assert (e.actor_id, e.action, e.resource) == (ids["doc"], "read", "timeline")
        assert e.details == {"n": 3, "outcome": "allowed"}  # every row names its outcome
