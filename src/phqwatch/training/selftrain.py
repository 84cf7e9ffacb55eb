"""Iterative self-training: administered labels first, then teacher and/or model pseudolabels, round by round.

    from phqwatch.training import self_train
    res = self_train(texts, totals, unlabeled, estimator_factory=CpuEstimator,
                     heldout=(val_texts, val_totals), out_dir="selftrain/")
    res.best_model.predict(new_texts); res.summary["rounds"]

Round 0 fits on the administered labels only (a plain fit). Each next round labels every unlabeled user
again with the teacher and/or the previous round's model, keeps the pseudolabels that pass the filter
(confidence, teacher-model agreement, or none), retrains on administered + accepted pseudolabels and
evaluates on the held-out administered split (phqwatch.evaluation, bootstrap CIs). Training stops when the
held-out selection metric has not improved for `patience` rounds. Optionally the ground-truth-only and the
best pseudolabel model are averaged (ensemble). With `out_dir`, every round keeps its model folder,
pseudolabels (CSV: ids and numbers only, never text) and metrics (JSON); plus summary.json and a plot.

Labels live on one of two scales (`LabelScale`): PHQ-9 totals (administered questionnaires; evaluated with
`phq9_metrics`), or the ordinal codes of one source (public proxy sets; evaluated with `ordinal_metrics`,
pseudolabels turned into that source's codes through its weak PHQ-9 class edges).
"""

from __future__ import annotations

import csv
import inspect
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeGuard

import numpy as np

from phqwatch.errors import ConfigError, InputError
from phqwatch.models.base import Labels, PHQ9Estimator
from phqwatch.training.label_scale import LabelScale
from phqwatch.training.pseudolabels import (
    FILTERS,
    SOURCES,
    FilterResult,
    Teacher,
    TeacherScores,
    class_of,
    filter_pseudolabels,
    interval_confidence,
    teacher_scores,
)

log = logging.getLogger(__name__)

#: Selection metrics where lower is better (everything else: higher is better).
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
SUMMARY_FILE = "summary.json"
PLOT_FILE = "heldout_by_round.png"
PSEUDO_COLUMNS = (
    "user_id",
    "teacher_score",
    "teacher_confidence",
    "teacher_status",
    "model_score",
    "pseudolabel",
    "train_label",
    "confidence",
    "accepted",
    "reason",
)


@dataclass
class RoundResult:
    """One round: what was trained on, what the filter did, held-out metrics and timings."""

    round: int
    n_labeled: int
    n_unlabeled: int
    n_pseudo_accepted: int
    reasons: dict[str, int]
    pseudo_source: str | None
    pseudo_stats: dict[str, Any]
    metric: float
    heldout: dict[str, Any]
    test: dict[str, Any] | None
    improved: bool
    timings_s: dict[str, float]
    model_dir: str | None = None

    def brief(self) -> dict[str, Any]:
        """The round without the full metric dictionaries (for tables and logs)."""
        d = asdict(self)
        d.pop("heldout")
        d.pop("test")
        if math.isnan(d["metric"]):
            d["metric"] = None  # undefined (e.g. constant predictions); JSON has no NaN
        return d


@dataclass
class SelfTrainResult:
    """All rounds, the chosen model and the summary written to summary.json."""

    rounds: list[RoundResult]
    best_round: int
    best_model: PHQ9Estimator
    baseline_model: PHQ9Estimator
    stopped: str
    ensemble_model: PHQ9Estimator | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: Every round's fitted model (index = round).
    models: list[PHQ9Estimator] = field(default_factory=list)


def _metric_value(metrics: dict[str, Any], key: str) -> float:
    node: Any = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(
                f"selection metric '{key}' is not in the held-out metrics",
                fix="Use e.g. 'spearman', 'qwk', 'mae' or 'auc_by_cut.1' (ordinal) / 'auc_by_threshold.10' (totals).",
            )
        node = node[part]
    if isinstance(node, dict):
        node = node.get("value")
    return math.nan if node is None else float(node)


class _WeightedFit(Protocol):
    """An estimator whose ``fit`` also takes per-row ``sample_weight``."""

    def fit(self, X: Sequence[str], y: Labels, *, sample_weight: np.ndarray, **kw: Any) -> PHQ9Estimator: ...


