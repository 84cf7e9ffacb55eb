"""`phqwatch evaluate --dataset`: ordinal metrics of a model on tiny project-written proxy files."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr

from phqwatch.cli import cli
from phqwatch.datasets import load_dataset, split
from phqwatch.evaluation.ordinal import choose_cutpoints
from phqwatch.evaluation.proxy import evaluate_proxy
from phqwatch.evaluation.proxy_report import render_proxy_html

_NEUTRAL = "today went to the shop cooked dinner watched a film walked the dog read a book met friends".split()
_SAD = "hopeless tired empty worthless cannot sleep crying alone exhausted numb pointless failure".split()


def _post(rng: np.random.Generator, severity: float, i: int) -> str:
    words = [
        str(rng.choice(_SAD)) if rng.random() < severity else str(rng.choice(_NEUTRAL))
        for _ in range(int(rng.integers(25, 60)))
    ]
    return f"post {i} " + " ".join(words) + f" number{i}"


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=header).to_csv(path, sep=delimiter, index=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three sets' real file names and column layouts, with project-written posts."""
    root = tmp_path_factory.mktemp("proxydata")
    rng = np.random.default_rng(7)
    i = 0
    rows = []
    for label, sev in (("minimum", 0.05), ("mild", 0.3), ("moderate", 0.5), ("severe", 0.8)):
        for _ in range(50):
            rows.append([_post(rng, sev, i), label])
            i += 1
    _write(root / "depseverity" / "Reddit_depression_dataset.csv", ["text", "label"], rows)
    rows = []
    for label, sev in (("not depression", 0.05), ("moderate", 0.4), ("severe", 0.8)):
        for _ in range(50):
            rows.append([f"pid_{i}", _post(rng, sev, i), label])
            i += 1
    _write(root / "lt_edi_2022" / "dev.tsv", ["PID", "Text data", "Label"], rows, delimiter="\t")
    for fname, codes, n in (
        ("train.csv", ("ds", "dsf", "do", "nd", "ndf", "bc", "ff"), 14),
        ("test.csv", ("do", "nd"), 20),
    ):
        rows = []
        for code in codes:
            for _ in range(n):
                rows.append([code, _post(rng, 0.6 if code in ("do", "ds", "dsf") else 0.1, i)])
                i += 1
        _write(root / "reddit_dr" / fname, ["label", "text"], rows)
    return root


@pytest.fixture(scope="module")
def fitted(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A small lexical-ridge with one head per set, fitted on the fixture sets' train splits, and its folder."""
    from phqwatch.models.cpu import CpuEstimator

    texts, labels, sources = [], [], []
    for name in ("depseverity", "lt_edi", "reddit_dr"):
        ds = load_dataset(name, data_dir)
        tr = split(ds, seed=0)["train"]
        texts += [ds.texts[i] for i in tr]
        labels += [int(v) for v in ds.labels[tr]]
        sources += [name] * len(tr)
    model = CpuEstimator(n_folds=3).fit(texts, np.asarray(labels), sources=sources)
    folder = tmp_path_factory.mktemp("model") / "m"
    model.save(folder)
    return model, folder


def test_cli_saved_model_on_proxy_files(
    data_dir: Path, fitted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHQWATCH_DATA_DIR", str(data_dir))
    out = tmp_path / "eval"
    args = ["evaluate", "--dataset", "all", "--model", str(fitted[1]), "--out", str(out)]
    res = CliRunner().invoke(cli, [*args, "--n-boot", "200", "--min-per-class", "5"])
    assert res.exit_code == 0, res.output
    assert "depseverity" in res.output and "macro-F1" in res.output
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["kind"] == "proxy_ordinal" and set(m["sets"]) == {"depseverity", "lt_edi", "reddit_dr"}
    assert not re.search(r'"(mae|rmse)"', (out / "metrics.json").read_text(encoding="utf-8"))

    from phqwatch.models import load_model

    model = load_model(fitted[1])  # a loaded model has no out-of-fold scores: cut-points from the calib split
    for name, s in m["sets"].items():
        ds = load_dataset(name, data_dir)
        parts = split(ds, seed=0)
        assert s["n"] == len(parts["test"])
        assert s["weak_phq9_mapping"] == ds.mapping_note
        assert set(s["outputs"]) == {"phq9_output", "head", "phq9_output_dialogue"}
        assert s["form_robustness"]["spearman_post"] == s["outputs"]["phq9_output"]["spearman"]["value"]
        texts = [ds.texts[i] for i in parts["test"]]
        y = ds.labels[parts["test"]]
        # Spearman against an independent computation on the model's own predictions
        for key, scores in (("phq9_output", model.predict(texts)), ("head", model.predict_latent(texts, name))):
            o = s["outputs"][key]
            assert o["spearman"]["value"] == pytest.approx(
                spearmanr(y, scores)[0], abs=5.1e-5
            )  # JSON rounds to 4 digits
            lo, hi = o["spearman"]["ci"]
            assert lo <= o["spearman"]["value"] <= hi
            assert o["cutpoint_source"].startswith("calib split")
            assert o["n"]["value"] == len(y)
        # the shipped model's cut-points come from the calib split's scores, never the test split
        cal = parts["calib"]
        cal_scores = model.predict_latent([ds.texts[i] for i in cal], name)
        expected = choose_cutpoints(cal_scores, ds.labels[cal], ds.n_classes)
        assert s["outputs"]["head"]["cutpoints"] == pytest.approx(expected, abs=1e-5)

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Research use only" in html and "Weak labels" in html
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) == 7  # AUC bars + distribution and ROC of the PHQ-9 output, the head, the dialogue form
    assert "Post form vs dialogue form" in html
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for b in imgs)
    assert not re.search(r'(?:src|href)="(?!data:)', html)  # self-contained


def test_missing_data_folder_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHQWATCH_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(cli, ["evaluate", "--dataset", "lt_edi", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "Dataset 'lt_edi' is not available" in res.output and "lt_edi_2022" in res.output
    assert not (tmp_path / "o" / "metrics.json").exists()
    res = CliRunner().invoke(cli, ["evaluate", "--dataset", "nope", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown dataset 'nope'" in res.output


def test_fitted_model_uses_out_of_fold_training_scores_and_report_escapes(data_dir: Path, fitted) -> None:
    model = fitted[0]
    ds = load_dataset("depseverity", data_dir)
    tr = split(ds, seed=0)["train"]
    ev = evaluate_proxy(model, ["depseverity"], root=data_dir, n_boot=100, min_per_class=5)
    head = ev.metrics["sets"]["depseverity"]["outputs"]["head"]
    assert head["cutpoint_source"].startswith("out-of-fold training scores")
    oof = model.train_oof_latent_["depseverity"][1]
    assert head["cutpoints"] == pytest.approx(choose_cutpoints(oof, ds.labels[tr], 4), abs=1e-5)
    # strings in the report are escaped
    ev.metrics["sets"]["depseverity"]["weak_phq9_mapping"] = "<script>alert(1)</script>"
    html = render_proxy_html(ev.metrics, ev.scores)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("data:image/png;base64,") == 7  # incl. the dialogue form's two figures
