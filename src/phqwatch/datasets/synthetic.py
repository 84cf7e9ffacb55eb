"""Synthetic example data (clearly marked synthetic): users, conversations and administered PHQ-9s.

Written by the project for the demo and the tests, because real dialogue corpora with PHQ-9 labels take
months to access. Each user follows a latent severity trajectory; their messages draw symptom sentences
in proportion to their PHQ-9 item scores. Deterministic for a given seed.

The bundled example files (``EXAMPLES_DIR``, package data, so an installed wheel has them) are this
generator's output with the clinic mix (``CLINIC_MIX``); ``shift_to_now`` moves their dates so the demo is
dated relative to today.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from phqwatch.transcripts.schema import Message, Questionnaire
from phqwatch.transcripts.writers import atomic_write

#: The bundled synthetic examples: transcripts.jsonl, phq9.csv and their README (shipped as package data).
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"

# Sentences per PHQ-9 item (index 0..8), mild to severe.
SYMPTOMS: tuple[tuple[str, ...], ...] = (
    (
        "I haven't really felt like doing my hobbies lately.",
        "Nothing seems fun anymore, even games I used to love.",
        "I stopped going to climbing, I just don't care about it now.",
        "I can't enjoy anything at all, it all feels pointless.",
    ),
    (
        "I've been feeling a bit down this week.",
        "I feel low most days and I'm not sure why.",
        "Everything feels hopeless and heavy.",
        "I feel empty and sad nearly all the time.",
    ),
    (
        "I've been sleeping badly.",
        "I keep waking up at 4am and can't get back to sleep.",
        "I sleep twelve hours and still want to stay in bed.",
        "I lie awake every night, my mind won't stop.",
    ),
    (
        "I'm more tired than usual.",
        "I'm exhausted all the time, even after resting.",
        "I have no energy to even shower.",
        "Getting out of bed takes everything I have.",
    ),
    (
        "I haven't been very hungry.",
        "I keep skipping meals, food doesn't appeal to me.",
        "I've been stress eating junk food every night.",
        "I've lost weight because I barely eat.",
    ),
    (
        "I feel like I keep messing things up.",
        "I feel like a failure compared to everyone else.",
        "I let my family down again, I'm useless.",
        "I hate myself and feel worthless.",
    ),
    (
        "I've been a bit distracted at work.",
        "I read the same page five times and nothing sticks.",
        "I can't focus on anything, not even a TV show.",
        "My mind is foggy and I can't concentrate at all.",
    ),
    (
        "I've been a little restless.",
        "I feel slowed down, like I'm moving through mud.",
        "I can't sit still, I keep pacing around the flat.",
        "People said I talk really slowly lately.",
    ),
    (
        "Sometimes I wonder what the point of it all is.",
        "Sometimes I think everyone would be better off without me.",
        "I've had thoughts of not wanting to be here anymore.",
        "I keep thinking about hurting myself.",
    ),
)
NEUTRAL = (
    "Work was busy today but fine.",
    "I went for a walk in the park with my sister.",
    "We cooked pasta for dinner and watched a film.",
    "My manager liked the report I wrote.",
    "I called my mum and we talked about the holidays.",
    "The weather was nice so I sat outside for a while.",
    "I finished a book I had been reading for weeks.",
    "My friend and I tried a new cafe downtown.",
    "I have a dentist appointment on Thursday.",
    "I'm planning to repaint the kitchen this weekend.",
    "The bus was late again this morning.",
    "I played football with some colleagues after work.",
    "I've been learning a bit of Spanish on my phone.",
    "We visited my grandparents on Sunday.",
    "I got a lot done around the house today.",
    "I'm looking forward to the concert next month.",
)
POSITIVE = (
    "I actually feel pretty good this week.",
    "I've been sleeping well and waking up rested.",
    "I enjoyed seeing my friends on Saturday.",
    "I feel more like myself lately.",
    "I had energy to go running twice this week.",
    "Things feel manageable right now.",
)
ASSISTANT = (
    "Thank you for sharing that with me. How have you been feeling about it?",
    "That sounds like a lot to carry. What has helped you in the past?",
    "I'm glad you told me. Would you like to talk more about your week?",
    "It makes sense to feel that way. What would make tomorrow a little easier?",
    "That's good to hear. What do you think contributed to that?",
    "Let's take it one step at a time. What's on your mind right now?",
)


Trajectory = Literal["improving", "stable", "worsening"]


@dataclass(frozen=True, slots=True)
class SyntheticUser:
    """One synthetic user's latent severity: PHQ-9 total ``baseline + slope_per_30d * day / 30`` plus noise."""

    user_id: str
    baseline: float
    slope_per_30d: float
    weights: tuple[float, ...]
    trajectory: Trajectory | None = None


