"""Dead-lettered jobs: an admin lists them (own organisation only) and sends them back to the queue."""

from __future__ import annotations

from phqwatch.store import jobs

from .conftest import msg


def test_an_admin_lists_dead_jobs_of_the_own_organisation_and_retries_them(world):
    w = world
    assert w.client.post("/api/v1/messages", json=msg(mid="j1"), headers=w.h("service")).status_code == 200
    with w.ctx.db.write() as s:  # the estimate job fails until it is dead-lettered
        for _ in range(2):
            (j,) = jobs.claim(s, "w", max_attempts=2)
            jobs.fail(s, j.id, "RuntimeError: model file unreadable", max_attempts=2, base_delay_s=0, worker_id="w")
    assert w.client.get("/api/v1/admin/jobs", headers=w.h("admin")).json() == {"dead": 1}
    dead = w.client.get("/api/v1/admin/jobs?status=dead", headers=w.h("admin")).json()
    assert [(d["id"], d["kind"], d["attempts"], d["patient_id"]) for d in dead] == [(j.id, "estimate", 2, w.ids["pat"])]
    assert dead[0]["last_error"] == "RuntimeError: model file unreadable"
    assert w.client.get("/api/v1/admin/jobs?status=dead", headers=w.h("other_admin")).json() == []
    assert w.client.get("/api/v1/admin/jobs?status=bogus", headers=w.h("admin")).status_code == 422
    assert w.client.get("/api/v1/admin/jobs?status=dead", headers=w.h("doc")).status_code == 403

    url = f"/api/v1/admin/jobs/{j.id}/retry"
    assert w.client.post(url, headers=w.h("other_admin")).status_code == 404
    assert w.client.post(url, headers=w.h("doc")).status_code == 403
    r = w.client.post(url, headers=w.h("admin"))
    assert r.status_code == 200 and (r.json()["status"], r.json()["attempts"]) == ("queued", 0)
    assert w.client.post(url, headers=w.h("admin")).status_code == 409  # queued, not dead
    assert w.client.get("/api/v1/admin/jobs", headers=w.h("admin")).json() == {"queued": 1}
    trail = w.client.get("/api/v1/admin/audit", headers=w.h("admin")).json()
    (row,) = [e for e in trail if e["resource"] == "job"]
    assert (row["action"], row["resource_id"], row["patient_id"]) == ("update", str(j.id), w.ids["pat"])
