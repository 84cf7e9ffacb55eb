"""Teacher pseudolabel runs and teacher calibration.

    frame = pseudolabel({"u1": text1, "u2": text2}, settings)
    frame.attrs["teacher_run"]      # run stats: calls, cache hits, failures, tokens, cost, ...
    cal = calibrate(frame.set_index("user_id")["phq9_estimate"], administered_totals)
    cal.apply(frame["phq9_estimate"])  # optional linear recalibration, clipped to 0-27

One row per user, in input order. Status: "ok" (a total), "abstained" (the teacher answered but gave no
usable total: insufficient evidence, or an inconsistent total) or "failed" (the endpoint failed after
retries, or every answer was unreadable). Text is de-identified before it is sent whenever
`deid_enabled(settings)` (default: any non-loopback endpoint). Results are cached in SQLite, so rerunning
after an interruption only calls the teacher for users not finished yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from phqwatch.config import Settings
from phqwatch.errors import ConfigError, InputError
from phqwatch.phq9 import ITEM_COLUMNS, ITEMS
from phqwatch.teacher import rubric
from phqwatch.teacher.cache import TeacherCache, text_hash
from phqwatch.teacher.client import Pricing, TeacherCallError, TeacherClient
from phqwatch.teacher.parse import ParseError, Rating, parse_rating
from phqwatch.transcripts.deid import deid_enabled, deidentify

log = logging.getLogger(__name__)

#: Columns of the frame `pseudolabel` returns, in order.
COLUMNS = (
    "user_id",
    "phq9_estimate",
    *ITEM_COLUMNS,
    "confidence",
    "n_quotes_kept",
    "n_quotes_dropped",
    "status",
    "n_items_abstained",
    "total_source",
    "error_kind",
    "attempts",
    "cached",
    "evidence",
    "teacher_model",
    "prompt_fingerprint",
)
STATUSES = ("ok", "abstained", "failed")


@dataclass
class RunStats:
    """What one pseudolabel run did. `calls` counts chat completions requested (cache misses times tries)."""

    n_users: int = 0
    ok: int = 0
    abstained: int = 0
    failed: int = 0
    cache_hits: int = 0
    calls: int = 0
    http_attempts: int = 0
    retries: int = 0
    parse_failures: int = 0
    failure_kinds: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    quotes_kept: int = 0
    quotes_dropped: int = 0
    deid: bool = False
    deid_replacements: dict[str, int] = field(default_factory=dict)
    output_format: str = ""  # json_schema, json_object or plain: what the server ended up accepting
    structured_fallback_reason: str | None = None
    teacher_model: str = ""
    prompt_fingerprint: str = ""
    rubric_version: str = rubric.RUBRIC_VERSION
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PseudolabelRun:
    """The frame (one row per user) and the run's stats."""

    frame: pd.DataFrame
    stats: RunStats


