"""`phqwatch screen` (crisis-screen a transcript file) and `phqwatch safety train|evaluate` (the risk model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phqwatch.cli.base import cli, friendly_errors

if TYPE_CHECKING:
    from phqwatch.safety import CrisisScreen


def _screen(model_dir: Path | None, rules_only: bool) -> CrisisScreen:
    from phqwatch.safety import CrisisScreen, ScreenConfig

    return CrisisScreen(ScreenConfig(use_model=not rules_only, model_path=str(model_dir) if model_dir else None))


@cli.command("screen")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--out", "out_path", required=True, type=click.Path(path_type=Path), help="Rows to write (.csv or .jsonl)."
)
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None, help="Risk-model folder.")
@click.option("--rules-only", is_flag=True, help="Run the pattern rules alone (no learned model).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@friendly_errors
def screen_cmd(input_path: Path, out_path: Path, model_dir: Path | None, rules_only: bool, progress: bool) -> None:
    """Crisis-screen every user message of a transcript file, each read with its conversation context.

    Writes one row per user message: message_id, user_id, conversation_id, flag, severity, categories,
    score, rules. flag = severity high, urgent or imminent (the crisis path). Context is the preceding
    turns of the same conversation in file order.

    \b
    Examples:
      phqwatch screen chats.jsonl --out screened.csv
      phqwatch screen chats.csv --out screened.jsonl --rules-only
    """
    from tqdm import tqdm

    from phqwatch.safety.stream import SCREEN_COLUMNS, screen_messages
    from phqwatch.transcripts.readers import iter_messages
    from phqwatch.transcripts.writers import write_rows

    screen = _screen(model_dir, rules_only)
    counts = {"rows": 0, "flagged": 0}

    def rows() -> Iterator[dict[str, Any]]:
        bar = tqdm(desc="screening", unit=" msg", disable=not progress, mininterval=0.5)
        for row in screen_messages(iter_messages(input_path), screen):
            counts["rows"] += 1
            counts["flagged"] += bool(row["flag"])
            bar.update(1)
            yield row
        bar.close()

    write_rows(rows(), out_path, SCREEN_COLUMNS)
    click.echo(
        f"Screened {counts['rows']} user messages: {counts['flagged']} flagged for the crisis path -> {out_path}"
    )


@cli.group()
def safety() -> None:
    """The crisis screen's learned risk model: rebuild it, measure it.

    \b
    Examples:
      phqwatch safety train --out models/risk
      phqwatch safety evaluate my-labelled-messages.jsonl
    """


@safety.command("train")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option(
    "--trainset",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of labelled JSONL files, one per writer (default: the shipped hand-written set).",
)
@click.option(
    "--data-root", type=click.Path(path_type=Path), default=None, help="Shared data (default ../shared/data)."
)
@click.option("--no-aux", is_flag=True, help="Leave out the public risk data (hand-written set only).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--no-lowo",
    is_flag=True,
    help="Skip the leave-one-writer-out figures (faster; the model and its threshold are the same).",
)
@friendly_errors
def safety_train(
    out_dir: Path, trainset: Path | None, data_root: Path | None, no_aux: bool, seed: int, no_lowo: bool
) -> None:
    """Train the risk model: leave-one-writer-out figures, thresholds, model folder with its card.

    With the defaults and seed 0 it rebuilds the shipped model.

    \b
    Examples:
      phqwatch safety train --out models/risk
      phqwatch safety train --out models/risk-own --trainset my-labelled-messages/ --no-aux
    """
    from phqwatch.safety.train import TrainConfig, save_with_card, train_risk_model

    model, report = train_risk_model(
        trainset,
        data_root=data_root,
        config=TrainConfig(seed=seed, aux=not no_aux, lowo=not no_lowo),
        progress=click.echo,
    )
    save_with_card(model, report, out_dir)
    for w, v in sorted(report.writers.items()):
        click.echo(
            f"  {w}: AUC {v['auc']:.3f}, recall {v['recall']:.3f}, precision {v['precision']:.3f} (n={int(v['n'])})"
        )
    click.echo(f"Wrote {out_dir} (flag threshold {report.flag_threshold:.2f}, {report.n_aux} auxiliary examples)")


@safety.command("evaluate")
@click.argument("labelled", type=click.Path(path_type=Path))
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None, help="Risk-model folder.")
@click.option("--rules-only", is_flag=True, help="Measure the pattern rules alone.")
@friendly_errors
def safety_evaluate(labelled: Path, model_dir: Path | None, rules_only: bool) -> None:
    """Measure the screen on labelled messages (a JSONL file or folder in the training-set format).

    \b
    Example:
      phqwatch safety evaluate my-labelled-messages.jsonl
    """
    from phqwatch.safety.evaluate import evaluate_screen
    from phqwatch.safety.examples import read_examples

    figures = evaluate_screen(_screen(model_dir, rules_only), read_examples(labelled))
    click.echo(json.dumps({**figures.summary(), "by_lang": figures.by_lang}, indent=2))
