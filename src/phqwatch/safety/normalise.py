"""Undo obfuscation before either detector sees a message, keeping a map back to the original text.

Censored spellings ("k*ll", "s**cide"), spaced or dotted letters ("s-u-i-c-i-d-e", "k i l l"), leetspeak
("su1c1de"), stretched letters ("diiiie"), full-width and zero-width characters, combining marks and a few
emoji (pills, knife, rope, gun, coffin, blood) become plain lower-case text. Chinese characters separated to
dodge filters ("自 杀", "自/杀") are joined. ``Normalised.span`` maps a span of the normalised text back to
the original message, so excerpts always quote what the person wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Normalised", "normalise"]

_LEET = {"1": "i", "!": "i", "|": "i", "3": "e", "0": "o", "@": "a", "$": "s", "4": "a", "5": "s", "7": "t"}
_EMOJI = {
    "💊": " pills ",
    "🔪": " knife ",
    "🗡": " knife ",
    "🪢": " rope ",
    "🔫": " gun ",
    "⚰": " coffin ",
    "🪦": " grave ",
    "🩸": " blood ",
    "🌉": " bridge ",
    "🚆": " train ",
    "🚄": " train ",
}
_APOSTROPHES = "’`´‘ʼ"
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
#: Words a censor character or a stretched letter most likely stands for. A masked token is replaced only
#: when exactly one of these fits it.
_RISK_WORDS = (
    "kill killing killed die dying died dead death suicide suicidal self harm cut cutting myself hang hanging "
    "overdose pills rope jump unalive alive live life end hurt bleed blood gun shoot knife razor blade goodbye "
    "bye gone done worthless hopeless hate"
).split()
_MASK_CHARS = "*#_"
_SEPARATORS = "-.*_ /·•"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, for each of its characters, the index of the original character it came from."""

    text: str
    index: tuple[int, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span of the normalised span [start, end)."""
        if not self.index:
            return 0, 0
        a = self.index[min(start, len(self.index) - 1)]
        b = self.index[max(min(end, len(self.index)) - 1, 0)] + 1
        return a, max(a, b)


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    """One original character -> its normalised form ('' to drop it)."""
    if c in _ZERO_WIDTH:
        return ""
    if c in _EMOJI:
        return _EMOJI[c]
    if c in _APOSTROPHES:
        return "'"
    if c.isascii():
        return c.lower()
    out = unicodedata.normalize("NFKC", c)
    out = "".join(ch for ch in out if unicodedata.category(ch) != "Mn")
    low = out.lower()
    return low if len(low) == len(out) else out


@lru_cache(maxsize=1)
def _mask_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((w, re.compile(w)) for w in _RISK_WORDS)


def _unmask(token: str) -> str | None:
    """A risk word that a censored token stands for ("k*ll" -> "kill"), or None."""
    pattern = re.compile("".join("[a-z]{1,3}" if ch in _MASK_CHARS else re.escape(ch) for ch in token) + "$")
    fits = {w for w, _ in _mask_patterns() if pattern.match(w)}
    return fits.pop() if len(fits) == 1 else None


_MAYBE_LEET = re.compile(r"[a-z][0-9!|@$]")
_MAYBE_SPELLED = re.compile(
    r"(?<![a-z0-9])[a-z](?:[-.*_ /·•][a-z]){2,}(?![a-z0-9])|[\u3400-\u9fff][-.*_ /·•][\u3400-\u9fff]"
)


@lru_cache(maxsize=4096)
def normalise(text: str) -> Normalised:
    """Lower-case, de-obfuscated ``text`` with a character map back to the original (see module doc).
    Cached: the screen and the learned model normalise the same message."""
    chars: list[str] = []
    index: list[int] = []
    for i, c in enumerate(text):
        for ch in _fold_char(c):
            chars.append(ch)
            index.append(i)
    low = "".join(chars)
    if _MAYBE_LEET.search(low):
        chars, index = _leet(chars, index)
        low = "".join(chars)
    if _MAYBE_SPELLED.search(low):
        chars, index = _join_spelled(chars, index)
    chars, index = _rewrite_tokens(chars, index)
    return Normalised("".join(chars), tuple(index), text)


def _is_letter(ch: str) -> bool:
    return ch.isalpha() and ch.isascii()


def _leet(chars: list[str], index: list[int]) -> tuple[list[str], list[int]]:
    """Leetspeak digits and symbols between letters ("su1c1de", "k!ll") become letters."""
    out = list(chars)
    n = len(chars)
    for i, ch in enumerate(chars):
        if ch in _LEET and 0 < i < n - 1:
            left = _is_letter(out[i - 1])
            j = i + 1
            while j < n and chars[j] in _LEET:  # runs like "su1c1de" or "d!3"
                j += 1
            right = j < n and _is_letter(chars[j])
            # a lone symbol ending a word is punctuation ("no!"), a lone digit may be a letter ("di3")
            trailing = j - i == 1 and ch.isdigit() and (j == n or not chars[j].isalnum())
            if left and (right or trailing) and not _digits_only(chars, i):
                out[i] = _LEET[ch]
    return out, index


def _digits_only(chars: list[str], i: int) -> bool:
    """True inside a number-like token ("3.5", "24/7"): leave those alone."""
    a = i
    while a > 0 and not chars[a - 1].isspace():
        a -= 1
    b = i
    while b < len(chars) and not chars[b].isspace():
        b += 1
    token = "".join(chars[a:b])
    return sum(c.isdigit() for c in token) > sum(c.isalpha() for c in token)


def _join_spelled(chars: list[str], index: list[int]) -> tuple[list[str], list[int]]:
    """Letters spelled out with one separator between each ("s-u-i-c-i-d-e", "k i l l") are joined, and
    separators between two Chinese characters ("自 杀", "自/杀") are dropped."""
    n = len(chars)
    drop = [False] * n
    for i in range(1, n - 1):
        if chars[i] in _SEPARATORS and _CJK.match(chars[i - 1]) and _CJK.match(chars[i + 1]):
            drop[i] = True
    i = 0
    while i < n:
        if _is_letter(chars[i]) and (i == 0 or not chars[i - 1].isalnum()):
            letters = [i]
            j = i
            while (
                j + 2 < n
                and chars[j + 1] in _SEPARATORS
                and _is_letter(chars[j + 2])
                and (j + 3 >= n or not chars[j + 3].isalnum())
            ):
                letters.append(j + 2)
                j += 2
            if len(letters) >= 3 and (j + 1 >= n or not chars[j + 1].isalnum()):
                for k in range(letters[0], letters[-1]):
                    if k not in letters:
                        drop[k] = True
                i = j + 1
                continue
        i += 1
    keep = [k for k in range(n) if not drop[k]]
    return [chars[k] for k in keep], [index[k] for k in keep]


_TOKEN = re.compile(r"[a-z*#_']+")


def _rewrite_tokens(chars: list[str], index: list[int]) -> tuple[list[str], list[int]]:
    """Censored tokens ("k*ll") and stretched letters ("diiiie", "killlll") become the word they stand for."""
    text = "".join(chars)
    if not any(c in text for c in _MASK_CHARS) and not re.search(r"([a-z])\1\1", text):
        return chars, index
    out_c: list[str] = []
    out_i: list[int] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        word = _rewrite(token)
        if word is None:
            continue
        out_c.extend(chars[pos : m.start()])
        out_i.extend(index[pos : m.start()])
        span = index[m.start() : m.end()]
        for k, ch in enumerate(word):
            out_c.append(ch)
            out_i.append(span[-1] if k == len(word) - 1 else span[min(k, len(span) - 1)])
        pos = m.end()
    out_c.extend(chars[pos:])
    out_i.extend(index[pos:])
    return out_c, out_i


def _rewrite(token: str) -> str | None:
    core = token.strip("*#_'")
    if not core:
        return None
    if any(c in core for c in _MASK_CHARS) and any(c.isalpha() for c in core):
        word = _unmask(core)
        if word is not None:
            return token.replace(core, word, 1)
    if re.search(r"([a-z])\1\1", core):
        double = re.sub(r"([a-z])\1{2,}", r"\1\1", core)
        single = re.sub(r"([a-z])\1{2,}", r"\1", core)
        word = double if double in _RISK_WORDS or single not in _RISK_WORDS else single
        return token.replace(core, word, 1)
    return None
