"""Text -> features for lexical-ridge: hashed word n-grams, lexicon rates, static embeddings.

One pass of hashing gives a (docs x 2**20) count matrix of word unigrams and bigrams. Every lexicon
(the project's PHQ-9 symptom lists, style markers, VADER valences, Empath categories) is a sparse
(2**20 x categories) matrix over the same hashed unigrams/bigrams, so its counts are one sparse product
and cost almost nothing per document. Crude negation: "not X" / "never X" bigrams of a symptom word count
against the item. The static embedding is the mean of WordLlama's 256-d token vectors, loaded from the
files inside the installed wheel (never downloaded).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from phqwatch.errors import ModelFormatError
from phqwatch.models import lexicons as lx

if TYPE_CHECKING:
    from tokenizers import Tokenizer

N_HASH = 2**20


_PRIME = 1_000_003
_WORD_CACHE: dict[str, int] = {}
_PIECE_CACHE: dict[str, np.ndarray] = {}
_CACHE_MAX = 2_000_000


def _word_hash(word: str) -> int:
    h = _WORD_CACHE.get(word)
    if h is None:
        if len(_WORD_CACHE) > _CACHE_MAX:
            _WORD_CACHE.clear()
        h = murmurhash3_32(word, seed=0, positive=True)
        _WORD_CACHE[word] = h
    return h


def _bag(rows: list[np.ndarray], n_cols: int) -> sp.csr_matrix:
    """CSR counts from one array of column indices per document."""
    indptr = [0]
    cols, vals = [], []
    for r in rows:
        u, c = np.unique(r, return_counts=True)
        cols.append(u)
        vals.append(c)
        indptr.append(indptr[-1] + len(u))
    if not rows:
        return sp.csr_matrix((0, n_cols), dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(vals).astype(np.float32), np.concatenate(cols).astype(np.int32), np.asarray(indptr)),
        shape=(len(rows), n_cols),
    )


def ngram_ids(tokens: list[str]) -> np.ndarray:
    """Hash buckets of a token sequence's unigrams and bigrams (bigram = mix of its two word hashes)."""
    h = np.fromiter((_word_hash(t) for t in tokens), dtype=np.int64, count=len(tokens))
    uni = h % N_HASH
    bi = (h[:-1] * _PRIME + h[1:] * 31 + 7) % N_HASH
    return np.concatenate([uni, bi])


def word_ngrams(texts: list[str]) -> sp.csr_matrix:
    """(docs x N_HASH) counts of hashed word unigrams and bigrams (tokens from `lexicons.tokenize`)."""
    return _bag([ngram_ids(lx.tokenize(t)) for t in texts], N_HASH)


def hash_terms(terms: list[str]) -> np.ndarray:
    """Hash bucket of each 1-2 word lexicon term, exactly as `word_ngrams` counts it; -1 otherwise."""
    out = np.full(len(terms), -1, dtype=np.int64)
    for i, t in enumerate(terms):
        toks = lx.tokenize(t)
        if len(toks) in (1, 2):
            out[i] = ngram_ids(toks)[-1]
    return out


def _vader_valences() -> dict[str, float]:
    try:
        from vader.data.lexicon import LEXICON  # nltk-vader-sentiment
    except ImportError:  # pragma: no cover - the dependency is pinned
        return {}
    return {w: float(v) for w, v in LEXICON.items() if lx.tokenize(w) == [w]}


def _empath_categories() -> dict[str, list[str]]:
    try:
        import empath
    except ImportError:
        return {}
    path = Path(empath.__file__).parent / "data" / "categories.tsv"
    cats: dict[str, list[str]] = {}
    if not path.exists():  # pragma: no cover
        return cats
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) > 1:
            cats[parts[0]] = [w for w in parts[1:] if w and len(lx.tokenize(w)) in (1, 2)]
    return cats