@dataclass(frozen=True, slots=True)
class CaseloadMix:
    """Shares of users by trajectory, as in a clinic's caseload (the rest are stable)."""

    improving: float = 0.40
    worsening: float = 0.14


#: Most users stable or improving in care, a few worsening (the users who voice risk among them).
CLINIC_MIX = CaseloadMix()


def _items_for(total: float, weights: tuple[float, ...], rng: random.Random) -> list[int]:
    """Nine item scores 0-3 whose sum is close to `total`, shaped by the user's symptom profile."""
    target = max(0, min(27, round(total)))
    items = [0] * 9
    order = sorted(range(9), key=lambda i: -weights[i] * rng.uniform(0.7, 1.3))
    while sum(items) < target:
        for i in order:
            if sum(items) >= target:
                break
            if items[i] < 3 and rng.random() < 0.5 + weights[i] / 2:
                items[i] += 1
    return items


#: Users (by index) who voice thoughts of death or self-harm (item 9) in chat: a few, as in a real caseload.
#: Everyone else may still score item 9 on the questionnaire without saying so to the app.
RISK_VOICING_USERS = frozenset({4, 19})
_ITEM_9 = 8


def _message(items: list[int], rng: random.Random, *, voices_risk: bool = False) -> str:
    sentences: list[str] = []
    for _ in range(rng.randint(2, 4)):
        active = [i for i in range(9) if items[i] > 0 and (voices_risk or i != _ITEM_9)]
        if active and rng.random() < 0.25 + 0.6 * sum(items) / 27:
            i = rng.choice(active)
            level = min(3, max(0, items[i] - 1 + rng.choice((0, 0, 1))))
            sentences.append(SYMPTOMS[i][level])
        elif sum(items) < 5 and rng.random() < 0.5:
            sentences.append(rng.choice(POSITIVE))
        else:
            sentences.append(rng.choice(NEUTRAL))
    return " ".join(sentences)


def _trajectories(n_users: int, mix: CaseloadMix, rng: random.Random) -> list[Trajectory]:
    """A shuffled trajectory per user index in the mix's shares; the users who voice risk are worsening."""
    risk = [u for u in range(n_users) if u in RISK_VOICING_USERS]
    n_worse = max(len(risk), round(mix.worsening * n_users))
    n_better = round(mix.improving * n_users)
    others = [u for u in range(n_users) if u not in RISK_VOICING_USERS]
    worse: list[Trajectory] = ["worsening"]
    better: list[Trajectory] = ["improving"]
    stable: list[Trajectory] = ["stable"]
    pool = worse * (n_worse - len(risk)) + better * n_better
    pool += stable * (len(others) - len(pool))
    rng.shuffle(pool)
    out: list[Trajectory] = ["stable"] * n_users
    for u in risk:
        out[u] = "worsening"
    for u, kind in zip(others, pool, strict=True):
        out[u] = kind
    return out


def _draw_user(u: int, rng: random.Random, trajectory: Trajectory | None) -> SyntheticUser:
    """Baseline, slope and symptom profile; ``trajectory=None`` spreads severities evenly (for training)."""
    user_id = f"synthetic-{u + 1:03d}"
    if trajectory is None:
        return SyntheticUser(
            user_id=user_id,
            baseline=rng.uniform(0, 24),
            slope_per_30d=rng.choice((-4.0, -2.0, 0.0, 0.0, 2.0, 4.0)),
            weights=tuple(rng.random() for _ in range(9)),
        )
    if trajectory == "improving":  # in care and responding: moderate at intake, falling 2-4 points a month
        baseline, slope = rng.uniform(10, 19), rng.uniform(-3.5, -2.0)
    elif trajectory == "worsening":  # mild to moderate at the start, rising 2.5-4 points a month
        baseline, slope = rng.uniform(6, 12), rng.uniform(2.5, 4.0)
    else:  # stable, mostly minimal to moderate
        baseline, slope = rng.triangular(1, 16, 6), rng.uniform(-0.4, 0.4)
    weights = [rng.random() for _ in range(9)]
    if u in RISK_VOICING_USERS:
        weights[_ITEM_9] = max(weights[_ITEM_9], 0.9)  # they score on item 9 and say so
    return SyntheticUser(user_id, baseline, slope, tuple(weights), trajectory)


