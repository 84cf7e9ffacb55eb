"""Adapters for the public risk sets in ``../shared/data/risk`` (research use only; never copied into the
repository): the Reddit C-SSRS post-level set (Gaur et al.), PsySUICIDE (Chinese chat and counselling
messages), SDCNL and the OpenAI moderation sample.

Each loader returns plain records ``{"text", "severity", "categories", "group", "source"}`` on the crisis
screen's ladder; ``group`` is the user (C-SSRS) or the data source (PsySUICIDE) for grouped splits.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from phqwatch.datasets.proxy import data_root
from phqwatch.errors import DatasetUnavailableError

__all__ = [
    "load_cssrs_posts",
    "load_psysuicide",
    "load_sdcnl",
    "load_moderation",
    "load_everyday_chunks",
    "cssrs_is_test_user",
]

#: C-SSRS post grades -> the screen's ladder (post-level grades describe the writer's state in that post).
CSSRS_SEVERITY = {
    "supportive": "none",
    "uninformative": "none",
    "indicator": "review",
    "ideation": "urgent",
    "behavior": "urgent",
    "attempt": "urgent",
}
#: PsySUICIDE label index -> (severity, category). Index order as in the set's labels.tsv.
PSY_LABELS = {
    0: ("urgent", "suicide"),  # attempt (mostly reported after the fact, so not "in progress")
    1: ("urgent", "suicide"),  # preparatory behaviour
    2: ("urgent", "suicide"),  # plan
    3: ("urgent", "suicide"),  # active ideation
    4: ("high", "suicide"),  # passive ideation
    5: ("urgent", "self-harm"),  # self-harm behaviour
    6: ("high", "self-harm"),  # self-harm ideation
    7: ("urgent", "harm-to-others"),  # user aggression
    8: ("urgent", "harmed-by-others"),  # aggression by others
    9: ("review", "suicide"),  # exploration / questions about suicide
}
_ORDER = ("none", "review", "high", "urgent", "imminent")


def _risk_dir(root: str | Path | None) -> Path:
    base = data_root(root) / "risk"
    if not base.is_dir():
        raise DatasetUnavailableError(
            f"the risk data folder {base} is missing.",
            fix="Place the shared risk data at ../shared/data/risk (see its README) or set PHQWATCH_DATA_DIR.",
        )
    return base


def cssrs_is_test_user(user: str) -> bool:
    """The held-out fifth of C-SSRS users (by a stable hash of the user id)."""
    return int(hashlib.sha256(user.encode()).hexdigest(), 16) % 5 == 0


def load_cssrs_posts(root: str | Path | None = None) -> list[dict]:
    """Labelled C-SSRS posts (post-level file), grouped by the 500-user id. The authors' lexicon
    normalisation left artefacts ("Pain" for "hurt", capitalised symptom words): text is lower-cased."""
    path = _risk_dir(root) / "cssrs_gaur2019" / "post_level_flat.csv"
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            label = (row.get("label") or "").strip().lower()
            if label not in CSSRS_SEVERITY or not row.get("text"):
                continue
            sev = CSSRS_SEVERITY[label]
            group = row.get("user_500") or row.get("user") or ""
            cats = [] if sev == "none" else ["suicide"]
            out.append({"text": row["text"], "severity": sev, "categories": cats, "group": group, "source": "cssrs"})
    return out


def load_psysuicide(split: str, root: str | Path | None = None) -> list[dict]:
    """PsySUICIDE ``valid`` or ``test`` messages (Chinese), with their ``data_source`` as the group."""
    path = _risk_dir(root) / "psysuicide" / f"{split}.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for r in rows:
        hot = [i for i, v in enumerate(r["label"]) if v]
        sev, cats = "none", []
        for i in hot:
            if i in PSY_LABELS:
                s, c = PSY_LABELS[i]
                if _ORDER.index(s) > _ORDER.index(sev):
                    sev = s
                cats.append(c)
        out.append(
            {
                "text": r["text"],
                "severity": sev,
                "categories": sorted(set(cats)),
                "group": r.get("data_source", ""),
                "source": "psysuicide",
            }
        )
    return out


def load_sdcnl(split: str, root: str | Path | None = None) -> list[dict]:
    """SDCNL ``train`` or ``test`` posts: r/SuicideWatch (urgent) vs r/depression (none); noisy labels."""
    name = {"train": "training-set.csv", "test": "testing-set.csv"}[split]
    path = _risk_dir(root) / "sdcnl" / name
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = f"{row.get('title', '')}. {row.get('selftext', '')}".strip(". ")
            suicide = str(row.get("is_suicide", "0")).strip() == "1"
            out.append(
                {
                    "text": text,
                    "severity": "urgent" if suicide else "none",
                    "categories": ["suicide"] if suicide else [],
                    "group": "sdcnl",
                    "source": "sdcnl",
                }
            )
    return out


def load_moderation(root: str | Path | None = None) -> list[dict]:
    """OpenAI moderation texts with a known self-harm label (for false-alarm checks on non-self-harm text)."""
    path = _risk_dir(root) / "openai_moderation" / "samples-1680.jsonl.gz"
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            if "SH" not in d:
                continue
            sh = int(d["SH"]) == 1
            out.append(
                {
                    "text": d["prompt"],
                    "severity": "urgent" if sh else "none",
                    "categories": ["self-harm"] if sh else [],
                    "group": "moderation",
                    "source": "moderation",
                    "violence": int(d.get("V", 0) or 0) == 1 or int(d.get("V2", 0) or 0) == 1,
                }
            )
    return out


#: Reddit DR training codes whose authors were not depressed (nd, ndf), or who post about breast cancer (bc)
#: or family and friends (ff): everyday text for the "nothing to flag" side.
EVERYDAY_CODES = ("nd", "ndf", "bc", "ff")


def reddit_dr_sentences(root: str | Path | None, codes: Sequence[str], split: str = "train") -> Iterator[list[str]]:
    """The sentences of each Reddit DR post (``split`` train or test) whose label is in ``codes``, in file order."""
    path = data_root(root) / "reddit_dr" / f"{split}.csv"
    if not path.is_file():
        raise DatasetUnavailableError(f"{path} is missing.", fix="Place the Reddit DR set at ../shared/data/reddit_dr.")
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("label") in codes:
                yield [x.strip() for x in re.split(r"(?<=[.!?])\s+", row.get("text") or "") if x.strip()]


def load_everyday_chunks(root: str | Path | None = None, *, n: int = 6000, seed: int = 0) -> list[dict]:
    """``n`` chat-sized chunks (one to three sentences) of everyday Reddit posts from the Reddit DR training
    split (codes in EVERYDAY_CODES), labelled none: ordinary life, illness, family, study, with the odd
    strong word, which is what most of a caseload's messages look like."""
    chunks: list[str] = []
    for sentences in reddit_dr_sentences(root, EVERYDAY_CODES):
        for i in range(0, len(sentences), 3):
            chunk = " ".join(sentences[i : i + 3])
            if 20 <= len(chunk) <= 400:
                chunks.append(chunk)
    return _sample_none(chunks, n, seed, "everyday")