@lru_cache(maxsize=1)
def lexicon_matrix() -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """(N_HASH x categories) weights and the category names."""
    cols: list[tuple[str, dict[str, float]]] = []
    for item, terms in lx.SYMPTOMS.items():
        short = {t: w for t, w in terms.items() if 1 <= len(lx.tokenize(t)) <= 2}
        cols.append((f"item{item}", short))
        cols.append((f"item{item}_strong", {t: 1.0 for t, w in short.items() if w >= 1.0}))
        negated = {f"{neg} {t}": 1.0 for t, w in short.items() if len(lx.tokenize(t)) == 1 for neg in lx.NEGATORS}
        cols.append((f"item{item}_negated", negated))
        cols.append((f"item{item}_healthy", {t: 1.0 for t in lx.HEALTHY_TERMS[item] if len(lx.tokenize(t)) <= 2}))
    for name, words in lx.STYLE_SETS.items():
        cols.append((name, {w: 1.0 for w in words}))
    val = _vader_valences()
    cols.append(("vader_pos", {w: v for w, v in val.items() if v > 0}))
    cols.append(("vader_neg", {w: -v for w, v in val.items() if v < 0}))
    cols.append(("vader_strong_neg", {w: 1.0 for w, v in val.items() if v <= -2.0}))
    for cat, cat_words in sorted(_empath_categories().items()):
        cols.append((f"empath_{cat}", {w: 1.0 for w in cat_words}))
    rows, cidx, vals = [], [], []
    for j, (_, terms) in enumerate(cols):
        if not terms:
            continue
        keys = list(terms)
        idx = hash_terms(keys)
        for k, h in zip(keys, idx, strict=True):
            if h >= 0:
                rows.append(int(h))
                cidx.append(j)
                vals.append(terms[k])
    mat = sp.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (np.asarray(rows), np.asarray(cidx))), shape=(N_HASH, len(cols))
    )
    mat.sum_duplicates()
    return mat, tuple(c[0] for c in cols)


# ---- WordLlama static embeddings ---------------------------------------------------------------
_WL_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def wordllama() -> tuple[Tokenizer, np.ndarray]:
    """(tokenizer, float32 embedding matrix) from the files inside the installed wordllama wheel."""
    with _WL_LOCK:
        try:
            import wordllama as wl_pkg
            from wordllama import WordLlama
        except ImportError as exc:  # pragma: no cover - pinned dependency
            raise ModelFormatError(
                "This model needs the 'wordllama' package.", fix="pip install wordllama==0.4.0.post1"
            ) from exc
        try:
            wl = WordLlama.load(cache_dir=Path(wl_pkg.__file__).parent, disable_download=True)
        except FileNotFoundError as exc:
            raise ModelFormatError(
                f"wordllama's bundled weights were not found ({exc}).",
                fix="Reinstall wordllama==0.4.0.post1; phqwatch never downloads weights.",
            ) from exc
        tok = wl.tokenizer
        tok.no_padding()
        tok.no_truncation()
        return tok, np.asarray(wl.embedding, dtype=np.float32)


def embed(counts: sp.csr_matrix, token_weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean token embedding per document, L2-normalised (zeros for empty documents)."""
    _, emb = wordllama()
    c = counts if token_weights is None else counts.multiply(token_weights[None, :]).tocsr()
    tot = np.asarray(c.sum(axis=1)).ravel()
    e = np.asarray(c @ emb) / np.maximum(tot, 1e-9)[:, None]
    n = np.linalg.norm(e, axis=1, keepdims=True)
    return (e / np.maximum(n, 1e-9)).astype(np.float32)


def word_pieces(words: list[str]) -> list[np.ndarray]:
    """BPE ids of ' ' + word for each word (cached; the tokenizer has no pre-tokenizer, so whole
    transcripts would be one BPE sequence - word pieces are much faster and nearly identical)."""
    tok, _ = wordllama()
    missing = [w for w in dict.fromkeys(words) if w not in _PIECE_CACHE]
    if missing:
        if len(_PIECE_CACHE) > _CACHE_MAX:
            _PIECE_CACHE.clear()
        for w, e in zip(missing, tok.encode_batch([" " + w for w in missing], add_special_tokens=False), strict=True):
            _PIECE_CACHE[w] = np.asarray(e.ids, dtype=np.int64)
    return [_PIECE_CACHE[w] for w in words]


def token_counts_and_bigrams(texts: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(docs x vocabulary) WordLlama token counts and (docs x N_HASH) hashed token-bigram counts."""
    _, emb = wordllama()
    docs = [t.split() for t in texts]
    uniq = list(dict.fromkeys(w for d in docs for w in d))
    piece = dict(zip(uniq, word_pieces(uniq), strict=True))
    seqs = []
    for d in docs:
        seq = np.concatenate([piece[w] for w in d]) if d else np.zeros(0, np.int64)
        np.clip(seq, 0, emb.shape[0] - 1, out=seq)
        seqs.append(seq)
    counts = _bag(seqs, emb.shape[0])
    bigrams = _bag([(q[:-1] * _PRIME + q[1:]) % N_HASH for q in seqs], N_HASH)
    return counts, bigrams
