"""The command group, shared helpers and the entry point. Errors become a one-line message + exit 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from phqwatch import __version__
from phqwatch.errors import PhqwatchError


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PhqwatchError into `Error: ...` on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PhqwatchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _settings(**overrides: Any):
    from phqwatch.config import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phqwatch")
def cli() -> None:
    """Passive PHQ-9 estimation from conversation text, and monitoring clinicians can trust.

    Every estimate is decision support, never a diagnosis.
    """


def _examples_dir() -> Path:
    """The bundled synthetic examples: ./examples in a checkout."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (base / "examples" / "transcripts.jsonl").exists():
            return base / "examples"
    from phqwatch.errors import InputError

    raise InputError("cannot find examples/transcripts.jsonl", fix="Run from the repository root or pass --examples.")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="phqwatch")
