"""The re-estimation worker: claims jobs from the durable job table, scores, stores, runs alert rules.

Runs in-process (a daemon thread started by `create_app(..., worker=True)`, for the SQLite demo) or as
separate `phqwatch worker` processes (PostgreSQL: several share the queue with SKIP LOCKED). The model is
loaded once per worker. Each claimed job is leased (`job_lease_s`) and a heartbeat thread renews the lease
every `job_heartbeat_s` while the job runs; when a worker dies its lease lapses and any other worker takes
the job within seconds. A job that keeps failing is retried with backoff, then dead-lettered.

Jobs of kind "notify" send a patient's due alert notifications (`server.notify`); every `notify_scan_s`
the worker also creates first notices and escalates urgent alerts nobody has acknowledged.

Jobs of kind "safety_review" (an LLM second opinion on crisis-screen decisions) go to
`server.safety_review.run_safety_review`; the worker has a teacher client only when the teacher endpoint is
configured (otherwise such a job completes and every first decision stands).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from phqwatch.config import Settings
from phqwatch.errors import StoreError
from phqwatch.server.services.estimation import load_window, run_alert_rules, score_window, store_estimate
from phqwatch.store import Database, TextCipher, estimates, jobs, messages
from phqwatch.store.tables import Job, Person

log = logging.getLogger("phqwatch.worker")

#: Backfill: one estimate every this many days across a patient's history.
BACKFILL_STEP_DAYS = 7


class Worker:
    """Processes re-estimation jobs. `run_once()` drains what is due; `run()` loops until stopped."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        cipher: TextCipher,
        *,
        model: Any = None,
        worker_id: str | None = None,
        poll_s: float = 1.0,
        lease_s: float | None = None,
        wake: threading.Event | None = None,
        screen: Any = None,
        teacher_client_factory: Callable[[Settings], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.cipher = cipher
        self._model = model
        self._screen = screen
        self._teacher_client_factory = teacher_client_factory
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.poll_s = poll_s
        self.lease_s = settings.job_lease_s if lease_s is None else lease_s
        self.heartbeat_s = min(settings.job_heartbeat_s, self.lease_s / 3)
        self._last_tick = 0.0
        self.wake = wake or threading.Event()
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0

    @property
    def model(self) -> Any:
        """The estimator, loaded once (settings.model_dir, or the shipped default)."""
        if self._model is None:
            from phqwatch.models import load_model

            self._model = load_model(self.settings.model_dir)
        return self._model

    @property
    def screen(self) -> Any:
        """The crisis screen as configured (the same settings as the server's), built once."""
        if self._screen is None:
            from phqwatch.safety import CrisisScreen, ScreenConfig

            self._screen = CrisisScreen(ScreenConfig.from_settings(self.settings))
        return self._screen

    @property
    def teacher_client_factory(self) -> Callable[[Settings], Any] | None:
        """Builds the teacher client for safety reviews; None when no teacher endpoint is configured."""
        if self._teacher_client_factory is not None:
            return self._teacher_client_factory
        from phqwatch.server.safety_review import second_opinion_enabled

        if not second_opinion_enabled(self.settings):
            return None
        from phqwatch.teacher.client import TeacherClient

        return TeacherClient

    # ---- one job ------------------------------------------------------------------------------------
    def process(self, job_id: int) -> None:
        """Read the windows (one read transaction), score them (no transaction held), then store the
        estimates, run the alert rules and complete the job (one write transaction). A "safety_review" job
        goes to `run_safety_review` (which keeps the same read / work / write split)."""
        cfg = self.settings
        with self.db.read() as s:
            job = s.get(Job, job_id)
            if job is not None and job.kind == "notify":
                from phqwatch.server.notify import run_notify_job

                run_notify_job(self.db, self.cipher, cfg, job_id, worker_id=self.worker_id)
                return
            review = job is not None and job.kind == "safety_review"
            patient = s.get(Person, job.patient_id) if job is not None and not review else None
            windows = []
            if job is not None and patient is not None:
                windows = [
                    load_window(
                        s,
                        self.cipher,
                        patient.id,
                        window_end=end,
                        window_days=cfg.window_days,
                        include_assistant=cfg.include_assistant,
                    )
                    for end in self._window_ends(s, job.kind, patient)
                ]
        if review:
            from phqwatch.server.safety_review import run_safety_review

            run_safety_review(self.db, self.cipher, job_id, cfg, self.screen, self.teacher_client_factory)
            return
        scored = [
            (w, score_window(self.model, w, min_words=cfg.min_words, include_assistant=cfg.include_assistant))
            for w in windows
        ]
        with self.db.write() as s:
            patient = s.get(Person, patient.id) if patient is not None else None
            if patient is not None and scored:
                existing = estimates.estimate_window_ends(s, patient.id)
                fresh = [(w, e) for w, e in scored if w.end not in existing]  # a re-run after a crash
                for w, e in fresh:
                    store_estimate(s, self.cipher, patient, w, e)
                if fresh:
                    ends = [w.end for w, _ in fresh]
                    run_alert_rules(s, self.cipher, patient, since=min(ends), now=max(ends))
            jobs.complete(s, job_id, worker_id=self.worker_id)  # lease lost: roll back, the new owner writes

    def _window_ends(self, s: Any, kind: str, patient: Person) -> list[datetime]:
        last = messages.last_message_at(s, patient.id)
        if last is None:
            return []
        existing = estimates.estimate_window_ends(s, patient.id)
        if kind == "estimate":
            return [] if last in existing else [last]
        first = messages.first_message_at(s, patient.id) or last  # None only if deleted since the read above
        ends: list[datetime] = []
        t = first + timedelta(days=BACKFILL_STEP_DAYS)
        while t < last:
            if t not in existing:
                ends.append(t)
            t += timedelta(days=BACKFILL_STEP_DAYS)
        if last not in existing:
            ends.append(last)
        return ends

    # ---- loops ----------------------------------------------------------------------------------------
    def run_once(self, max_jobs: int = 100) -> int:
        """Claim and process due jobs one at a time until none is left (or `max_jobs`). Returns the count."""
        cfg = self.settings
        done = 0
        while done < max_jobs and not self.stop_event.is_set():
            with self.db.write() as s:
                claimed = jobs.claim(
                    s, self.worker_id, limit=1, lease_s=self.lease_s, max_attempts=cfg.job_max_attempts
                )
                ids = [j.id for j in claimed]
            if not ids:
                break
            for jid in ids:
                try:
                    with self._heartbeat(jid):
                        self.process(jid)
                except jobs.LeaseLostError:
                    log.warning("job %s was taken over by another worker; its result is left to that one", jid)
                except Exception as exc:  # a bad job must not stop the worker; no text in the message
                    log.exception("job %s failed", jid)
                    try:
                        with self.db.write() as s:
                            jobs.fail(
                                s,
                                jid,
                                f"{type(exc).__name__}: {str(exc)[:300]}",
                                max_attempts=cfg.job_max_attempts,
                                base_delay_s=cfg.job_backoff_s,
                                worker_id=self.worker_id,
                            )
                    except jobs.LeaseLostError:
                        log.warning("job %s failed after another worker took it over", jid)
                done += 1
                self.processed += 1
        return done

    @contextmanager
    def _heartbeat(self, job_id: int) -> Iterator[None]:
        """Renew the job's lease every `heartbeat_s` (in a thread) while the body runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_s):
                try:
                    with self.db.write(durable=False) as s:
                        mine = jobs.heartbeat(s, job_id, self.worker_id, lease_s=self.lease_s)
                except Exception:  # the database is briefly unreachable: try again at the next beat
                    log.exception("heartbeat of job %s failed; retrying", job_id)
                    continue
                if not mine:
                    log.warning("lost the lease of job %s", job_id)
                    return

        t = threading.Thread(target=beat, name=f"phqwatch-heartbeat-{job_id}", daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join(self.heartbeat_s + 5)

    def notify_tick(self, *, force: bool = False) -> int:
        """Every `notify_scan_s`: first notices and escalations (see `server.notify`). Returns deliveries made."""
        if not force and time.monotonic() - self._last_tick < self.settings.notify_scan_s:
            return 0
        self._last_tick = time.monotonic()
        from phqwatch.server.notify import tick

        n, escalations = tick(self.db, self.settings)
        return n + sum(e.deliveries for e in escalations)

    def recover(self) -> int:
        """Re-queue the jobs a previous run of this worker id left running (lapsed leases are taken by claim)."""
        with self.db.write() as s:
            return jobs.requeue_worker(s, self.worker_id)

    def run(self) -> None:
        """Loop until `stop()`: drain the queue, notify and escalate, sleep until woken or `poll_s` passes.
        A database that is down (at the start too) is waited for: the worker logs it and tries again."""
        self._recover_when_up()
        while not self.stop_event.is_set():
            try:
                n = self.run_once()
                n += self.notify_tick()
            except Exception:
                log.exception("worker loop error; retrying")
                n = 0
            if n == 0:
                self.wake.wait(self.poll_s)
                self.wake.clear()

    def _recover_when_up(self) -> None:
        delay = max(self.poll_s, 0.5)
        while not self.stop_event.is_set():
            try:
                self.recover()
                return
            except StoreError as exc:  # e.g. started before the database: wait for it rather than exit
                log.warning("worker %s waiting for the database: %s", self.worker_id, exc.message)
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30.0)

    def start_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="phqwatch-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
