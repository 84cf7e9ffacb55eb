"""Ray Data scale-out scoring gives the single-process scorer's numbers (local Ray, 2 CPUs)."""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from phqwatch.models import load_model  # noqa: E402
from phqwatch.models.scaleout import score_transcripts_ray  # noqa: E402
from phqwatch.models.scoring import score_file  # noqa: E402
from phqwatch.models.transformer import TransformerEstimator  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from tiny_backbones import build_tiny_qwen3  # noqa: E402

pytestmark = pytest.mark.slow

SAD = "tired sad hopeless empty worthless crying alone".split()
OK = "fine good happy calm okay friends family".split()


def _text(rng: random.Random, s: float, n: int) -> str:
    return " ".join(rng.choice(SAD) if rng.random() < s else rng.choice(OK) for _ in range(n))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    backbone = build_tiny_qwen3(root / "tiny-qwen3")
    rng = random.Random(1)
    sev = [rng.random() for _ in range(32)]
    X = [_text(rng, s, rng.randint(20, 60)) for s in sev]
    model = TransformerEstimator(str(backbone), epochs=3, batch_size=8, max_length=64, predict_batch_size=4)
    model.fit(X, [27 * s for s in sev])
    return model.save(root / "model", metadata={"version": "ray-test"})


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(2)
    path = tmp_path_factory.mktemp("chats") / "chats.jsonl"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for u in range(14):
            s = rng.random()
            for m in range(rng.randint(1, 4)):
                ts = (t0 + timedelta(hours=u * 10 + m)).isoformat()
                n_words = 3 if u == 0 else rng.randint(5, 25)  # user 0 has too little text and abstains
                for role in ("user", "assistant"):
                    rec = {
                        "user_id": f"u{u:02d}",
                        "conversation_id": f"u{u:02d}-c{m // 2}",
                        "role": role,
                        "text": _text(rng, s, n_words) if role == "user" else "okay",
                        "timestamp": ts,
                    }
                    fh.write(json.dumps(rec) + "\n")
    return path


def test_ray_scores_match_the_single_process_scorer(model_dir: Path, transcripts: Path, tmp_path: Path) -> None:
    pytest.importorskip("phqwatch.models.evidence")  # estimate() attaches evidence sentences
    single_csv = tmp_path / "single.csv"
    score_file(transcripts, single_csv, load_model(model_dir), min_words=10)
    single = pd.read_csv(single_csv).sort_values("user_id").reset_index(drop=True)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        score_transcripts_ray(
            [str(transcripts)],
            tmp_path / "ray_out",
            model_dir,
            replicas=2,
            num_cpus=0.5,  # two actors on a 2-CPU Ray leave one CPU for reading and shuffling
            partitions=4,
            batch_size=4,
            min_words=10,
        )
    finally:
        ray.shutdown()
    scaled = pd.read_parquet(tmp_path / "ray_out").sort_values("user_id").reset_index(drop=True)

    assert list(scaled["user_id"]) == list(single["user_id"]) and len(single) == 14
    assert list(scaled["status"]) == list(single["status"])
    assert (single["status"] == "abstained").sum() >= 1
    assert list(scaled["n_user_words"]) == list(single["n_user_words"])
    ok = single["status"] == "ok"
    # Rows are rounded to 2 decimals; batching differs only in padding (float noise ~1e-6).
    assert (scaled.loc[ok, "phq9_estimate"] - single.loc[ok, "phq9_estimate"]).abs().max() <= 0.011
    assert set(scaled["model"]) == {"transformer@ray-test"}
