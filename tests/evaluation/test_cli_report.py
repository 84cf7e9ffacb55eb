"""`phqwatch evaluate` end to end on tiny project-written fixtures: metrics.json contract and HTML report."""

import csv
import json
import re
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from phqwatch.cli import cli
from phqwatch.evaluation.pipeline import CONTRACT_KEYS
from phqwatch.evaluation.report import markdown_table
from phqwatch.models import PHQ9Estimator
from phqwatch.models.registry import ESTIMATORS
from phqwatch.transcripts import count_words

WORDS = ("sad", "tired", "hopeless", "empty", "worthless")


class LexiconEstimator(PHQ9Estimator):
    """A small real estimator for these tests: least squares on the rate of a few symptom words."""

    name = "test-lexicon"

    def _feat(self, texts):
        return np.array(
            [[sum(t.lower().split().count(w) for w in WORDS) * 100 / max(1, count_words(t)), 1.0] for t in texts]
        )

    def _fit(self, texts, y, sources):
        self.coef_ = np.linalg.lstsq(self._feat(texts), y, rcond=None)[0]

    def _predict(self, texts):
        return self._feat(texts) @ self.coef_

    def evidence(self, text, items=None, k=3):
        return {}  # this test model quotes no evidence

    def _state(self):
        return {}, {"coef": np.asarray(self.coef_, dtype=np.float64)}

    def _restore(self, state, arrays, folder):
        self.coef_ = arrays["coef"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def no_nan(text):
    def refuse(c):
        raise AssertionError(f"{c} in metrics.json")

    return json.loads(text, parse_constant=refuse)


def assert_contract(m):
    for k in CONTRACT_KEYS:
        assert set(m[k]) >= {"value", "ci"} and len(m[k]["ci"]) == 2, k
    for t, e in m["auc_by_threshold"].items():
        assert 1 <= int(t) <= 27 and set(e) >= {"value", "ci"}


def assert_self_contained(html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "decision support" in html.lower()


@pytest.fixture
def scored_files(tmp_path):
    rng = np.random.default_rng(3)
    labels = tmp_path / "phq9.csv"
    preds = tmp_path / "scores.csv"
    meta = tmp_path / "meta.csv"
    with labels.open("w", newline="") as fl, preds.open("w", newline="") as fp, meta.open("w", newline="") as fm:
        wl, wp, wm = csv.writer(fl), csv.writer(fp), csv.writer(fm)
        wl.writerow(["user_id", "date", "phq9_total"])
        wp.writerow(["user_id", "phq9_estimate", "interval_low", "interval_high", "n_user_words", "status"])
        wm.writerow(["user_id", "age_group"])
        for i in range(120):
            y = int(rng.integers(0, 28))
            x = float(np.clip(y + rng.normal(0, 3), 0, 27))
            uid = f"u{i:03d}" if i else "<img src=https://evil.example/x.png>"
            wl.writerow([uid, "2024-05-01", y])
            if i < 115:
                wp.writerow([uid, round(x, 2), round(max(0, x - 4), 2), round(min(27, x + 4), 2), 40 * (i + 1), "ok"])
            wm.writerow([uid, ["18-29", "30-49", "<b>50+</b>"][i % 3]])
        wp.writerow(["stranger", 3, 0, 7, 100, "ok"])
    return labels, preds, meta


def test_evaluate_predictions_writes_contract_and_self_contained_report(tmp_path, scored_files):
    labels, preds, meta = scored_files
    out = tmp_path / "eval"
    r = run("evaluate", "--predictions", preds, "--labels", labels, "--out", out, "--metadata", meta, "--n-boot", 100)
    assert r.exit_code == 0, r.output
    assert "MAE" in r.output and "AUC (>= 10)" in r.output and "ESTIMATES" in r.output
    m = no_nan((out / "metrics.json").read_text())
    assert_contract(m)
    assert m["n"]["value"] == 115 and m["n_boot"] == 100 and m["seed"] == 0
    assert m["data"]["missing_predictions"]["count"] == 5 and m["data"]["missing_labels"]["ids"] == ["stranger"]
    words = {b["bin"]: b["n"] for b in m["breakdowns"]["words"]}
    assert sum(words.values()) == 115 and words["<100"] == 2 and words["2000+"] == 115 - 49
    groups = {g["group"]: g["n"] for g in m["breakdowns"]["metadata"]["columns"]["age_group"]["groups"]}
    assert sum(groups.values()) == 115 and "<b>50+</b>" in groups
    html = (out / "report.html").read_text()
    assert_self_contained(html)
    assert "&lt;b&gt;50+&lt;/b&gt;" in html and "<b>50+</b>" not in html
    assert "evil.example" not in html or "&lt;img" in html
    assert html.count("data:image/png;base64,") == 5
    assert "0.87" in html and "2.6" in html and "842" in html
    md = markdown_table(m)
    assert md.startswith("| Metric |") and "| MAE |" in md


def test_same_seed_gives_identical_metrics(tmp_path, scored_files):
    labels, preds, _ = scored_files
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert (
            run(
                "evaluate", "--predictions", preds, "--labels", labels, "--out", out, "--n-boot", 50, "--no-figures"
            ).exit_code
            == 0
        )
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    ma.pop("created"), mb.pop("created")
    assert ma == mb


def test_bad_inputs_exit_2_with_a_clear_message(tmp_path, scored_files):
    labels, _, _ = scored_files
    other = tmp_path / "other.csv"
    other.write_text("user_id,phq9_estimate\nnobody,3\n")
    r = run("evaluate", "--predictions", other, "--labels", labels, "--out", tmp_path / "o")
    assert r.exit_code == 2 and "share no users" in r.output
    r = run("evaluate", "--labels", labels, "--out", tmp_path / "o")
    assert r.exit_code == 2 and "exactly one of --predictions or --transcripts" in r.output
    assert not (tmp_path / "o" / "metrics.json").exists()


def _write_transcripts(tmp_path):
    """Users with two questionnaires each; the text's symptom-word rate follows the score."""
    rng = np.random.default_rng(0)
    msgs, rows = [], []
    filler = "today I went to work and talked with friends about the weekend plans".split()
    for i in range(40):
        uid = f"p{i:02d}"
        for k, day in enumerate((date(2024, 3, 1), date(2024, 4, 1))):
            y = int(rng.integers(0, 28))
            rows.append([uid, day.isoformat(), y])
            if i == 39 and k == 1:
                continue  # no text in this window -> a missing prediction
            for m in range(3):
                n_sym = int(round(y / 27 * 12))
                words = list(rng.choice(WORDS, n_sym)) + list(rng.choice(filler, 30))
                rng.shuffle(words)
                ts = (day - timedelta(days=2 + 3 * m)).isoformat() + "T10:00:00"
                msgs.append(
                    {
                        "user_id": uid,
                        "conversation_id": f"{uid}-{k}",
                        "role": "user",
                        "text": " ".join(words),
                        "timestamp": ts,
                    }
                )
    t = tmp_path / "t.jsonl"
    t.write_text("".join(json.dumps(m) + "\n" for m in msgs))
    lab = tmp_path / "phq9.csv"
    with lab.open("w", newline="") as fh:
        csv.writer(fh).writerows([["user_id", "date", "phq9_total"], *rows])
    return t, lab


def test_evaluate_end_to_end_scores_each_questionnaire_window(tmp_path, monkeypatch):
    transcripts, labels = _write_transcripts(tmp_path)
    monkeypatch.setitem(ESTIMATORS, LexiconEstimator.name, f"{LexiconEstimator.__module__}:LexiconEstimator")
    est = LexiconEstimator(min_words=20)
    from phqwatch.transcripts import build_windows, iter_messages, read_questionnaires

    windows = build_windows(iter_messages(transcripts), read_questionnaires(labels))
    est.fit([w.text for w in windows], [w.label for w in windows])
    est.calibrate_interval([w.text for w in windows], [w.label for w in windows])
    model_dir = est.save(tmp_path / "model", metadata={"version": "0.0.1"})

    out = tmp_path / "e2e"
    r = run(
        "evaluate", "--model", model_dir, "--transcripts", transcripts, "--labels", labels, "--out", out, "--n-boot", 50
    )
    assert r.exit_code == 0, r.output
    m = no_nan((out / "metrics.json").read_text())
    assert_contract(m)
    assert m["data"]["join_on"] == "user_id+date" and "14-day window" in m["data"]["join_note"]
    assert m["n"]["value"] == 79 and m["n_users"] == 40
    assert m["data"]["missing_predictions"]["ids"] == ["p39@2024-04-01"]
    assert m["interval_nominal"] == 0.8 and m["inputs"]["model"] == "test-lexicon@0.0.1"
    assert m["pearson"]["value"] > 0.8
    preds = list(csv.DictReader((out / "predictions.csv").open()))
    assert len(preds) == 79 and preds[0]["date"] and preds[0]["phq9_estimate"]
    assert_self_contained((out / "report.html").read_text())