def _sample_none(texts: list[str], n: int, seed: int, source: str) -> list[dict]:
    """``n`` of ``texts`` drawn with ``seed``, as safe (severity none) rows of ``source``."""
    picked = random.Random(seed).sample(texts, k=min(n, len(texts)))
    return [{"text": t, "severity": "none", "categories": [], "group": "reddit_dr", "source": source} for t in picked]


#: Reddit DR training codes of depressed authors (r/depression, the depression forum).
DEPRESSION_CODES = ("ds", "dsf")
#: Any word near risk keeps a sentence out of the symptom-talk negatives (a deliberately broad net).
RISK_WORD = re.compile(
    r"suicid|kill|die\b|dying|dead|death|end (?:it|my|this|things)|hurt|harm|cut(?:ting|s)?\b|overdos|pills|"
    r"\blive\b|living|alive|gone|disappear|wake up|burden|better off|goodbye|jump|bridge|rope|gun|razor|"
    r"blade|bleed|noose|hang|poison|grave|funeral|exist|anymore|no point|give up|giving up|can'?t go on|"
    r"want(?:ed)? out|plan|attempt|hospital|scar|abuse|hit me|beat|rape|assault|stab|shoot|destroy|vanish|"
    r"be here|nothing left|way out|escape|sleep forever|not wake|leave this",
    re.IGNORECASE,
)


def load_symptom_sentences(root: str | Path | None = None, *, n: int = 6000, seed: int = 0) -> list[dict]:
    """``n`` single sentences (4 to 40 words) from depressed authors' Reddit DR training posts that carry no
    word near risk, labelled none: how people with depression describe sleep, appetite, energy, mood and
    worth without any risk, which is most of what a mental-health app reads."""
    sentences = [
        x
        for post in reddit_dr_sentences(root, DEPRESSION_CODES)
        for x in post
        if 4 <= len(x.split()) <= 40 and not RISK_WORD.search(x)
    ]
    return _sample_none(sentences, n, seed, "symptom")