def _row(uid: str, rating: Rating | None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": uid}
    if rating is None:
        row.update({"phq9_estimate": math.nan, **{c: math.nan for c in ITEM_COLUMNS}})
        row.update(confidence=math.nan, n_quotes_kept=0, n_quotes_dropped=0, n_items_abstained=len(ITEMS))
        row.update(total_source="none", evidence="{}")
    else:
        row["phq9_estimate"] = float(rating.total) if rating.total is not None else math.nan
        for it in ITEMS:
            v = rating.items.get(it.number)
            row[f"item_{it.number}"] = float(v) if v is not None else math.nan
        row["confidence"] = rating.confidence if rating.confidence is not None else math.nan
        row["n_quotes_kept"] = rating.n_quotes_kept
        row["n_quotes_dropped"] = rating.n_quotes_dropped
        row["n_items_abstained"] = rating.n_items_abstained
        row["total_source"] = rating.total_source
        row["evidence"] = json.dumps({f"item_{k}": v for k, v in rating.evidence.items() if v}, ensure_ascii=False)
        row["status"] = rating.status
    row.update(extra)
    return row


class _Runner:
    def __init__(
        self,
        client: TeacherClient,
        cache: TeacherCache | None,
        stats: RunStats,
        *,
        deid: bool,
        deid_engine: str,
        max_tokens: int,
        parse_retries: int,
        retry_temperature: float,
    ) -> None:
        self.client, self.cache, self.stats = client, cache, stats
        self.deid, self.deid_engine = deid, deid_engine
        self.max_tokens, self.parse_retries, self.retry_temperature = max_tokens, parse_retries, retry_temperature
        self.fp = rubric.fingerprint()
        self.model = client.model
        self.deid_counts: Counter[str] = Counter()
        self.failure_kinds: Counter[str] = Counter()

    async def rate(self, uid: str, text: str) -> dict[str, Any]:
        base = {"teacher_model": self.model, "prompt_fingerprint": self.fp}
        if self.deid:
            d = deidentify(text, engine=self.deid_engine)
            self.deid_counts.update(d.counts)
            sent = d.text
        else:
            sent = text
        thash = text_hash(sent)
        if self.cache is not None:
            hit = self.cache.get(thash, self.fp, self.model)
            if hit is not None:
                self.stats.cache_hits += 1
                rating = Rating.model_validate(hit)
                return _row(uid, rating, error_kind="", attempts=0, cached=True, **base)
        if not sent.strip():
            self.failure_kinds["empty_text"] += 1
            return _row(uid, None, status="abstained", error_kind="empty_text", attempts=0, cached=False, **base)

        messages = rubric.build_messages(sent)
        rf = rubric.response_format()
        attempts = 0
        kind, message = "", ""
        for try_no in range(self.parse_retries + 1):
            temperature = None if try_no == 0 else max(self.client.settings.teacher_temperature, self.retry_temperature)
            self.stats.calls += 1
            try:
                result = await self.client.chat(
                    messages, response_format=rf, max_tokens=self.max_tokens, temperature=temperature
                )
            except TeacherCallError as err:
                attempts += err.attempts
                kind, message = err.kind, err.message
                break  # the endpoint itself gave up after its retries: do not hammer it again
            attempts += result.attempts
            try:
                rating = parse_rating(result.content, sent)
            except ParseError as err:
                self.stats.parse_failures += 1
                kind = "truncated" if result.finish_reason == "length" else "unparseable"
                message = err.message
                continue
            if self.cache is not None:
                self.cache.put(thash, self.fp, self.model, rating.model_dump(mode="json"))
                self.cache.clear_failure(uid, self.fp, self.model)
            return _row(uid, rating, error_kind="", attempts=attempts, cached=False, **base)
        self.failure_kinds[kind] += 1
        if self.cache is not None:
            self.cache.record_failure(uid, thash, self.fp, self.model, kind, attempts, message)
        return _row(uid, None, status="failed", error_kind=kind, attempts=attempts, cached=False, **base)


def _check_texts(texts: Mapping[str, str]) -> None:
    if not isinstance(texts, Mapping):
        raise InputError(f"pseudolabel expects a mapping user_id -> text; got {type(texts).__name__}.")
    for uid, text in texts.items():
        if not isinstance(uid, str) or not uid:
            raise InputError(f"User id {uid!r} is not a non-empty string.", field="user_id")
        if not isinstance(text, str):
            raise InputError(f"Text for user {uid!r} is {type(text).__name__}; expected str.", field="text")


async def apseudolabel(
    texts: Mapping[str, str],
    settings: Settings,
    *,
    cache_path: str | Path | None = None,
    use_cache: bool = True,
    pricing: Pricing | None = None,
    deid: bool | None = None,
    deid_engine: str = "regex",
    structured: str = "auto",
    max_tokens: int = 1024,
    parse_retries: int = 1,
    retry_temperature: float = 0.7,
    progress: bool = True,
    backoff_base_s: float = 0.5,
    transport: Any = None,
) -> PseudolabelRun:
    """Rate every user's text with the teacher (async). See `pseudolabel` for the parameters."""
    _check_texts(texts)
    if parse_retries < 0 or max_tokens < 1:
        raise ConfigError(
            f"parse_retries={parse_retries}, max_tokens={max_tokens}; expected parse_retries >= 0, max_tokens >= 1."
        )
    t0 = time.perf_counter()
    do_deid = deid_enabled(settings) if deid is None else deid
    stats = RunStats(n_users=len(texts), deid=do_deid, teacher_model=settings.teacher_model or "")
    stats.prompt_fingerprint = rubric.fingerprint()
    cache = TeacherCache(cache_path or settings.teacher_cache_path) if use_cache else None
    rows: dict[str, dict[str, Any]] = {}
    try:
        async with TeacherClient(
            settings, pricing=pricing, transport=transport, structured=structured, backoff_base_s=backoff_base_s
        ) as client:
            runner = _Runner(
                client,
                cache,
                stats,
                deid=do_deid,
                deid_engine=deid_engine,
                max_tokens=max_tokens,
                parse_retries=parse_retries,
                retry_temperature=retry_temperature,
            )

            async def one(uid: str, text: str) -> tuple[str, dict[str, Any]]:
                return uid, await runner.rate(uid, text)

            tasks = [asyncio.ensure_future(one(uid, text)) for uid, text in texts.items()]
            try:
                with tqdm(total=len(tasks), desc="teacher", unit="user", disable=not progress) as bar:
                    for fut in asyncio.as_completed(tasks):
                        uid, row = await fut
                        rows[uid] = row
                        bar.update(1)
            finally:
                for t in tasks:
                    t.cancel()
            stats.http_attempts = client.usage.http_attempts
            stats.retries = client.usage.retries
            stats.prompt_tokens = client.usage.prompt_tokens
            stats.completion_tokens = client.usage.completion_tokens
            stats.total_tokens = client.usage.total_tokens
            stats.cost = round(client.usage.cost, 6)
            stats.output_format = client.output_format
            stats.structured_fallback_reason = client.structured_fallback_reason
            stats.deid_replacements = dict(runner.deid_counts)
            stats.failure_kinds = dict(runner.failure_kinds)
    finally:
        if cache is not None:
            cache.close()
    frame = pd.DataFrame([rows[uid] for uid in texts], columns=list(COLUMNS))
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    counts = frame["status"].value_counts()
    stats.ok, stats.abstained, stats.failed = (int(counts.get(s, 0)) for s in STATUSES)
    stats.quotes_kept = int(frame["n_quotes_kept"].sum()) if len(frame) else 0
    stats.quotes_dropped = int(frame["n_quotes_dropped"].sum()) if len(frame) else 0
    stats.wall_s = round(time.perf_counter() - t0, 3)
    frame.attrs["teacher_run"] = stats.as_dict()
    log.info(
        "teacher run: %d users, %d ok, %d abstained, %d failed, %d cache hits, %d tokens",
        stats.n_users,
        stats.ok,
        stats.abstained,
        stats.failed,
        stats.cache_hits,
        stats.total_tokens,
    )
    return PseudolabelRun(frame=frame, stats=stats)


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}  # called from inside an event loop (e.g. a notebook): run in a worker thread

    def work() -> None:
        try:
            box["v"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["e"] = exc

    th = threading.Thread(target=work)
    th.start()
    th.join()
    if "e" in box:
        raise box["e"]
    return box["v"]


def run_pseudolabel(texts: Mapping[str, str], settings: Settings, **kwargs: Any) -> PseudolabelRun:
    """Like `pseudolabel`, returning the frame and a typed `RunStats`."""
    return run_sync(apseudolabel(texts, settings, **kwargs))


def pseudolabel(texts: Mapping[str, str], settings: Settings, **kwargs: Any) -> pd.DataFrame:
    """Rate each user's text with the LLM teacher; one row per user (COLUMNS), stats in `.attrs["teacher_run"]`.

    texts: user_id -> the text of that user's window (e.g. the 14 days before a PHQ-9). Any non-empty
        string id works (e.g. "user@2026-02-01" for one window of a user); rows come back in input order.
    settings: teacher_base_url, teacher_model, teacher_api_key, teacher_temperature,
        teacher_max_concurrency, teacher_timeout_s, teacher_max_retries, teacher_deid, teacher_cache_path.
    Keyword options: cache_path (overrides settings), use_cache (default True), pricing (Pricing per 1k
    tokens), deid (None: decide by URL), deid_engine ("regex" | "presidio"), structured ("auto" | "always"
    | "never"), max_tokens (1024), parse_retries (extra calls when an answer is unreadable; default 1),
    retry_temperature (0.7), progress (tqdm bar), backoff_base_s (first retry wait, doubling; 0.5),
    transport (an httpx transport, for tests).

    `phq9_estimate` is the teacher total (0-27) or NaN when the teacher abstained or failed; item_n is 0-3
    or NaN (insufficient evidence). Raises ConfigError for a missing endpoint/model; endpoint failures do
    not raise, they become rows with status "failed" and an `error_kind`.
    """
    return run_pseudolabel(texts, settings, **kwargs).frame


__all__ = [
    "COLUMNS",
    "STATUSES",
    "PseudolabelRun",
    "RunStats",
    "apseudolabel",
    "pseudolabel",
    "run_pseudolabel",
    "run_sync",
]
