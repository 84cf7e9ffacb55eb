"""`phqwatch evaluate`: metrics with CIs and an HTML report (PHQ-9 labels or the public proxy sets)."""

from __future__ import annotations

from pathlib import Path

import click

from phqwatch.cli.base import cli, friendly_errors
from phqwatch.phq9 import RECALL_DAYS


@cli.command()
@click.option(
    "--predictions",
    type=click.Path(path_type=Path),
    default=None,
    help="Scores file (.csv/.jsonl, the scores contract) to evaluate.",
)
@click.option("--labels", type=click.Path(path_type=Path), default=None, help="Administered PHQ-9 CSV.")
@click.option(
    "--dataset",
    default=None,
    help="Public proxy set instead of --labels: depseverity, lt_edi, reddit_dr or all (ordinal metrics).",
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for the outputs.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None, help="Model folder (end-to-end).")
@click.option("--transcripts", type=click.Path(path_type=Path), default=None, help="Transcripts to score (end-to-end).")
@click.option("--metadata", type=click.Path(path_type=Path), default=None, help="CSV: user_id + columns to break by.")
@click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples of users.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--min-per-class", type=int, default=10, show_default=True, help="Min positives/negatives per AUC.")
@click.option("--window-days", type=int, default=RECALL_DAYS, show_default=True, help="Days of text per questionnaire.")
@click.option("--no-figures", is_flag=True, help="Skip the figures in report.html (faster).")
@friendly_errors
def evaluate(
    predictions: Path | None,
    labels: Path | None,
    dataset: str | None,
    out_dir: Path,
    model_dir: Path | None,
    transcripts: Path | None,
    metadata: Path | None,
    n_boot: int,
    seed: int,
    min_per_class: int,
    window_days: int,
    no_figures: bool,
) -> None:
    """Evaluate estimates against administered PHQ-9s: metrics with 95% CIs, figures, an HTML report.

    Either pass --predictions (a scores file), or --transcripts (and optionally --model) to score each
    questionnaire's 14-day window end to end. Writes OUT/metrics.json and OUT/report.html.

    \b
    Examples:
      phqwatch evaluate --predictions scores.csv --labels phq9.csv --out eval/
      phqwatch evaluate --predictions scores.csv --labels phq9.csv --out eval/ --metadata meta.csv
      phqwatch evaluate --model models/my-model --transcripts chats.jsonl --labels phq9.csv --out eval/
      phqwatch evaluate --dataset all --out eval-proxy/            # the shipped model on the shared sets
    """
    from phqwatch.errors import InputError

    if dataset is not None:
        _evaluate_proxy(dataset, model_dir, out_dir, n_boot, seed, min_per_class, no_figures, predictions, labels)
        return
    if labels is None:
        raise InputError("--labels is required (or use --dataset)", fix="Add --labels phq9.csv, or --dataset all.")
    from phqwatch.evaluation.pipeline import evaluate_files, evaluate_model, write_outputs, write_predictions
    from phqwatch.evaluation.report import text_table

    if (predictions is None) == (transcripts is None):
        raise InputError(
            "pass exactly one of --predictions or --transcripts",
            fix="Use --predictions SCORES.csv, or --transcripts T.jsonl [--model DIR] for end-to-end.",
        )
    if predictions is not None:
        if model_dir is not None:
            raise InputError("--model is only used with --transcripts", fix="Drop --model or use --transcripts.")
        ev = evaluate_files(
            predictions, labels, metadata=metadata, n_boot=n_boot, seed=seed, min_per_class=min_per_class
        )
    else:
        from phqwatch.models import load_model

        model = load_model(model_dir)
        assert transcripts is not None  # exactly one of --predictions / --transcripts (checked above)
        ev, rows = evaluate_model(
            model,
            transcripts,
            labels,
            days=window_days,
            metadata=metadata,
            n_boot=n_boot,
            seed=seed,
            min_per_class=min_per_class,
        )
        write_predictions(rows, out_dir / "predictions.csv")
    mpath, rpath = write_outputs(ev, out_dir, figures=not no_figures)
    d = ev.metrics["data"]
    click.echo(text_table(ev.metrics))
    click.echo(
        f"\n{d['scored']} scored of {d['matched']} matched ({d['abstained']['count']} abstained); "
        f"{d['missing_predictions']['count']} labels without a prediction, "
        f"{d['missing_labels']['count']} predictions without a label. {d['join_note']}."
    )
    click.echo(f"Wrote {mpath} and {rpath}")
    click.echo("These are ESTIMATES for decision support, not administered PHQ-9 scores or a diagnosis.")


def _evaluate_proxy(
    dataset: str,
    model_dir: Path | None,
    out_dir: Path,
    n_boot: int,
    seed: int,
    min_per_class: int,
    no_figures: bool,
    predictions: Path | None,
    labels: Path | None,
) -> None:
    """`evaluate --dataset`: a model on the held-out test split of the public proxy sets, ordinal metrics only."""
    from phqwatch.errors import InputError
    from phqwatch.evaluation.proxy import evaluate_proxy, resolve_names, text_table
    from phqwatch.evaluation.proxy_report import write_proxy_outputs
    from phqwatch.models import load_model

    if predictions is not None or labels is not None:
        raise InputError("--dataset takes no --predictions/--labels", fix="Drop them, or drop --dataset.")
    from phqwatch.datasets import available_datasets, load_dataset

    names = resolve_names(dataset)
    for name in names:  # a missing folder fails here, before the model loads
        if name not in available_datasets():
            load_dataset(name)
    model = load_model(model_dir)
    ev = evaluate_proxy(
        model, names, n_boot=n_boot, seed=seed, min_per_class=min_per_class, model_path=model_dir, log=click.echo
    )
    mpath, rpath = write_proxy_outputs(ev, out_dir, figures=not no_figures)
    click.echo(text_table(ev.metrics))
    click.echo(f"Wrote {mpath} and {rpath}")
    click.echo("Proxy sets: research use only; weak ordinal labels, so no PHQ-9 error is reported.")
