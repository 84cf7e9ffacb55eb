"""Self-training with the real teacher client; the HTTP layer of the LLM service is faked (httpx.MockTransport).

The fake server rates each unlabeled user with its true total, abstains on one and fails (HTTP 500) on
another: the round must accept exactly the rated users and record the other two with their reasons.
"""

from __future__ import annotations

import csv
import json
import re

import httpx

from phqwatch.config import Settings
from phqwatch.training.selftrain_files import teacher_from_settings

from .conftest import one_teacher_round


def _items(total: int) -> list[int]:
    items = [0] * 9
    for i in range(total):
        items[i % 9] += 1
    return items


def _rating(total: int | None) -> str:
    scores = [None] * 9 if total is None else _items(total)
    items = {f"item_{n}": {"score": s, "evidence": [], "rationale": "r"} for n, s in enumerate(scores, 1)}
    return json.dumps({"items": items, "total": total, "confidence": 0.9})


def test_teacher_pseudolabels_over_the_real_client(split_users, tmp_path):
    u, u_true = split_users["U"]
    ids = list(u)[:8]
    unlabeled = {uid: f"Day {i}: {u[uid]}" for i, uid in enumerate(ids)}
    truth = {i: int(t) for i, t in enumerate(u_true[:8])}
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        i = int(re.search(r"Day (\d+):", body["messages"][-1]["content"]).group(1))
        calls.append(i)
        if i == 0:
            return httpx.Response(500, json={"error": "boom"})
        content = _rating(None if i == 1 else truth[i])
        return httpx.Response(
            200,
            json={
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )

    settings = Settings(
        _env_file=None,
        teacher_base_url="http://127.0.0.1:9/v1",
        teacher_model="fake-teacher",
        teacher_max_retries=0,
        teacher_cache_path=tmp_path / "cache.sqlite",
    )
    teacher = teacher_from_settings(settings, progress=False, transport=httpx.MockTransport(handler), backoff_base_s=0)
    res = one_teacher_round(split_users, unlabeled, teacher, tmp_path / "st")
    reasons = res.rounds[1].reasons
    assert reasons["accepted"] == 6 and reasons["teacher_failed"] == 1 and reasons["teacher_abstained"] == 1
    run = res.summary["teacher"]["run"]
    assert (run["ok"], run["abstained"], run["failed"]) == (6, 1, 1) and run["total_tokens"] > 0
    rows = {r["user_id"]: r for r in csv.DictReader(open(tmp_path / "st" / "round_1" / "pseudolabels.csv"))}
    for i, uid in enumerate(ids):
        if i >= 2:
            assert float(rows[uid]["train_label"]) == truth[i] and rows[uid]["teacher_status"] == "ok"
    assert rows[ids[0]]["reason"] == "teacher_failed" and rows[ids[1]]["reason"] == "teacher_abstained"
