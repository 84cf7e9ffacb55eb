"""`phqwatch train` and `phqwatch selftrain`: model folders from administered or proxy labels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phqwatch.cli.base import cli, friendly_errors, make_settings
from phqwatch.phq9 import RECALL_DAYS

if TYPE_CHECKING:
    from phqwatch.models.base import PHQ9Estimator

#: CLI option -> estimator hyperparameter, for the options that only some estimators take.
_HYPER = {
    "epochs": "epochs",
    "max_length": "max_length",
    "long_text": "long_text",
    "max_chunks": "max_chunks",
    "batch_size": "batch_size",
    "lora_rank": "lora_r",
    "finetune": "finetune",
    "learning_rate": "learning_rate",
    "backbone": "backbone",
}


def _make_estimator(name: str, options: dict[str, object], *, progress: bool) -> PHQ9Estimator:
    """The registered estimator `name` with the hyperparameters given on the command line."""
    from phqwatch.errors import InputError
    from phqwatch.models.registry import estimator_class

    cls = estimator_class(name)
    accepted = cls.accepted_keywords()
    kwargs: dict[str, Any] = {}  # each estimator's own hyperparameters, checked by its constructor
    for opt, param in _HYPER.items():
        value = options.get(opt)
        if value is None:
            continue
        if param not in accepted:
            flag = "--" + opt.replace("_", "-")
            raise InputError(
                f"{flag} does not apply to --estimator {name}",
                fix="Drop it, or use --estimator transformer (see docs/transformer.md).",
            )
        kwargs[param] = str(value) if isinstance(value, Path) else value
    if "progress" in accepted:
        kwargs["progress"] = progress
    return cls(**kwargs)


@cli.command()
@click.option("--dataset", default=None, help="Public proxy set to train on: depseverity, lt_edi, reddit_dr or all.")
@click.option("--transcripts", "transcripts_path", type=click.Path(path_type=Path), default=None, help="Transcripts.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None, help="PHQ-9 CSV.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--window-days", type=int, default=RECALL_DAYS, show_default=True, help="Days of text before each PHQ-9.")
@click.option("--include-assistant", is_flag=True, help="Also train on the app's turns.")
@click.option("--estimator", default="lexical-ridge", show_default=True, help="Registered estimator name.")
@click.option(
    "--backbone",
    type=click.Path(path_type=Path),
    default=None,
    help="Local Hugging Face model folder for --estimator transformer (never downloaded; see docs/transformer.md).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (transformer).")
@click.option("--max-length", type=click.IntRange(min=8), default=None, help="Tokens per sequence (transformer).")
@click.option(
    "--long-text",
    type=click.Choice(["chunk", "head_tail"]),
    default=None,
    help="Texts longer than --max-length: chunk and pool (read whole) or keep head + tail (transformer).",
)
@click.option("--max-chunks", type=click.IntRange(min=1), default=None, help="Most chunks per text (transformer).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Texts per training step (transformer).")
@click.option("--lora-rank", type=click.IntRange(min=1), default=None, help="LoRA adapter rank r (transformer).")
@click.option(
    "--finetune", type=click.Choice(["lora", "full", "head"]), default=None, help="What trains (transformer)."
)
@click.option("--learning-rate", type=float, default=None, help="Backbone learning rate (transformer).")
@click.option(
    "--limit-train",
    type=click.IntRange(min=2),
    default=None,
    help="Keep a random sample of this many rows of each training split (quick runs; metrics still on the "
    "full test splits).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the splits and the sample.")
@click.option("--n-boot", type=int, default=200, show_default=True, help="Bootstrap resamples for the card's CIs.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars (on stderr).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Root of the public data.")
@friendly_errors
def train(
    dataset: str | None,
    transcripts_path: Path | None,
    labels_path: Path | None,
    out_dir: Path,
    window_days: int,
    include_assistant: bool,
    estimator: str,
    limit_train: int | None,
    seed: int,
    n_boot: int,
    progress: bool,
    data_dir: Path | None,
    **hyper: object,
) -> None:
    """Train a model folder from your transcripts + administered PHQ-9s, or from public proxy data.

    Every estimator trains the same way (`phqwatch.training.supervised`): user-grouped train / calib /
    test splits, per-set targets (with --dataset, each set's own labels: one head per set, or each
    label's weak PHQ-9 midpoint for estimators without heads), the interval calibrated on the calib
    split, metrics on the test split, and a model card (README.md) in the folder. With --transcripts /
    --labels each PHQ-9 is linked to the user's text in the --window-days before it.

    \b
    Examples:
      phqwatch train --transcripts chats.jsonl --labels phq9.csv --out my-model
      phqwatch train --dataset all --out src/phqwatch/models/default
      phqwatch train --dataset all --estimator transformer --backbone models/all-MiniLM-L6-v2 \\
          --epochs 2 --max-length 256 --batch-size 16 --lora-rank 8 --out minilm-phq9
      phqwatch train --transcripts chats.jsonl --labels phq9.csv --estimator transformer \\
          --backbone models/qwen3-0.6b --long-text chunk --max-chunks 16 --out qwen-phq9
    """
    from phqwatch.errors import InputError

    if (dataset is None) == (transcripts_path is None):
        raise InputError("pass either --dataset or --transcripts with --labels", fix="See `phqwatch train --help`.")
    model = _make_estimator(estimator, hyper, progress=progress)
    if dataset is not None:
        from phqwatch.datasets import DATASETS
        from phqwatch.training.build_default import build

        names = DATASETS if dataset == "all" else (dataset,)
        if dataset != "all" and dataset not in DATASETS:
            raise InputError(f"unknown dataset '{dataset}'", fix=f"Use all or one of {', '.join(DATASETS)}.")
        build(
            out_dir,
            data_dir,
            names=names,
            log=click.echo,
            estimator=model,
            seed=seed,
            limit_train=limit_train,
            n_boot=n_boot,
            rebuild=_rebuild_command(),
        )
        click.echo(f"Model written to {out_dir} (proxy labels; see its README.md model card).")
        return
    if labels_path is None:
        raise InputError("--transcripts needs --labels (a PHQ-9 CSV)", fix="Add --labels phq9.csv.")
    assert transcripts_path is not None  # exactly one of --dataset / --transcripts (checked above)
    from phqwatch.training.supervised import LabelledSet, fit_supervised
    from phqwatch.transcripts import WindowStats, build_windows, iter_messages, read_questionnaires

    stats = WindowStats()
    windows = build_windows(
        iter_messages(transcripts_path),
        read_questionnaires(labels_path),
        days=window_days,
        include_assistant=include_assistant,
        stats=stats,
    )
    click.echo(f"{stats.windows} windows from {stats.questionnaires} questionnaires ({stats.empty} without text).")
    if len(windows) < 10:
        raise InputError(f"only {len(windows)} labelled windows", fix="Provide more users with PHQ-9s and text.")
    res = fit_supervised(
        model,
        [LabelledSet.from_windows(windows)],
        seed=seed,
        test_size=0.2,
        calib_size=0.2,
        limit_train=limit_train,
        n_boot=n_boot,
        log=click.echo,
    )
    n_fit = len(res.splits["administered"]["train"])
    res.model.save(
        out_dir,
        metadata={
            "training_data": f"{transcripts_path.name} + {labels_path.name} ({n_fit} windows of {window_days} days "
            "in the training split)",
            "labels": "administered PHQ-9 totals",
            "output_scale": f"direct regression on PHQ-9 totals 0-27 ({res.targets}); interval: split-conformal "
            "80% on the calibration split's administered totals",
            "metrics": res.metrics,
            "limits": "Measured on a held-out split of the same users' population; re-measure on your own "
            "users before use. Decision support, not diagnosis; never replaces the crisis-safety screen.",
            "rebuild": _rebuild_command(),
        },
    )
    click.echo(f"Model written to {out_dir} (model card: {out_dir / 'README.md'}).")


def _rebuild_command() -> str:
    """This `phqwatch train` command line from the parsed options (absolute paths shortened to their name)."""
    import shlex

    ctx = click.get_current_context()
    parts = ["phqwatch", ctx.info_name or "train"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if not isinstance(param, click.Option) or value is None or value == param.default or param.secondary_opts:
            continue
        flag = max(param.opts, key=len)
        if param.is_flag:
            parts += [flag] if value is True else []
            continue
        text = str(value)
        parts += [flag, Path(text).name if Path(text).is_absolute() else text]
    return " ".join(shlex.quote(p) for p in parts)


@cli.command()
@click.option(
    "--transcripts",
    "transcripts_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Transcripts of the administered users.",
)
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path), help="Administered PHQ-9 CSV.")
@click.option(
    "--unlabeled",
    "unlabeled_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Transcripts of users without a PHQ-9.",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for rounds, summary and model."
)
@click.option(
    "--teacher/--no-teacher",
    default=None,
    help="Use the LLM teacher (PHQWATCH_TEACHER_*); default: on when a teacher URL is set.",
)
@click.option("--rounds", type=int, default=5, show_default=True, help="Self-training rounds after round 0.")
@click.option(
    "--filter",
    "filter_",
    type=click.Choice(["confidence", "agreement", "none"]),
    default="confidence",
    show_default=True,
    help="Which pseudolabels to keep.",
)
@click.option(
    "--min-confidence",
    type=float,
    default=0.8,
    show_default=True,
    help="confidence filter: minimum share of the model's interval inside one band (or the teacher's own "
    "confidence). With wide intervals mostly the extreme bands pass; --accept-frac with --balance-classes "
    "(and --min-confidence 0) keeps every band.",
)
@click.option(
    "--agreement-tol",
    type=float,
    default=3.0,
    show_default=True,
    help="agreement filter: max |teacher - model| in PHQ-9 points.",
)
@click.option(
    "--accept-frac",
    type=float,
    default=None,
    help="Round r keeps at most r x this share of the unlabeled users (most confident first).",
)
@click.option("--balance-classes", is_flag=True, help="Split that quota by the administered PHQ-9 band shares.")
@click.option(
    "--source",
    "pseudo_source",
    type=click.Choice(["auto", "teacher", "model", "mean"]),
    default="auto",
    show_default=True,
    help="Who gives the pseudolabel (auto: teacher if on, else the previous model).",
)
@click.option(
    "--patience", type=int, default=1, show_default=True, help="Stop after this many rounds without improvement."
)
@click.option(
    "--metric", default="spearman", show_default=True, help="Held-out selection metric (spearman, mae, qwk, ...)."
)
@click.option("--ensemble", is_flag=True, help="Also average the ground-truth-only and the best pseudolabel model.")
@click.option(
    "--heldout-frac", type=float, default=0.2, show_default=True, help="Share of administered users held out."
)
@click.option("--estimator", default="lexical-ridge", show_default=True, help="Registered estimator name.")
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the held-out split and the bootstrap.")
@click.option("--include-assistant", is_flag=True, help="Also use the app's turns.")
@friendly_errors
def selftrain(
    transcripts_path: Path,
    labels_path: Path,
    unlabeled_path: Path,
    out_dir: Path,
    teacher: bool | None,
    rounds: int,
    filter_: str,
    min_confidence: float,
    agreement_tol: float,
    accept_frac: float | None,
    balance_classes: bool,
    pseudo_source: str,
    patience: int,
    metric: str,
    ensemble: bool,
    heldout_frac: float,
    estimator: str,
    n_boot: int,
    seed: int,
    include_assistant: bool,
) -> None:
    """Self-train: administered PHQ-9s first, then teacher and/or model pseudolabels, round by round.

    Round 0 trains on the administered windows only. Each next round pseudolabels the unlabeled users
    (the LLM teacher and/or the previous round's model), keeps those that pass --filter, retrains and is
    scored on held-out administered users (metrics with 95% CIs). Training stops when the held-out
    --metric stops improving (--patience). OUT/round_N/ keeps each round's model, pseudolabels.csv and
    metrics.json; OUT/summary.json, OUT/heldout_by_round.png, and the chosen model in OUT/model.
    Teacher settings come from PHQWATCH_TEACHER_BASE_URL, _MODEL, _API_KEY (never logged).

    \b
    Examples:
      phqwatch selftrain --transcripts chats.jsonl --labels phq9.csv --unlabeled other.jsonl --out st/ --no-teacher
      PHQWATCH_TEACHER_BASE_URL=http://127.0.0.1:8080/v1 PHQWATCH_TEACHER_MODEL=qwen2.5-7b \\
          phqwatch selftrain --transcripts chats.jsonl --labels phq9.csv --unlabeled other.jsonl \\
          --out st/ --teacher --filter agreement --rounds 3 --ensemble
    """
    from phqwatch.training.selftrain_config import PseudolabelConfig, SelfTrainConfig
    from phqwatch.training.selftrain_files import selftrain_files

    config = SelfTrainConfig(
        max_rounds=rounds,
        patience=patience,
        metric=metric,
        ensemble=ensemble,
        n_boot=n_boot,
        seed=seed,
        pseudo=PseudolabelConfig(
            filter=filter_,
            min_confidence=min_confidence,
            agreement_tol=agreement_tol,
            source=pseudo_source,
            accept_frac=accept_frac,
            balance_classes=balance_classes,
        ),
    )
    res, counts = selftrain_files(
        transcripts_path,
        labels_path,
        unlabeled_path,
        out_dir,
        make_settings(),
        estimator=estimator,
        teacher=teacher,
        heldout_frac=heldout_frac,
        include_assistant=include_assistant,
        progress=click.echo,
        config=config,
    )
    click.echo("round | accepted | held-out " + metric + " [95% CI] | wall s")
    for r in res.rounds:
        node = r.heldout.get(metric, {})
        ci = node.get("ci") or [None, None] if isinstance(node, dict) else [None, None]
        ci_txt = "" if ci[0] is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
        click.echo(f"{r.round:5d} | {r.n_pseudo_accepted:8d} | {r.metric:.4f}{ci_txt} | {r.timings_s['total_s']:.1f}")
    ens = res.summary.get("ensemble")
    if ens:
        click.echo(
            f"Ensemble: skipped ({ens['skipped']})."
            if "skipped" in ens
            else f"Ensemble of rounds {ens['members']}: held-out {metric} {ens['metric']:.4f} ({out_dir / 'ensemble'})."
        )
    click.echo(f"Best round {res.best_round}; stopped: {res.stopped}. Model written to {out_dir / 'model'}.")
    click.echo("Pseudolabels are training labels, not administered PHQ-9 scores; estimates are not a diagnosis.")
