"""Iterative self-training: administered labels first, then teacher and/or model pseudolabels, round by round.

    from phqwatch.training import SelfTrainConfig, self_train
    res = self_train(texts, totals, unlabeled, estimator_factory=CpuEstimator,
                     heldout=(val_texts, val_totals), out_dir="selftrain/",
                     config=SelfTrainConfig(max_rounds=3))          # or the flat options: max_rounds=3
    res.best_model.predict(new_texts); res.summary["rounds"]

Round 0 fits on the administered labels only (a plain fit). Each next round labels every unlabeled user
again with the teacher and/or the previous round's model, keeps the pseudolabels that pass the filter
(confidence, teacher-model agreement, or none), retrains on administered + accepted pseudolabels and
evaluates on the held-out administered split (phqwatch.evaluation, bootstrap CIs). Training stops when the
held-out selection metric has not improved for `patience` rounds. Optionally the ground-truth-only and the
best pseudolabel model are averaged (ensemble). With `out_dir`, every round keeps its model folder,
pseudolabels (CSV: ids and numbers only, never text) and metrics (JSON); plus summary.json and a plot.

`SelfTrainer.run` checks its inputs (`SelfTrainData.build`), then runs steps, each a method that can be
called (and tested) alone: `fit_baseline` (round 0), `rate_unlabeled` (the teacher, once), `pseudolabel`
(score the unlabeled users with the previous model, `select_confident`, training labels), `fit_round`,
`evaluate_round` (calibrate, held-out/test metrics, improved or not), `save_round`, `fit_ensemble` and
`summarize`. Options live in `SelfTrainConfig` / `PseudolabelConfig` (`selftrain_config`).

Labels live on one of two scales (`LabelScale`): PHQ-9 totals (administered questionnaires; evaluated with
`phq9_metrics`), or the ordinal codes of one source (public proxy sets; evaluated with `ordinal_metrics`,
pseudolabels turned into that source's codes through its weak PHQ-9 class edges).

Over 400 lines because the trainer's steps are one workflow read top to bottom; its data types, options and
file handling already live in `selftrain_data`, `selftrain_config` and `selftrain_files`.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeGuard

import numpy as np

from phqwatch.errors import ConfigError
from phqwatch.models.base import Labels, PHQ9Estimator
from phqwatch.training.label_scale import LabelScale
from phqwatch.training.pseudolabels import (
    FilterResult,
    Teacher,
    TeacherScores,
    class_of,
    filter_pseudolabels,
    interval_confidence,
    teacher_scores,
)
from phqwatch.training.selftrain_config import LOWER_IS_BETTER, PseudolabelConfig, SelfTrainConfig
from phqwatch.training.selftrain_data import (
    PLOT_FILE,
    PSEUDO_COLUMNS,
    SUMMARY_FILE,
    Pseudolabels,
    RoundResult,
    SelfTrainData,
    SelfTrainResult,
    metric_value,
    write_pseudolabels,
)

log = logging.getLogger(__name__)


class _WeightedFit(Protocol):
    """An estimator whose ``fit`` also takes per-row ``sample_weight``."""

    def fit(self, X: Sequence[str], y: Labels, *, sample_weight: np.ndarray, **kw: Any) -> PHQ9Estimator: ...


def _fit_accepts_weights(est: PHQ9Estimator) -> TypeGuard[_WeightedFit]:
    try:
        return "sample_weight" in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def _elapsed(t0: float) -> float:
    return time.perf_counter() - t0


class SelfTrainer:
    """Self-training: `config` says how, `run` does the rounds. See the module docstring and `self_train`.

    estimator_factory: zero-argument callable returning a fresh, unfitted estimator. teacher: None
    (model-only), a callable user_id->text mapping -> scores, or a pseudolabel run/frame. out_dir: where
    each round's folder, summary.json and the plot go (None: nothing is written). progress: a callable
    receiving progress lines. Flat options (max_rounds=3, filter="none", ...) are still taken and
    replace those fields of `config` (`SelfTrainConfig.from_options`).
    """

    def __init__(
        self,
        *,
        estimator_factory: Callable[[], PHQ9Estimator],
        config: SelfTrainConfig | None = None,
        teacher: Teacher | None = None,
        out_dir: str | Path | None = None,
        progress: Callable[[str], None] | None = None,
        **options: Any,
    ) -> None:
        config = config or SelfTrainConfig()
        if options:
            config = SelfTrainConfig.from_options(config, **options)
        if config.pseudo.filter == "agreement" and teacher is None:
            raise ConfigError(
                "the 'agreement' filter compares the teacher with the model, and there is no teacher.",
                fix="Pass a teacher (CLI: --teacher with PHQWATCH_TEACHER_* set) or use filter='confidence'.",
            )
        self.estimator_factory = estimator_factory
        self.config = config
        self.teacher = teacher
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.progress = progress

    @property
    def pseudo(self) -> PseudolabelConfig:
        return self.config.pseudo

    @property
    def scale(self) -> LabelScale:
        return self.config.scale

    def _say(self, msg: str) -> None:
        log.info(msg)
        if self.progress is not None:
            self.progress(msg)

    # ---- step: round 0 and the teacher ------------------------------------------------------
    def fit_baseline(self, data: SelfTrainData) -> PHQ9Estimator:
        """Round 0: a fresh estimator fitted on the administered labels only (a plain fit)."""
        kw = {} if data.sources is None else {"sources": data.sources}
        return self.estimator_factory().fit(data.texts, data.labels, **kw)

    def rate_unlabeled(self, data: SelfTrainData) -> TeacherScores | None:
        """The teacher's scores of every unlabeled user (None without a teacher, rounds or unlabeled users)."""
        if self.teacher is None or self.config.max_rounds == 0 or not data.unlabeled_texts:
            return None
        n = len(data.unlabeled_texts)
        t0 = time.perf_counter()
        self._say(f"teacher: rating {n} unlabeled users")
        scores = teacher_scores(self.teacher, data.unlabeled_ids, data.unlabeled_texts)
        self._say(f"teacher: {scores.n_scored} of {n} scored ({_elapsed(t0):.1f}s)")
        return scores

    # ---- step: pseudolabels -----------------------------------------------------------------
    def select_confident(
        self,
        r: int,
        data: SelfTrainData,
        model_score: np.ndarray,
        model_confidence: np.ndarray,
        teacher: TeacherScores | None,
    ) -> FilterResult:
        """Round r's pseudolabel for every unlabeled user, and whether the filter and the quota keep it."""
        p, scale = self.pseudo, self.scale
        shares = None
        if p.balance_classes:
            shares = np.bincount(
                class_of(scale.to_total(data.labels), scale.boundaries), minlength=scale.n_classes
            ).astype(float)
        return filter_pseudolabels(
            model_score=model_score,
            teacher=teacher,
            model_confidence=model_confidence,
            how=p.filter,
            source=p.source,
            min_confidence=p.min_confidence,
            agreement_tol=p.agreement_tol,
            max_accept=p.quota(r, len(data.unlabeled_texts)),
            class_shares=shares,
            hard=p.hard,
            boundaries=scale.boundaries,
        )

    def pseudolabel(
        self, r: int, previous: PHQ9Estimator, data: SelfTrainData, teacher: TeacherScores | None = None
    ) -> Pseudolabels:
        """Round r's pseudolabels: the previous round's model scores every unlabeled user (its conformal
        interval gives the confidence), `select_confident` keeps some, and those become training labels."""
        m_score = previous.predict(data.unlabeled_texts)
        q = float(getattr(previous, "conformal_q_", math.nan))
        m_conf = interval_confidence(m_score, q if math.isfinite(q) else 0.0, self.scale.boundaries)
        fr = self.select_confident(r, data, m_score, m_conf, teacher)
        train_label = np.full(len(data.unlabeled_texts), np.nan)
        train_label[fr.accepted] = self.scale.to_label(fr.pseudolabel[fr.accepted], hard=self.pseudo.hard)
        source = self.pseudo.source if self.pseudo.source != "auto" else ("teacher" if teacher else "model")
        return Pseudolabels(m_score, q, fr, train_label, source)

    # ---- step: fit --------------------------------------------------------------------------
    def fit_round(self, data: SelfTrainData, pseudo: Pseudolabels) -> tuple[PHQ9Estimator, str]:
        """A fresh estimator on administered + accepted pseudolabels. Returns (model, how pseudolabels were
        weighted): equally, by `sample_weight` when the estimator takes it, else by replicating labeled rows."""
        acc = pseudo.accepted
        texts = data.texts + [data.unlabeled_texts[i] for i in acc]
        y = np.r_[data.labels, pseudo.train_label[acc]]
        sources = None
        if data.sources is not None and data.pseudo_source is not None:
            sources = data.sources + [data.pseudo_source] * len(acc)
        return self._fit(texts, y, len(data.texts), sources)

    def _fit(
        self, texts: list[str], labels: np.ndarray, n_labeled: int, sources: list[str] | None
    ) -> tuple[PHQ9Estimator, str]:
        """Fit a fresh estimator; labeled rows come first. Returns (model, how pseudolabels were weighted)."""
        model = self.estimator_factory()
        weight = self.pseudo.weight
        n_pseudo = len(texts) - n_labeled
        kw: dict[str, Any] = {} if sources is None else {"sources": sources}
        if n_pseudo == 0 or weight == 1.0:
            return model.fit(texts, labels, **kw), "equal"
        if _fit_accepts_weights(model):
            w = np.r_[np.ones(n_labeled), np.full(n_pseudo, weight)]
            return model.fit(texts, labels, sample_weight=w, **kw), f"sample_weight {weight:g}"
        k = max(1, round(1 / weight))
        idx = np.r_[np.tile(np.arange(n_labeled), k), np.arange(n_labeled, len(texts))]
        kw = {} if sources is None else {"sources": [sources[i] for i in idx]}
        model.fit([texts[i] for i in idx], labels[idx], **kw)
        return model, f"labeled rows replicated x{k} (estimator takes no sample_weight)"

    # ---- step: evaluate ---------------------------------------------------------------------
    def metrics(self, model: PHQ9Estimator, texts: list[str], labels: np.ndarray) -> dict[str, Any]:
        """Metrics with bootstrap CIs on this config's scale (ordinal or PHQ-9)."""
        from phqwatch.evaluation import ordinal_metrics, phq9_metrics

        cfg, scale = self.config, self.scale
        pred, low, high = model.predict_interval(texts)
        if scale.ordinal:
            return ordinal_metrics(
                labels,
                pred,
                n_classes=scale.n_classes,
                n_boot=cfg.n_boot,
                seed=cfg.seed,
                class_names=list(scale.class_names) if scale.class_names else None,
            )
        return phq9_metrics(labels, pred, low, high, n_boot=cfg.n_boot, seed=cfg.seed)

    def evaluate(self, model: PHQ9Estimator, data: SelfTrainData) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Calibrate the model's interval on the calibration users, then (held-out, test) metrics."""
        model.calibrate_interval(data.calib_texts, self.scale.to_total(data.calib_labels))
        held = self.metrics(model, data.heldout_texts, data.heldout_labels)
        tst = None if data.test is None else self.metrics(model, *data.test)
        return held, tst

    def evaluate_round(
        self,
        r: int,
        model: PHQ9Estimator,
        data: SelfTrainData,
        *,
        previous: Sequence[RoundResult] = (),
        pseudo: Pseudolabels | None = None,
        stats: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
    ) -> RoundResult:
        """Round r's result: held-out (and test) metrics, and whether its selection metric beats every
        `previous` round's by more than min_delta (round 0 always counts as improved)."""
        t0 = time.perf_counter()
        held, tst = self.evaluate(model, data)
        timings = {**(timings or {}), "eval_s": _elapsed(t0)}
        value = metric_value(held, self.config.metric)
        improved = r == 0 or self.config.better(value, self.config.best_of([x.metric for x in previous]))
        fr = None if pseudo is None else pseudo.filtered
        stats = stats if stats is not None else ({"source": None} if pseudo is None else pseudo.stats(self.scale))
        res = RoundResult(
            round=r,
            n_labeled=len(data.texts),
            n_unlabeled=len(data.unlabeled_texts),
            n_pseudo_accepted=0 if fr is None else fr.n_accepted,
            reasons={} if fr is None else fr.reasons(),
            pseudo_source=stats.get("source"),
            pseudo_stats=stats,
            metric=value,
            heldout=held,
            test=tst,
            improved=improved,
            timings_s={k: round(v, 3) for k, v in timings.items()},
        )
        res.timings_s["total_s"] = round(sum(res.timings_s.values()), 3)
        return res

    # ---- step: artifacts --------------------------------------------------------------------
    def save_round(self, res: RoundResult, model: PHQ9Estimator) -> Path | None:
        """Write round_<r>/model and round_<r>/metrics.json under out_dir (nothing without out_dir)."""
        if self.out_dir is None:
            return None
        t0 = time.perf_counter()
        r, metric = res.round, self.config.metric
        rdir = self.out_dir / f"round_{r}"
        rdir.mkdir(parents=True, exist_ok=True)
        labels = (
            "administered labels only (round 0)"
            if r == 0
            else f"administered labels + {res.n_pseudo_accepted} pseudolabels "
            f"({res.pseudo_source}, filter {self.pseudo.filter})"
        )
        meta = {"selftrain_round": r, "labels": labels, "metrics": {"heldout": {metric: res.metric}}}
        res.model_dir = str(model.save(rdir / "model", metadata=meta))
        (rdir / "metrics.json").write_text(
            json.dumps({"round": r, "heldout": res.heldout, "test": res.test, **res.brief()}, indent=2, allow_nan=False)
            + "\n",
            encoding="utf-8",
        )
        res.timings_s["save_s"] = round(_elapsed(t0), 3)
        res.timings_s["total_s"] = round(sum(v for k, v in res.timings_s.items() if k != "total_s"), 3)
        return rdir

    def save_pseudolabels(
        self, r: int, data: SelfTrainData, pseudo: Pseudolabels, teacher: TeacherScores | None
    ) -> Path | None:
        """Write round_<r>/pseudolabels.csv under out_dir: ids and numbers only, never text."""
        if self.out_dir is None:
            return None
        path = self.out_dir / f"round_{r}" / "pseudolabels.csv"
        write_pseudolabels(path, data.unlabeled_ids, teacher, pseudo)
        return path

    def _report_round(self, res: RoundResult) -> None:
        rej = ", ".join(f"{k} {v}" for k, v in res.reasons.items() if k != "accepted" and v)
        r = res.round
        self._say(
            f"round {r}: {self.config.metric} {res.metric:.4f}{' (improved)' if res.improved and r else ''}; "
            f"pseudolabels accepted {res.n_pseudo_accepted}/{res.n_unlabeled if r else 0}"
            f"{' (rejected: ' + rej + ')' if rej else ''}; {res.timings_s['total_s']:.1f}s"
        )

    # ---- step: ensemble and summary ---------------------------------------------------------
    def fit_ensemble(
        self, models: Sequence[PHQ9Estimator], best: int, data: SelfTrainData
    ) -> tuple[PHQ9Estimator | None, dict[str, Any] | None]:
        """The mean of round 0 and the best round, calibrated and evaluated (when `ensemble` is on and a
        pseudolabel round won). Returns (model or None, its summary entry or None)."""
        if not self.config.ensemble:
            return None, None
        if best == 0:
            return None, {"skipped": "no pseudolabel round beat round 0 on the held-out split"}
        from phqwatch.training.ensemble import MeanEnsemble

        t0 = time.perf_counter()
        model = MeanEnsemble([models[0], models[best]])
        held, tst = self.evaluate(model, data)
        info: dict[str, Any] = {
            "members": [0, best],
            "metric": metric_value(held, self.config.metric),
            "heldout": held,
            "test": tst,
            "eval_s": round(_elapsed(t0), 3),
        }
        if self.out_dir is not None:
            info["model_dir"] = str(model.save(self.out_dir / "ensemble"))
        self._say(f"ensemble of rounds 0 and {best}: {self.config.metric} {info['metric']:.4f}")
        return model, info

    def summarize(
        self,
        rounds: list[RoundResult],
        best: int,
        stopped: str,
        ensemble: dict[str, Any] | None,
        wall_s: float,
        teacher: TeacherScores | None,
    ) -> dict[str, Any]:
        """The summary.json document: the flat config, the teacher's run, every round and the ensemble."""
        t_name = None if self.teacher is None else getattr(self.teacher, "__name__", type(self.teacher).__name__)
        return {
            "config": {**self.config.as_options(), "teacher": t_name},
            "teacher": None
            if teacher is None
            else {"n_scored": teacher.n_scored, "column": teacher.column, "run": teacher.stats},
            "best_round": best,
            "stopped": stopped,
            "wall_s": round(wall_s, 3),
            "rounds": [{**r.brief(), "heldout": r.heldout, "test": r.test} for r in rounds],
            "ensemble": ensemble,
            "notes": [
                "Round 0 is trained on administered labels only; later rounds add accepted pseudolabels.",
                "The held-out split chooses the best round and calibrates the intervals; report the test split "
                "(when given) as the unbiased estimate.",
            ],
        }

    def write_summary(self, summary: dict[str, Any]) -> None:
        """summary.json and the held-out-by-round plot under out_dir (the plot only with matplotlib)."""
        if self.out_dir is None:
            return
        (self.out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", "utf-8")
        try:
            from phqwatch.training.selftrain_plot import plot_rounds

            plot_rounds(summary, self.out_dir / PLOT_FILE)
        except ImportError as exc:  # matplotlib missing: say so, keep the JSON
            self._say(f"no plot: {exc}")

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
        cfg = self.config
        data = SelfTrainData.build(
            self.scale,
            (labeled_texts, labels),
            unlabeled_texts,
            heldout=heldout,
            test=test,
            calib=calib,
            labeled_sources=labeled_sources,
        )
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        n_unlabeled = len(data.unlabeled_texts)
        self._say(
            f"self-training: {len(data.texts)} labeled, {n_unlabeled} unlabeled, {len(data.heldout_texts)} held "
            f"out; filter={self.pseudo.filter}, max_rounds={cfg.max_rounds}, metric={cfg.metric}"
        )
        rounds: list[RoundResult] = []
        models: list[PHQ9Estimator] = []

        def finish(r: int, model: PHQ9Estimator, **kw: Any) -> RoundResult:
            res = self.evaluate_round(r, model, data, previous=rounds, **kw)
            self.save_round(res, model)
            rounds.append(res)
            models.append(model)
            self._report_round(res)
            return res

        t0 = time.perf_counter()
        finish(0, self.fit_baseline(data), timings={"fit_s": _elapsed(t0)})
        t0 = time.perf_counter()
        t_scores = self.rate_unlabeled(data)
        teacher_s = _elapsed(t0) if t_scores is not None else 0.0

        stopped, best, bad = "max_rounds", 0, 0
        if not n_unlabeled and cfg.max_rounds > 0:
            stopped = "no unlabeled users"
        for r in range(1, cfg.max_rounds + 1 if n_unlabeled else 1):
            timings: dict[str, float] = {"teacher_s": teacher_s if r == 1 else 0.0}
            t0 = time.perf_counter()
            pseudo = self.pseudolabel(r, models[-1], data, t_scores)
            timings["pseudolabel_s"] = _elapsed(t0)
            stats = pseudo.stats(self.scale)
            self.save_pseudolabels(r, data, pseudo, t_scores)
            if len(pseudo.accepted) == 0:
                self._say(f"round {r}: no pseudolabel passed the filter ({pseudo.filtered.reasons()}); stopping")
                stopped = "no pseudolabels accepted"
                break
            t0 = time.perf_counter()
            model, stats["weighting"] = self.fit_round(data, pseudo)
            timings["fit_s"] = _elapsed(t0)
            if finish(r, model, pseudo=pseudo, stats=stats, timings=timings).improved:
                best, bad = r, 0
                continue
            bad += 1
            if bad >= cfg.patience:
                stopped = f"held-out {cfg.metric} did not improve for {bad} round(s)"
                self._say(f"stopping: {stopped}")
                break

        ens_model, ens_info = self.fit_ensemble(models, best, data)
        summary = self.summarize(rounds, best, stopped, ens_info, _elapsed(t_start), t_scores)
        self.write_summary(summary)
        self._say(
            f"done: best round {best} ({cfg.metric} {rounds[best].metric:.4f} vs round 0 {rounds[0].metric:.4f}); "
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
    config: SelfTrainConfig | None = None,
    out_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> SelfTrainResult:
    """Self-train an estimator on administered labels plus filtered pseudolabels; keep the best round.

    labeled_texts, labels: the administered users (PHQ-9 totals, or codes with `scale=LabelScale(source)`).
    unlabeled_texts: texts (or user_id -> text) without labels.
    estimator_factory: zero-argument callable returning a fresh, unfitted estimator (e.g. CpuEstimator).
    heldout: (texts, labels) of administered users never trained on: chooses the best round, stops
        training, calibrates intervals (unless `calib` is given). `test`: reported each round, never used.
    teacher: None (model-only), a callable user_id->text mapping -> scores, or a pseudolabel run/frame.
    config: a `SelfTrainConfig` (defaults: max_rounds=5, patience=1, metric="spearman", ...; its `pseudo`
        a `PseudolabelConfig`: filter="confidence", min_confidence=0.8, ...). `options`: the same as flat
        keywords (max_rounds=3, filter="none", pseudo_weight=0.5, ...; see `SelfTrainConfig.from_options`),
        replacing those fields of `config`.
    out_dir: keep every round's model, pseudolabels and metrics there; progress: receives progress lines.
    """
    trainer = SelfTrainer(
        estimator_factory=estimator_factory,
        config=config,
        teacher=teacher,
        out_dir=out_dir,
        progress=progress,
        **options,
    )
    return trainer.run(
        labeled_texts, labels, unlabeled_texts, heldout=heldout, test=test, calib=calib, labeled_sources=labeled_sources
    )


__all__ = [
    "LOWER_IS_BETTER",
    "PLOT_FILE",
    "PSEUDO_COLUMNS",
    "SUMMARY_FILE",
    "LabelScale",
    "PseudolabelConfig",
    "Pseudolabels",
    "RoundResult",
    "SelfTrainConfig",
    "SelfTrainData",
    "SelfTrainResult",
    "SelfTrainer",
    "metric_value",
    "self_train",
    "write_pseudolabels",
]
