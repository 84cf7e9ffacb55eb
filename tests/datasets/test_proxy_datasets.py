"""Public proxy adapters on tiny project-written fixtures with the real column layouts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from phqwatch.datasets import DATASETS, load_dataset, split
from phqwatch.datasets.proxy import data_root
from phqwatch.errors import DatasetUnavailableError, InputError
from phqwatch.transcripts import Message

SEVERITY = ("minimum", "mild", "moderate", "severe")


def _write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    rows = [[f"Post number {i} about my week, label {SEVERITY[i % 4]}.", SEVERITY[i % 4]] for i in range(40)]
    rows.append(["Post number 3 about my week, label severe!!", "severe"])  # exact duplicate after normalising
    prefix = "I have been feeling the same way for months and nothing I try seems to change how heavy it is " * 2
    rows.append([prefix + "version one", "moderate"])
    rows.append([prefix + "version two", "moderate"])  # near-duplicate: same first 100 normalised chars
    _write_csv(tmp_path / "depseverity" / "Reddit_depression_dataset.csv", ["text", "label"], rows)
    lt = [
        [f"dev_pid_{i}", f"Line one of post {i}\nline two", ("not depression", "moderate", "severe")[i % 3]]
        for i in range(30)
    ]
    _write_csv(tmp_path / "lt_edi_2022" / "dev.tsv", ["PID", "Text data", "Label"], lt, delimiter="\t")
    codes = ("do", "ds", "dsf", "nd", "ndf", "bc", "ff")
    _write_csv(
        tmp_path / "reddit_dr" / "train.csv",
        ["label", "text"],
        [[codes[i % 7], f"Train post {i} from a forum."] for i in range(28)],
    )
    _write_csv(
        tmp_path / "reddit_dr" / "test.csv",
        ["label", "text"],
        [[("do", "nd")[i % 2], f"Test post {i} from elsewhere."] for i in range(10)],
    )
    return tmp_path


def test_depseverity_labels_and_duplicates(root: Path) -> None:
    d = load_dataset("depseverity", root)
    assert d.label_names == SEVERITY
    assert d.phq9_ranges == ((0, 4), (5, 9), (10, 14), (15, 27))
    assert d.n_duplicates_dropped == 1
    assert len(d) == 42
    assert set(d.labels.tolist()) == {0, 1, 2, 3}
    assert len(set(d.user_ids)) == len(d)
    # the two near-duplicates share one split group
    near = [i for i, t in enumerate(d.texts) if t.endswith(("version one", "version two"))]
    assert d.groups[near[0]] == d.groups[near[1]]


def test_lt_edi_multiline_and_ids(root: Path) -> None:
    d = load_dataset("lt_edi", root)
    assert len(d) == 30
    assert d.user_ids[0] == "lt_edi-dev_pid_0"
    assert "\n" in d.texts[0]
    assert d.label_names == ("not depression", "moderate", "severe")
    assert np.bincount(d.labels).tolist() == [10, 10, 10]


def test_reddit_dr_is_binary_and_pooled(root: Path) -> None:
    d = load_dataset("reddit_dr", root)
    assert len(d) == 38
    assert d.label_names == ("no depression", "depression")
    pos = {c for c, y in zip(d.codes, d.labels, strict=True) if y == 1}
    assert pos == {"do", "ds", "dsf"}
    assert set(d.origin) == {"train.csv", "test.csv"}
    assert len(set(d.user_ids)) == len(d)


def test_to_messages_follows_the_transcript_contract(root: Path) -> None:
    d = load_dataset("lt_edi", root)
    msgs = list(d.to_messages())
    assert len(msgs) == len(d)
    assert all(isinstance(m, Message) and m.role == "user" for m in msgs)
    assert msgs[0].user_id == d.user_ids[0] and msgs[0].text == d.texts[0]


def test_missing_folder_and_bad_label(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetUnavailableError, match="No public data folder"):
        load_dataset("depseverity", tmp_path / "missing_root")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailableError, match="Reddit_depression_dataset.csv"):
        load_dataset("depseverity", tmp_path / "empty")
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("nope", root)
    _write_csv(root / "depseverity" / "Reddit_depression_dataset.csv", ["text", "label"], [["hi", "extreme"]])
    with pytest.raises(InputError, match="extreme"):
        load_dataset("depseverity", root)
    monkeypatch.setenv("PHQWATCH_DATA_DIR", str(root))
    assert data_root() == root.resolve()


def test_split_is_grouped_stratified_and_deterministic(root: Path) -> None:
    d = load_dataset("depseverity", root)
    s = split(d, seed=0)
    allidx = np.concatenate(list(s.values()))
    assert sorted(allidx.tolist()) == list(range(len(d)))
    for a in s:
        for b in s:
            if a < b:
                assert not set(d.groups[s[a]]) & set(d.groups[s[b]]), f"group leaks between {a} and {b}"
    assert all(len(set(d.labels[s["test"]].tolist())) == 4 for _ in [0])
    again = split(d, seed=0)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    with pytest.raises(InputError):
        split(d, test_size=0.7, calib_size=0.5)


@pytest.mark.skipif(not (Path("../shared/data/depseverity").is_dir()), reason="../shared/data not present")
def test_real_data_loads_without_cross_split_duplicates() -> None:
    from phqwatch.datasets import normalise

    for name in DATASETS:
        d = load_dataset(name)
        s = split(d)
        keys = {k: {normalise(d.texts[i])[:100] for i in idx} for k, idx in s.items()}
        assert not keys["train"] & keys["test"]
        assert not keys["train"] & keys["calib"]
