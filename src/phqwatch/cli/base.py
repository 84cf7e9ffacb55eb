"""The command group, shared helpers and the entry point. Errors become a one-line message + exit 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from phqwatch import __version__
from phqwatch.errors import PhqwatchError

if TYPE_CHECKING:
    from phqwatch.config import Settings

#: Top-level modules of the optional extras -> the extra that installs them.
EXTRA_OF_MODULE = {
    **dict.fromkeys(
        (
            "fastapi",
            "uvicorn",
            "sqlalchemy",
            "alembic",
            "argon2",
            "cryptography",
            "fhir",
            "psycopg",
            "fpdf",
            "itsdangerous",
            "multipart",
            "python_multipart",
        ),
        "server",
    ),  # fmt: skip
    **dict.fromkeys(("torch", "transformers", "peft", "accelerate"), "transformer"),
    "llama_cpp": "teacher-local",
    "ray": "ray",
    "presidio_analyzer": "deid",
}


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PhqwatchError into `Error: ...` on stderr and exit code 2 (no traceback); a missing optional
    extra becomes one line naming the extra to install."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PhqwatchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except ModuleNotFoundError as exc:
            extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
            if extra is None:
                raise
            click.echo(
                f"Error: this command needs the optional '{extra}' extra (module '{exc.name}' is not installed). "
                f"Fix: pip install 'phqwatch[{extra}]'",
                err=True,
            )
            sys.exit(2)

    return wrapper


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line (None: not given)."""
    from phqwatch.config import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phqwatch")
def cli() -> None:
    """Passive PHQ-9 estimation from conversation text, and monitoring clinicians can trust.

    Every estimate is decision support, never a diagnosis.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="phqwatch")
