"""The CBT-informed system prompts, kept as versioned files in `prompts/`.

A prompt's version is its file name plus a fingerprint of its text (``patient-v1+3f2a9c1e``), stored with
every assistant reply, so replies made under different prompt texts are never mistaken for one another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from phqwatch.errors import ConfigError

__all__ = ["PROMPTS_DIR", "Prompt", "load_prompt", "CURRENT"]

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
#: The prompt each kind of conversation uses now.
CURRENT = {"patient": "patient-v1", "family": "family-v1"}


@dataclass(frozen=True)
class Prompt:
    name: str  # e.g. "patient-v1"
    text: str

    @property
    def version(self) -> str:
        """Name plus the first 8 hex digits of the text's SHA-256."""
        return f"{self.name}+{hashlib.sha256(self.text.encode('utf-8')).hexdigest()[:8]}"


@lru_cache(maxsize=8)
def load_prompt(kind: str = "patient", name: str | None = None) -> Prompt:
    """The system prompt for a conversation ``kind`` ("patient" or "family"), or a named prompt file."""
    name = name or CURRENT.get(kind)
    if name is None:
        raise ConfigError(f"No chat prompt for conversation kind '{kind}'.", fix=f"Use one of {sorted(CURRENT)}.")
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise ConfigError(
            f"Chat prompt file '{name}.md' is missing from {PROMPTS_DIR.name}/.",
            fix=f"Use one of {sorted(p.stem for p in PROMPTS_DIR.glob('*.md'))} or reinstall phqwatch.",
        )
    return Prompt(name, path.read_text(encoding="utf-8").strip())
