"""Text -> features for the CPU default: hashed word n-grams, lexicon rates, static embeddings.

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

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from phqwatch.errors import ModelFormatError
from phqwatch.models import lexicons as lx

N_HASH = 2**20


def _identity(text: str) -> str:
    return text


@lru_cache(maxsize=1)
def hasher() -> HashingVectorizer:
    """Word 1-2-gram hasher (counts, no normalisation) using `lexicons.tokenize`."""
    return HashingVectorizer(
        n_features=N_HASH,
        tokenizer=lx.tokenize,
        preprocessor=_identity,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def hash_terms(terms: list[str]) -> np.ndarray:
    """Hash indices of lexicon terms (each a 1-2 word phrase), as the hasher sees them."""
    docs = [" ".join(lx.tokenize(t)) for t in terms]
    h = HashingVectorizer(
        n_features=N_HASH,
        tokenizer=str.split,
        preprocessor=_identity,
        token_pattern=None,
        lowercase=False,
        ngram_range=(2, 2),
        alternate_sign=False,
        norm=None,
    )
    h1 = HashingVectorizer(
        n_features=N_HASH,
        tokenizer=str.split,
        preprocessor=_identity,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 1),
        alternate_sign=False,
        norm=None,
    )
    out = np.empty(len(docs), dtype=np.int64)
    for i, d in enumerate(docs):
        m = (h if " " in d else h1).transform([d])
        out[i] = m.indices[0] if m.nnz else -1
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
    for cat, words in sorted(_empath_categories().items()):
        cols.append((f"empath_{cat}", {w: 1.0 for w in words}))
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
def wordllama() -> tuple[object, np.ndarray]:
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


def token_counts_and_bigrams(texts: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(docs x vocabulary) WordLlama token counts and (docs x N_HASH) hashed token-bigram counts."""
    tok, emb = wordllama()
    n = len(texts)
    enc = tok.encode_batch(texts, add_special_tokens=False) if n else []  # type: ignore[attr-defined]
    ids = [np.asarray(e.ids, dtype=np.int64) for e in enc]
    lens = np.fromiter((len(a) for a in ids), dtype=np.int64, count=n)
    ind = np.concatenate(ids) if n else np.zeros(0, np.int64)
    np.clip(ind, 0, emb.shape[0] - 1, out=ind)
    ptr = np.concatenate([[0], np.cumsum(lens)])
    counts = sp.csr_matrix((np.ones(len(ind), dtype=np.float32), ind, ptr), shape=(n, emb.shape[0]))
    counts.sum_duplicates()
    # bigrams: consecutive ids within a document, hashed into N_HASH buckets
    if len(ind) > 1:
        pair = (ind[:-1] * 1_000_003 + ind[1:]) % N_HASH
        doc = np.repeat(np.arange(n), lens)[:-1]
        keep = doc == np.repeat(np.arange(n), lens)[1:]
        bigrams = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (doc[keep], pair[keep])), shape=(n, N_HASH)
        )
        bigrams.sum_duplicates()
    else:
        bigrams = sp.csr_matrix((n, N_HASH), dtype=np.float32)
    return counts, bigrams
