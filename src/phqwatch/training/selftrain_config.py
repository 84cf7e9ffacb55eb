"""Self-training options as typed, frozen config objects (with defaults), checked when they are built.

    from phqwatch.training import PseudolabelConfig, SelfTrainConfig
    cfg = SelfTrainConfig(max_rounds=3, metric="mae", pseudo=PseudolabelConfig(filter="none", weight=0.5))
    cfg = SelfTrainConfig.from_options(max_rounds=3, filter="none", pseudo_weight=0.5)  # the flat spelling

`SelfTrainConfig` says how rounds run, are judged and stop; `PseudolabelConfig` which pseudolabels a round
makes and keeps. The flat option names (`filter`, `pseudo_source`, `pseudo_weight`, ...) are those of
`self_train(**options)`, the CLI and `summary.json`'s "config".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from phqwatch.errors import ConfigError
from phqwatch.training.label_scale import LabelScale
from phqwatch.training.pseudolabels import FILTERS, SOURCES

#: Selection metrics where lower is better (everything else: higher is better).
LOWER_IS_BETTER = frozenset({"mae", "rmse"})


@dataclass(frozen=True)
class PseudolabelConfig:
    """Which pseudolabels a round makes and keeps, and how much they weigh in the fit.

    filter: "confidence" (the model's conformal interval, or the teacher's own confidence, at least
        `min_confidence` inside one class), "agreement" (teacher and model within `agreement_tol` PHQ-9
        points; needs a teacher) or "none".
    source: "auto" (the teacher when there is one, else the model), "teacher", "model" or "mean".
    max_pseudo: most pseudolabels per round. accept_frac: round r keeps at most r * accept_frac of the
        unlabeled users, most confident first (a growing curriculum). balance_classes: split that quota
        by the administered labels' class shares.
    weight: a pseudolabel's weight next to an administered label's (< 1: `sample_weight` when the
        estimator takes it, else the labeled rows are replicated). hard: train on class midpoints.
    """

    filter: str = "confidence"
    min_confidence: float = 0.8
    agreement_tol: float = 3.0
    source: str = "auto"
    max_pseudo: int | None = None
    accept_frac: float | None = None
    balance_classes: bool = False
    weight: float = 1.0
    hard: bool = False

    def __post_init__(self) -> None:
        if self.filter not in FILTERS:
            raise ConfigError(f"filter '{self.filter}' is unknown; expected one of {', '.join(FILTERS)}.")
        if self.source not in SOURCES:
            raise ConfigError(f"pseudo_source '{self.source}' is unknown; expected one of {', '.join(SOURCES)}.")
        if not 0 < self.weight <= 1:
            raise ConfigError(f"pseudo_weight={self.weight}; expected 0 < pseudo_weight <= 1.")
        if self.accept_frac is not None and not 0 < self.accept_frac <= 1:
            raise ConfigError(f"accept_frac={self.accept_frac}; expected 0 < accept_frac <= 1.")
        if self.max_pseudo is not None and self.max_pseudo < 0:
            raise ConfigError(f"max_pseudo={self.max_pseudo}; expected None or >= 0.")

    def quota(self, r: int, n_unlabeled: int) -> int | None:
        """Most pseudolabels round r may accept: min(max_pseudo, r * accept_frac * n) (a growing curriculum)."""
        caps = []
        if self.max_pseudo is not None:
            caps.append(self.max_pseudo)
        if self.accept_frac is not None:
            caps.append(int(round(min(1.0, r * self.accept_frac) * n_unlabeled)))
        if self.balance_classes and not caps:
            caps.append(n_unlabeled)
        return min(caps) if caps else None


#: Flat option name -> PseudolabelConfig field (the names of `self_train(**options)` and the CLI).
PSEUDO_OPTIONS = {
    "filter": "filter",
    "min_confidence": "min_confidence",
    "agreement_tol": "agreement_tol",
    "pseudo_source": "source",
    "max_pseudo": "max_pseudo",
    "accept_frac": "accept_frac",
    "balance_classes": "balance_classes",
    "pseudo_weight": "weight",
    "hard": "hard",
}


@dataclass(frozen=True)
class SelfTrainConfig:
    """How self-training runs, judges and stops its rounds; `pseudo` says which pseudolabels each round keeps.

    max_rounds: pseudolabel rounds after round 0 (0: round 0 only). patience: stop after this many rounds
    whose held-out `metric` did not beat the best so far by more than `min_delta`. metric: a key of the
    held-out metrics ("spearman", "mae", "qwk", "auc_by_cut.1", ...). ensemble: also average round 0 and
    the best round. scale: PHQ-9 totals (default) or one source's ordinal codes. n_boot, seed: the
    bootstrap of the metrics' CIs.
    """

    max_rounds: int = 5
    patience: int = 1
    min_delta: float = 0.0
    metric: str = "spearman"
    ensemble: bool = False
    scale: LabelScale = field(default_factory=LabelScale)
    n_boot: int = 1000
    seed: int = 0
    pseudo: PseudolabelConfig = field(default_factory=PseudolabelConfig)

    def __post_init__(self) -> None:
        if self.max_rounds < 0 or self.patience < 1:
            raise ConfigError(
                f"max_rounds={self.max_rounds}, patience={self.patience}; expected max_rounds >= 0, patience >= 1."
            )
        if not isinstance(self.pseudo, PseudolabelConfig) or not isinstance(self.scale, LabelScale):
            raise ConfigError("pseudo must be a PseudolabelConfig and scale a LabelScale.")

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    def better(self, a: float, b: float) -> bool:
        """Whether metric value `a` beats `b` by more than min_delta (NaN never beats; anything beats NaN)."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return (b - a > self.min_delta) if self.lower_is_better else (a - b > self.min_delta)

    def best_of(self, values: list[float]) -> float:
        """The best of the defined values (NaN when there is none)."""
        seen = [v for v in values if not math.isnan(v)]
        if not seen:
            return math.nan
        return min(seen) if self.lower_is_better else max(seen)

    @classmethod
    def from_options(cls, base: SelfTrainConfig | None = None, **options: Any) -> SelfTrainConfig:
        """`base` (default: the defaults) with flat options replaced: max_rounds=3, filter="none", ...

        Flat names are this class's fields and PSEUDO_OPTIONS' keys; an unknown name is a ConfigError."""
        base = base or cls()
        own = {f.name for f in dataclasses.fields(cls)} - {"pseudo"}
        unknown = sorted(set(options) - own - set(PSEUDO_OPTIONS) - {"pseudo"})
        if unknown:
            raise ConfigError(
                f"unknown self-training option(s): {', '.join(unknown)}",
                fix=f"Use one of: {', '.join(sorted(own | set(PSEUDO_OPTIONS)))}.",
            )
        pseudo = options.get("pseudo", base.pseudo)
        pseudo_kw = {PSEUDO_OPTIONS[k]: v for k, v in options.items() if k in PSEUDO_OPTIONS}
        if pseudo_kw:
            pseudo = dataclasses.replace(pseudo, **pseudo_kw)
        kw = {k: v for k, v in options.items() if k in own}
        if kw.get("scale", base.scale) is None:
            kw["scale"] = LabelScale()
        return dataclasses.replace(base, pseudo=pseudo, **kw)

    def as_options(self) -> dict[str, Any]:
        """The flat options (the "config" of summary.json, without the teacher)."""
        flat: dict[str, Any] = {"max_rounds": self.max_rounds}
        flat.update({k: getattr(self.pseudo, f) for k, f in PSEUDO_OPTIONS.items()})
        flat.update(
            {
                "patience": self.patience,
                "min_delta": self.min_delta,
                "metric": self.metric,
                "metric_direction": "lower" if self.lower_is_better else "higher",
                "scale": {"source": self.scale.source, "boundaries": list(self.scale.boundaries)},
                "ensemble": self.ensemble,
                "n_boot": self.n_boot,
                "seed": self.seed,
            }
        )
        return flat


__all__ = ["LOWER_IS_BETTER", "PSEUDO_OPTIONS", "PseudolabelConfig", "SelfTrainConfig"]