def generate(
    n_users: int = 36, seed: int = 7, start: datetime | None = None, mix: CaseloadMix | None = None
) -> tuple[list[dict], list[dict]]:
    """(messages in the transcript contract, administered PHQ-9 rows with items) for `n_users` users.

    ``mix=None`` spreads severities evenly (what training tests want); ``CLINIC_MIX`` is a realistic
    caseload (the bundled examples).
    """
    rng = random.Random(seed)
    start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    kinds = _trajectories(n_users, mix, rng) if mix is not None else [None] * n_users
    messages: list[dict] = []
    questionnaires: list[dict] = []
    for u in range(n_users):
        user = _draw_user(u, rng, kinds[u])
        short_user = u == n_users - 1  # one user with too little text: the model must abstain
        days = sorted(rng.sample(range(0, 84), 3 if short_user else rng.randint(8, 14)))
        for c, day in enumerate(days):
            sev = min(27.0, max(0.0, user.baseline + user.slope_per_30d * day / 30 + rng.gauss(0, 1.5)))
            items = _items_for(sev, user.weights, rng)
            when = start + timedelta(days=day, hours=rng.randint(0, 12))
            for turn in range(1 if short_user else rng.randint(3, 6)):
                text = "ok thanks" if short_user else _message(items, rng, voices_risk=u in RISK_VOICING_USERS)
                messages.append(
                    {
                        "user_id": user.user_id,
                        "conversation_id": f"{user.user_id}-c{c + 1:02d}",
                        "role": "user",
                        "text": text,
                        "timestamp": (when + timedelta(minutes=4 * turn)).isoformat().replace("+00:00", "Z"),
                    }
                )
                messages.append(
                    {
                        "user_id": user.user_id,
                        "conversation_id": f"{user.user_id}-c{c + 1:02d}",
                        "role": "assistant",
                        "text": rng.choice(ASSISTANT),
                        "timestamp": (when + timedelta(minutes=4 * turn + 1)).isoformat().replace("+00:00", "Z"),
                    }
                )
        for qday in (27, 55, 83):
            sev = min(27.0, max(0.0, user.baseline + user.slope_per_30d * qday / 30 + rng.gauss(0, 1.0)))
            items = _items_for(sev, user.weights, rng)
            questionnaires.append(
                {
                    "user_id": user.user_id,
                    "date": (start + timedelta(days=qday)).date().isoformat(),
                    **{f"item_{i + 1}": items[i] for i in range(9)},
                    "phq9_total": sum(items),
                }
            )
    return messages, questionnaires


def write_examples(
    folder: str | Path, n_users: int = 36, seed: int = 7, mix: CaseloadMix | None = None
) -> tuple[Path, Path]:
    """Write `transcripts.jsonl` and `phq9.csv` (synthetic) into `folder`."""
    folder = Path(folder)
    messages, questionnaires = generate(n_users=n_users, seed=seed, mix=mix)
    t_path, q_path = folder / "transcripts.jsonl", folder / "phq9.csv"
    with atomic_write(t_path, "w", encoding="utf-8") as fh:
        for m in messages:
            fh.write(json.dumps(m, ensure_ascii=False) + "\n")
    cols = ["user_id", "date", *[f"item_{i}" for i in range(1, 10)], "phq9_total"]
    with atomic_write(q_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(questionnaires)
    return t_path, q_path


def shift_to_now(
    messages: Sequence[Message], questionnaires: Sequence[Questionnaire], now: datetime | None = None
) -> tuple[list[Message], list[Questionnaire]]:
    """Move every date by the same whole number of days so the latest message (or questionnaire, when no
    message has a timestamp) falls on the last day that is not after ``now``; times of day are kept."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    stamps = [_aware(m.timestamp) for m in messages if m.timestamp is not None]
    latest = max(stamps, default=None)
    if latest is None and questionnaires:
        latest = datetime.combine(max(q.date for q in questionnaires), time(12, 0), tzinfo=UTC)
    if latest is None:
        return list(messages), list(questionnaires)
    days = (now.date() - latest.astimezone(UTC).date()).days
    if latest + timedelta(days=days) > now:
        days -= 1
    delta = timedelta(days=days)
    moved = [
        m if m.timestamp is None else dataclasses.replace(m, timestamp=_aware(m.timestamp) + delta) for m in messages
    ]
    return moved, [dataclasses.replace(q, date=q.date + delta) for q in questionnaires]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


if __name__ == "__main__":  # python -m phqwatch.datasets.synthetic [FOLDER]: rewrite the bundled examples
    import sys

    paths = write_examples(sys.argv[1] if len(sys.argv) > 1 else EXAMPLES_DIR, mix=CLINIC_MIX)
    print("wrote", *paths)
