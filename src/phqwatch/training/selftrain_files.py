"""Self-train from files: the engine behind `phqwatch selftrain`.

Administered users: each questionnaire's window (the `window_days` before it, the PHQ-9 recall period)
is one labelled example. A seeded `heldout_frac` of *users* (all their windows) is held out to pick the
round and calibrate intervals. Unlabeled users: all of each user's text in the unlabeled transcript file.
The teacher (when on) is the LLM from PHQWATCH_TEACHER_* settings, called once over the unlabeled users.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.config import Settings
from phqwatch.errors import ConfigError, InputError
from phqwatch.training.selftrain import SelfTrainer, SelfTrainResult
from phqwatch.training.selftrain_config import SelfTrainConfig


def heldout_users(user_ids: list[str], frac: float, seed: int) -> set[str]:
    """A seeded share `frac` of the distinct users (at least one, never all)."""
    if not 0 < frac < 1:
        raise InputError(f"heldout fraction {frac}; expected 0 < frac < 1", field="heldout_frac", fix="e.g. 0.2.")
    users = sorted(set(user_ids))
    if len(users) < 2:
        raise InputError(
            f"{len(users)} administered user(s); need at least 2 to hold some out", fix="Add labelled users."
        )
    rng = np.random.default_rng(seed)
    n = min(len(users) - 1, max(1, round(frac * len(users))))
    return {users[i] for i in rng.permutation(len(users))[:n]}


def teacher_from_settings(settings: Settings, *, progress: bool = True, **kwargs: Any) -> Callable[[dict], Any]:
    """A teacher callable over the OpenAI-compatible endpoint in `settings` (phqwatch.teacher)."""
    from phqwatch.teacher import run_pseudolabel

    def llm_teacher(texts: dict[str, str]) -> Any:
        return run_pseudolabel(texts, settings, progress=progress, **kwargs)

    return llm_teacher


def selftrain_files(
    transcripts: str | Path,
    labels: str | Path,
    unlabeled: str | Path,
    out_dir: str | Path,
    settings: Settings,
    *,
    estimator: str = "lexical-ridge",
    teacher: bool | None = None,
    heldout_frac: float = 0.2,
    include_assistant: bool = False,
    progress: Callable[[str], None] | None = None,
    teacher_progress: bool = True,
    config: SelfTrainConfig | None = None,
    **options: Any,
) -> tuple[SelfTrainResult, dict[str, Any]]:
    """Read the files, split users, self-train into `out_dir`, save the chosen model to `out_dir/model`.

    teacher: True (use PHQWATCH_TEACHER_*), False (model-only) or None (on when a teacher URL is set).
    Returns (result, data counts). `config` (a `SelfTrainConfig`; its seed also seeds the held-out split)
    goes to `SelfTrainer`; flat `options` (max_rounds=3, filter="none", ...) replace its fields.
    """
    from phqwatch.models.registry import estimator_class
    from phqwatch.transcripts import assemble_users, build_windows, iter_messages, read_questionnaires

    cls = estimator_class(estimator)
    config = SelfTrainConfig.from_options(config, **options)
    seed = config.seed
    qs = read_questionnaires(labels)
    windows = build_windows(
        iter_messages(transcripts, max_message_chars=settings.max_message_chars),
        qs,
        days=settings.window_days,
        include_assistant=include_assistant,
    )
    if len(windows) < 3:
        raise InputError(
            f"{len(windows)} questionnaire windows with text; need at least 3",
            path=str(labels),
            fix="Check that transcripts and questionnaires share user ids and overlapping dates.",
        )
    held = heldout_users([w.user_id for w in windows], heldout_frac, seed)
    train = [w for w in windows if w.user_id not in held]
    hold = [w for w in windows if w.user_id in held]
    users = list(
        assemble_users(
            iter_messages(unlabeled, max_message_chars=settings.max_message_chars), include_assistant=include_assistant
        )
    )
    unl = {u.user_id: u.text for u in users if u.text.strip()}
    use_teacher = bool(settings.teacher_base_url) if teacher is None else teacher
    if use_teacher and not (settings.teacher_base_url and settings.teacher_model):
        raise ConfigError(
            "the teacher is on but PHQWATCH_TEACHER_BASE_URL or PHQWATCH_TEACHER_MODEL is not set.",
            fix="Set both (e.g. http://127.0.0.1:8080/v1 and the served model name), or pass --no-teacher.",
        )
    counts = {
        "windows": len(windows),
        "train_windows": len(train),
        "heldout_windows": len(hold),
        "heldout_users": len(held),
        "unlabeled_users": len(unl),
        "teacher": use_teacher,
    }
    if progress is not None:
        progress(
            f"data: {len(train)} training windows, {len(hold)} held-out windows ({len(held)} users), "
            f"{len(unl)} unlabeled users; teacher {'on' if use_teacher else 'off'}"
        )
    out_dir = Path(out_dir)
    trainer = SelfTrainer(
        estimator_factory=cls,
        teacher=teacher_from_settings(settings, progress=teacher_progress) if use_teacher else None,
        config=config,
        out_dir=out_dir,
        progress=progress,
    )
    result = trainer.run(
        [w.text for w in train],
        [float(w.label) for w in train],
        unl,
        heldout=([w.text for w in hold], [float(w.label) for w in hold]),
    )
    chosen = result.best_model
    chosen.save(
        out_dir / "model",
        metadata={
            "training_data": f"{transcripts} + {labels} (administered) and {unlabeled} (unlabeled), self-trained",
            "labels": (
                "administered PHQ-9 only (no self-training round beat round 0 on the held-out users)"
                if result.best_round == 0
                else f"administered PHQ-9 + pseudolabels (self-training round {result.best_round})"
            ),
            "metrics": {"heldout": {config.metric: result.rounds[result.best_round].metric}},
        },
    )
    return result, counts


__all__ = ["heldout_users", "selftrain_files", "teacher_from_settings"]
