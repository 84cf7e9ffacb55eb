"""`phqwatch score`: transcripts in, one estimated PHQ-9 per user out."""

from __future__ import annotations

from pathlib import Path

import click

from phqwatch.cli.base import cli, friendly_errors
from phqwatch.config import DEFAULT_MAX_MESSAGE_CHARS, DEFAULT_MIN_WORDS


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Scores file to write (.csv or .jsonl); written atomically.",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Model folder (default: the shipped lexical-ridge model).",
)
@click.option("--include-assistant", is_flag=True, help="Also score the app's turns (default: user turns only).")
@click.option(
    "--min-words", type=int, default=None, help=f"Abstain below this many user words (default {DEFAULT_MIN_WORDS})."
)
@click.option(
    "--max-message-chars",
    type=int,
    default=DEFAULT_MAX_MESSAGE_CHARS,
    show_default=True,
    help="Longer messages are truncated (the count is reported).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@friendly_errors
def score(
    input_path: Path,
    out_path: Path,
    model_dir: Path | None,
    include_assistant: bool,
    min_words: int | None,
    max_message_chars: int,
    progress: bool,
) -> None:
    """Score transcripts: one estimated PHQ-9 per user.

    INPUT is JSONL (one message or one conversation per line) or CSV with user_id, conversation_id,
    role, text, timestamp.

    \b
    Examples:
      phqwatch score chats.jsonl --out scores.csv
      phqwatch score chats.jsonl --out scores.jsonl --model models/my-model --include-assistant
    """
    from phqwatch.models import load_model
    from phqwatch.models.scoring import score_file

    model = load_model(model_dir)
    s = score_file(
        input_path,
        out_path,
        model,
        include_assistant=include_assistant,
        min_words=min_words,
        max_message_chars=max_message_chars,
        progress=progress,
    )
    click.echo(
        f"Scored {s.scored} of {s.users} users ({s.abstained} abstained: too little text) with "
        f"{model.model_id} -> {out_path}"
    )
    if s.assembled.duplicates:
        click.echo(f"Note: {s.assembled.duplicates} duplicate messages were counted once.")
    if s.read.truncated:
        click.echo(f"Note: {s.read.truncated} messages longer than {max_message_chars} characters were truncated.")
    if s.read.skipped:
        click.echo(f"Note: {s.read.skipped} system/tool turns were skipped.")
    click.echo("These are ESTIMATES for decision support, not administered PHQ-9 scores or a diagnosis.")