def _fit_accepts_weights(est: PHQ9Estimator) -> TypeGuard[_WeightedFit]:
    try:
        return "sample_weight" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def _ids_texts(x: Mapping[str, str] | Sequence[str], prefix: str) -> tuple[list[str], list[str]]:
    if isinstance(x, str):
        raise InputError("expected a sequence of texts or a mapping user_id -> text, got one string")
    if isinstance(x, Mapping):
        return [str(k) for k in x], list(x.values())
    texts = list(x)
    return [f"{prefix}-{i:06d}" for i in range(len(texts))], texts


class SelfTrainer:
    """Self-training configuration; `run` does the rounds. See the module docstring and `self_train`."""

    def __init__(
        self,
        *,
        estimator_factory: Callable[[], PHQ9Estimator],
        teacher: Teacher | None = None,
        max_rounds: int = 5,
        filter: str = "confidence",
        min_confidence: float = 0.8,
        agreement_tol: float = 3.0,
        pseudo_source: str = "auto",
        max_pseudo: int | None = None,
        accept_frac: float | None = None,
        balance_classes: bool = False,
        pseudo_weight: float = 1.0,
        hard: bool = False,
        patience: int = 1,
        min_delta: float = 0.0,
        metric: str = "spearman",
        ensemble: bool = False,
        scale: LabelScale | None = None,
        n_boot: int = 1000,
        out_dir: str | Path | None = None,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if filter not in FILTERS:
            raise ConfigError(f"filter '{filter}' is unknown; expected one of {', '.join(FILTERS)}.")
        if pseudo_source not in SOURCES:
            raise ConfigError(f"pseudo_source '{pseudo_source}' is unknown; expected one of {', '.join(SOURCES)}.")
        if max_rounds < 0 or patience < 1:
            raise ConfigError(f"max_rounds={max_rounds}, patience={patience}; expected max_rounds >= 0, patience >= 1.")
        if not 0 < pseudo_weight <= 1:
            raise ConfigError(f"pseudo_weight={pseudo_weight}; expected 0 < pseudo_weight <= 1.")
        if filter == "agreement" and teacher is None:
            raise ConfigError(
                "the 'agreement' filter compares the teacher with the model, and there is no teacher.",
                fix="Pass a teacher (CLI: --teacher with PHQWATCH_TEACHER_* set) or use filter='confidence'.",
            )
        self.estimator_factory = estimator_factory
        self.teacher = teacher
        self.max_rounds = max_rounds
        self.filter = filter
        self.min_confidence = min_confidence
        self.agreement_tol = agreement_tol
        self.pseudo_source = pseudo_source
        self.max_pseudo = max_pseudo
        self.accept_frac = accept_frac
        self.balance_classes = balance_classes
        if accept_frac is not None and not 0 < accept_frac <= 1:
            raise ConfigError(f"accept_frac={accept_frac}; expected 0 < accept_frac <= 1.")
        self.pseudo_weight = pseudo_weight
        self.hard = hard
        self.patience = patience
        self.min_delta = min_delta
        self.metric = metric
        self.ensemble = ensemble
        self.scale = scale or LabelScale()
        self.n_boot = n_boot
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.seed = seed
        self.progress = progress

    # ---- small helpers ----------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        log.info(msg)
        if self.progress is not None:
            self.progress(msg)

    def _better(self, a: float, b: float) -> bool:
        """Whether `a` beats `b` by more than min_delta."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return (b - a > self.min_delta) if self.metric in LOWER_IS_BETTER else (a - b > self.min_delta)

    def _evaluate(self, model: PHQ9Estimator, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
        from phqwatch.evaluation import ordinal_metrics, phq9_metrics

        pred, low, high = model.predict_interval(texts)
        if self.scale.ordinal:
            return ordinal_metrics(
                labels,
                pred,
                n_classes=self.scale.n_classes,
                n_boot=self.n_boot,
                seed=self.seed,
                class_names=list(self.scale.class_names) if self.scale.class_names else None,
            )
        return phq9_metrics(labels, pred, low, high, n_boot=self.n_boot, seed=self.seed)

    def _fit(
        self,
        texts: list[str],
        labels: np.ndarray,
        n_labeled: int,
        sources: list[str] | None,
    ) -> tuple[PHQ9Estimator, str]:
        """Fit a fresh estimator; labeled rows come first. Returns (model, how pseudolabels were weighted)."""
        model = self.estimator_factory()
        n_pseudo = len(texts) - n_labeled
        kw: dict[str, Any] = {} if sources is None else {"sources": sources}
        if n_pseudo == 0 or self.pseudo_weight == 1.0:
            return model.fit(texts, labels, **kw), "equal"
        if _fit_accepts_weights(model):
            w = np.r_[np.ones(n_labeled), np.full(n_pseudo, self.pseudo_weight)]
            return model.fit(texts, labels, sample_weight=w, **kw), f"sample_weight {self.pseudo_weight:g}"
        k = max(1, round(1 / self.pseudo_weight))
        idx = np.r_[np.tile(np.arange(n_labeled), k), np.arange(n_labeled, len(texts))]
        kw = {} if sources is None else {"sources": [sources[i] for i in idx]}
        model.fit([texts[i] for i in idx], labels[idx], **kw)
        return model, f"labeled rows replicated x{k} (estimator takes no sample_weight)"

    def _quota(self, r: int, n_unlabeled: int) -> int | None:
        """Most pseudolabels round r may accept: min(max_pseudo, r * accept_frac * n) (a growing curriculum)."""
        caps = []
        if self.max_pseudo is not None:
            caps.append(self.max_pseudo)
        if self.accept_frac is not None:
            caps.append(int(round(min(1.0, r * self.accept_frac) * n_unlabeled)))
        if self.balance_classes and not caps:
            caps.append(n_unlabeled)
        return min(caps) if caps else None

    # ---- the rounds -------------------------------------------------------------------------
    def run(
        self,
        labeled_texts: Sequence[str],
        labels: Sequence[float],
        unlabeled_texts: Mapping[str, str] | Sequence[str],
        *,
        heldout: tuple[Sequence[str], Sequence[float]],
        test: tuple[Sequence[str], Sequence[float]] | None = None,
        calib: tuple[Sequence[str], Sequence[float]] | None = None,
        labeled_sources: Sequence[str] | None = None,
    ) -> SelfTrainResult:
        """Run round 0 and up to `max_rounds` self-training rounds; see `self_train`."""
        t_start = time.perf_counter()
        L_texts = list(labeled_texts)
        L_y = np.asarray(labels, dtype=float)
        if len(L_texts) != len(L_y):
            raise InputError(f"{len(L_texts)} labeled texts but {len(L_y)} labels", fix="Align texts and labels.")
        self.scale.check(L_y, "labels")
        U_ids, U_texts = _ids_texts(unlabeled_texts, "unlabeled")
        H_texts, H_y = list(heldout[0]), np.asarray(heldout[1], dtype=float)
        if len(H_texts) != len(H_y) or len(H_texts) < 2:
            raise InputError("heldout must be (texts, labels) of equal length, at least 2", field="heldout")
        self.scale.check(H_y, "heldout labels", integer=True)
        T = None
        if test is not None:
            T = (list(test[0]), np.asarray(test[1], dtype=float))
            self.scale.check(T[1], "test labels", integer=True)
        C_texts, C_y = (H_texts, H_y) if calib is None else (list(calib[0]), np.asarray(calib[1], dtype=float))
        if self.scale.source is not None and labeled_sources is None:  # ordinal codes of one source
            labeled_sources = [self.scale.source] * len(L_texts)
        L_src = None if labeled_sources is None else list(labeled_sources)
        if L_src is not None and len(L_src) != len(L_texts):
            raise InputError(f"labeled_sources has {len(L_src)} entries for {len(L_texts)} texts")
        pseudo_src = self.scale.source or (L_src[0] if L_src else None)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)

        self._say(
            f"self-training: {len(L_texts)} labeled, {len(U_texts)} unlabeled, {len(H_texts)} held out; "
            f"filter={self.filter}, max_rounds={self.max_rounds}, metric={self.metric}"
        )
        rounds: list[RoundResult] = []
        models: list[PHQ9Estimator] = []

        def finish_round(
            r: int, model: PHQ9Estimator, fr: FilterResult | None, extra: dict[str, Any], timings: dict[str, float]
        ) -> RoundResult:
            t0 = time.perf_counter()
            model.calibrate_interval(C_texts, self.scale.to_total(C_y))
            held = self._evaluate(model, H_texts, H_y)
            tst = None if T is None else self._evaluate(model, T[0], T[1])
            timings["eval_s"] = time.perf_counter() - t0
            value = _metric_value(held, self.metric)
            seen = [x.metric for x in rounds if not math.isnan(x.metric)]
            pick = min if self.metric in LOWER_IS_BETTER else max
            best_before = pick(seen) if seen else math.nan
            improved = r == 0 or self._better(value, best_before)
            res = RoundResult(
                round=r,
                n_labeled=len(L_texts),
                n_unlabeled=len(U_texts),
                n_pseudo_accepted=0 if fr is None else fr.n_accepted,
                reasons={} if fr is None else fr.reasons(),
                pseudo_source=extra.get("source"),
                pseudo_stats=extra,
                metric=value,
                heldout=held,
                test=tst,
                improved=improved,
                timings_s={k: round(v, 3) for k, v in timings.items()},
            )
            if self.out_dir is not None:
                t1 = time.perf_counter()
                rdir = self.out_dir / f"round_{r}"
                rdir.mkdir(parents=True, exist_ok=True)
                res.model_dir = str(
                    model.save(
                        rdir / "model",
                        metadata={
                            "selftrain_round": r,
                            "labels": (
                                "administered labels only (round 0)"
                                if r == 0
                                else f"administered labels + {res.n_pseudo_accepted} pseudolabels "
                                f"({extra.get('source')}, filter {self.filter})"
                            ),
                            "metrics": {"heldout": {self.metric: value}},
                        },
                    )
                )
                (rdir / "metrics.json").write_text(
                    json.dumps({"round": r, "heldout": held, "test": tst, **res.brief()}, indent=2, allow_nan=False)
                    + "\n",
                    encoding="utf-8",
                )
                res.timings_s["save_s"] = round(time.perf_counter() - t1, 3)
            res.timings_s["total_s"] = round(sum(v for k, v in res.timings_s.items() if k != "total_s"), 3)
            rounds.append(res)
            models.append(model)
            rej = ", ".join(f"{k} {v}" for k, v in res.reasons.items() if k != "accepted" and v)
            self._say(
                f"round {r}: {self.metric} {value:.4f}{' (improved)' if improved and r else ''}; "
                f"pseudolabels accepted {res.n_pseudo_accepted}/{len(U_texts) if r else 0}"
                f"{' (rejected: ' + rej + ')' if rej else ''}; {res.timings_s['total_s']:.1f}s"
            )
            return res

        # round 0: administered labels only
        t0 = time.perf_counter()
        kw = {} if L_src is None else {"sources": L_src}
        m0 = self.estimator_factory().fit(L_texts, L_y, **kw)
        finish_round(0, m0, None, {"source": None}, {"fit_s": time.perf_counter() - t0})

        t_scores: TeacherScores | None = None
        teacher_s = 0.0
        if self.teacher is not None and self.max_rounds > 0 and U_texts:
            t0 = time.perf_counter()
            self._say(f"teacher: rating {len(U_texts)} unlabeled users")
            t_scores = teacher_scores(self.teacher, U_ids, U_texts)
            teacher_s = time.perf_counter() - t0
            self._say(f"teacher: {t_scores.n_scored} of {len(U_texts)} scored ({teacher_s:.1f}s)")

        stopped = "max_rounds"
        best = 0
        bad = 0
        if not U_texts and self.max_rounds > 0:
            stopped = "no unlabeled users"
        for r in range(1, self.max_rounds + 1 if U_texts else 1):
            timings: dict[str, float] = {"teacher_s": teacher_s if r == 1 else 0.0}
            t0 = time.perf_counter()
            prev = models[-1]
            shares = None
            if self.balance_classes:
                shares = np.bincount(
                    class_of(self.scale.to_total(L_y), self.scale.boundaries), minlength=self.scale.n_classes
                ).astype(float)
            m_score = prev.predict(U_texts)
            q = float(getattr(prev, "conformal_q_", math.nan))
            m_conf = interval_confidence(m_score, q if math.isfinite(q) else 0.0, self.scale.boundaries)
            fr = filter_pseudolabels(
                model_score=m_score,
                teacher=t_scores,
                model_confidence=m_conf,
                how=self.filter,
                source=self.pseudo_source,
                min_confidence=self.min_confidence,
                agreement_tol=self.agreement_tol,
                max_accept=self._quota(r, len(U_texts)),
                class_shares=shares,
                hard=self.hard,
                boundaries=self.scale.boundaries,
            )
            train_label = np.full(len(U_texts), np.nan)
            train_label[fr.accepted] = self.scale.to_label(fr.pseudolabel[fr.accepted], hard=self.hard)
            timings["pseudolabel_s"] = time.perf_counter() - t0
            acc = np.flatnonzero(fr.accepted)
            source = self.pseudo_source if self.pseudo_source != "auto" else ("teacher" if t_scores else "model")
            extra: dict[str, Any] = {"source": source, "interval_halfwidth": None if not math.isfinite(q) else q}
            if self.scale.ordinal:
                extra["accepted_class_counts"] = np.bincount(
                    train_label[acc].astype(int), minlength=self.scale.n_classes
                ).tolist()
            elif len(acc):
                extra["accepted_mean"] = float(np.mean(train_label[acc]))
                extra["accepted_std"] = float(np.std(train_label[acc]))
            if self.out_dir is not None:
                self._write_pseudo(
                    self.out_dir / f"round_{r}" / "pseudolabels.csv", U_ids, t_scores, m_score, fr, train_label
                )
            if len(acc) == 0:
                self._say(f"round {r}: no pseudolabel passed the filter ({fr.reasons()}); stopping")
                stopped = "no pseudolabels accepted"
                break
            t0 = time.perf_counter()
            texts = L_texts + [U_texts[i] for i in acc]
            y = np.r_[L_y, train_label[acc]]
            src = None if L_src is None or pseudo_src is None else L_src + [pseudo_src] * len(acc)
            model, weighting = self._fit(texts, y, len(L_texts), src)
            extra["weighting"] = weighting
            timings["fit_s"] = time.perf_counter() - t0
            res = finish_round(r, model, fr, extra, timings)
            if res.improved:
                best, bad = r, 0
            else:
                bad += 1
                if bad >= self.patience:
                    stopped = f"held-out {self.metric} did not improve for {bad} round(s)"
                    self._say(f"stopping: {stopped}")
                    break

        ens_model = None
        ens_info: dict[str, Any] | None = None
        if self.ensemble and best > 0:
            from phqwatch.training.ensemble import MeanEnsemble

            t0 = time.perf_counter()
            ens_model = MeanEnsemble([models[0], models[best]])
            ens_model.calibrate_interval(C_texts, self.scale.to_total(C_y))
            held = self._evaluate(ens_model, H_texts, H_y)
            tst = None if T is None else self._evaluate(ens_model, T[0], T[1])
            ens_info = {
                "members": [0, best],
                "metric": _metric_value(held, self.metric),
                "heldout": held,
                "test": tst,
                "eval_s": round(time.perf_counter() - t0, 3),
            }
            if self.out_dir is not None:
                ens_info["model_dir"] = str(ens_model.save(self.out_dir / "ensemble"))
            self._say(f"ensemble of rounds 0 and {best}: {self.metric} {ens_info['metric']:.4f}")
        elif self.ensemble:
            ens_info = {"skipped": "no pseudolabel round beat round 0 on the held-out split"}

        summary = self._summary(rounds, best, stopped, ens_info, time.perf_counter() - t_start, t_scores)
        if self.out_dir is not None:
            (self.out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", "utf-8")
            try:
                from phqwatch.training.selftrain_plot import plot_rounds

                plot_rounds(summary, self.out_dir / PLOT_FILE)
            except ImportError as exc:  # matplotlib missing: say so, keep the JSON
                self._say(f"no plot: {exc}")
        self._say(
            f"done: best round {best} ({self.metric} {rounds[best].metric:.4f} vs round 0 {rounds[0].metric:.4f}); "
            f"stopped: {stopped}"
        )
        return SelfTrainResult(
            rounds=rounds,
            best_round=best,
            best_model=models[best],
            baseline_model=models[0],
            stopped=stopped,
            ensemble_model=ens_model,
            summary=summary,
            models=models,
        )

    def _write_pseudo(
        self,
        path: Path,
        ids: list[str],
        t: TeacherScores | None,
        m_score: np.ndarray,
        fr: FilterResult,
        train_label: np.ndarray,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)

        def num(v: float) -> str:
            return "" if v is None or not math.isfinite(v) else f"{v:.4f}"

        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(PSEUDO_COLUMNS)
            for i, uid in enumerate(ids):
                w.writerow(
                    [
                        uid,
                        "" if t is None else num(t.score[i]),
                        "" if t is None else num(t.confidence[i]),
                        "" if t is None else t.status[i],
                        num(float(m_score[i])),
                        num(float(fr.pseudolabel[i])),
                        num(float(train_label[i])),
                        num(float(fr.confidence[i])),
                        int(fr.accepted[i]),
                        fr.reason[i],
                    ]
                )

    def _summary(
        self,
        rounds: list[RoundResult],
        best: int,
        stopped: str,
        ens: dict[str, Any] | None,
        wall_s: float,
        t: TeacherScores | None,
    ) -> dict[str, Any]:
        return {
            "config": {
                "max_rounds": self.max_rounds,
                "filter": self.filter,
                "min_confidence": self.min_confidence,
                "agreement_tol": self.agreement_tol,
                "pseudo_source": self.pseudo_source,
                "max_pseudo": self.max_pseudo,
                "accept_frac": self.accept_frac,
                "balance_classes": self.balance_classes,
                "pseudo_weight": self.pseudo_weight,
                "hard": self.hard,
                "patience": self.patience,
                "min_delta": self.min_delta,
                "metric": self.metric,
                "metric_direction": "lower" if self.metric in LOWER_IS_BETTER else "higher",
                "scale": {"source": self.scale.source, "boundaries": list(self.scale.boundaries)},
                "teacher": None
                if self.teacher is None
                else getattr(self.teacher, "__name__", type(self.teacher).__name__),
                "n_boot": self.n_boot,
                "seed": self.seed,
            },
            "teacher": None if t is None else {"n_scored": t.n_scored, "column": t.column, "run": t.stats},
            "best_round": best,
            "stopped": stopped,
            "wall_s": round(wall_s, 3),
            "rounds": [{**r.brief(), "heldout": r.heldout, "test": r.test} for r in rounds],
            "ensemble": ens,
            "notes": [
                "Round 0 is trained on administered labels only; later rounds add accepted pseudolabels.",
                "The held-out split chooses the best round and calibrates the intervals; report the test split "
                "(when given) as the unbiased estimate.",
            ],
        }


def self_train(
    labeled_texts: Sequence[str],
    labels: Sequence[float],
    unlabeled_texts: Mapping[str, str] | Sequence[str],
    *,
    estimator_factory: Callable[[], PHQ9Estimator],
    heldout: tuple[Sequence[str], Sequence[float]],
    teacher: Teacher | None = None,
    test: tuple[Sequence[str], Sequence[float]] | None = None,
    calib: tuple[Sequence[str], Sequence[float]] | None = None,
    labeled_sources: Sequence[str] | None = None,
    **config: Any,
) -> SelfTrainResult:
    """Self-train an estimator on administered labels plus filtered pseudolabels; keep the best round.

    labeled_texts, labels: the administered users (PHQ-9 totals, or codes with `scale=LabelScale(source)`).
    unlabeled_texts: texts (or user_id -> text) without labels.
    estimator_factory: zero-argument callable returning a fresh, unfitted estimator (e.g. CpuEstimator).
    heldout: (texts, labels) of administered users never trained on: chooses the best round, stops
        training, calibrates intervals (unless `calib` is given). `test`: reported each round, never used.
    teacher: None (model-only), a callable user_id->text mapping -> scores, or a pseudolabel run/frame.
    Config (SelfTrainer): max_rounds=5, filter="confidence"|"agreement"|"none", min_confidence=0.8
        (share of the model's conformal interval inside its class, or the teacher's own confidence),
        agreement_tol=3.0 (PHQ-9 points), pseudo_source="auto"|"teacher"|"model"|"mean", max_pseudo=None,
        accept_frac=None (round r accepts at most r * accept_frac of the unlabeled users, most confident
        first: a growing curriculum), balance_classes=False (split that quota by the administered class
        shares),
        pseudo_weight=1.0 (< 1: sample_weight if the estimator takes it, else labeled rows replicated),
        hard=False, patience=1, min_delta=0.0, metric="spearman", ensemble=False, scale=LabelScale(),
        n_boot=1000, out_dir=None, seed=0, progress=None (a callable receiving progress lines).
    """
    trainer = SelfTrainer(estimator_factory=estimator_factory, teacher=teacher, **config)
    return trainer.run(
        labeled_texts, labels, unlabeled_texts, heldout=heldout, test=test, calib=calib, labeled_sources=labeled_sources
    )


__all__ = ["LabelScale", "RoundResult", "SelfTrainResult", "SelfTrainer", "self_train"]
