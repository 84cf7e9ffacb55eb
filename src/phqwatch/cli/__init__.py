"""The `phqwatch` command: the top layer. One module per command group; `base` holds the group itself.

scoring     score                    training    train, selftrain
evaluation  evaluate                 teacher     pseudolabel
service     db upgrade|seed, serve, worker, demo
chat        synthesize, chat-eval
"""

from phqwatch.cli import chat, evaluation, safety, scoring, service, teacher, training  # noqa: F401  (register the commands)
from phqwatch.cli.base import cli, friendly_errors, main

__all__ = ["cli", "friendly_errors", "main"]
