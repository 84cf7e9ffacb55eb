"""The shipped crisis screen on the blind message sets, and its false-alarm load on everyday text.

Blind sets (`tests/fixtures/safety/blind_v2_*.jsonl`): recall on crisis messages (high and above),
imminent caught, precision, AUC, for the full screen and the rules alone. Alarm load: the share of
messages flagged (and of those filed as escalating crisis alerts, not unsure-model reviews) among (1) the
user messages of the bundled example caseload, (2) held-out Reddit DR test sentences of depressed authors
with no word near risk, (3) held-out everyday Reddit DR test chunks; none of them trained on (the model's
symptom-talk and everyday sentences come from the training split).

Writes benchmarks/results/safety_blind_shipped.json.

Usage: python benchmarks/bench_safety_blind.py [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from phqwatch.datasets.risk import RISK_WORD, reddit_dr_sentences
from phqwatch.datasets.synthetic import EXAMPLES_DIR
from phqwatch.errors import DatasetUnavailableError
from phqwatch.safety import CrisisScreen, ScreenConfig, default_screen
from phqwatch.safety.context import Turn
from phqwatch.safety.evaluate import evaluate_screen
from phqwatch.safety.examples import read_examples

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted((ROOT / "tests" / "fixtures" / "safety").glob("blind_v2_*.jsonl"))


def caseload_messages() -> tuple[list[str], list[list[Turn]], list[str]]:
    """User messages of the bundled examples with the turns before them, and their user ids."""
    convs: dict[str, list[dict]] = defaultdict(list)
    texts, ctxs, users = [], [], []
    with (EXAMPLES_DIR / "transcripts.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            prior = convs[r["conversation_id"]]
            if r["role"] == "user":
                texts.append(r["text"])
                ctxs.append([Turn(role=p["role"], text=p["text"]) for p in prior[-4:]])
                users.append(r["user_id"])
            prior.append(r)
    return texts, ctxs, users


def reddit_test(root: Path, codes: tuple[str, ...], sentences: bool, n: int = 2000) -> list[str]:
    """Held-out Reddit DR test text: single risk-free sentences, or chunks of up to three sentences."""
    out: list[str] = []
    try:
        for parts in reddit_dr_sentences(root, codes, split="test"):
            if sentences:
                out.extend(p for p in parts if 4 <= len(p.split()) <= 40 and not RISK_WORD.search(p))
            else:
                out.extend(" ".join(parts[i : i + 3]) for i in range(0, len(parts), 3))
    except DatasetUnavailableError:
        return []
    out = [t for t in out if 20 <= len(t) <= 400]
    return random.Random(0).sample(out, k=min(n, len(out)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    full, rules = default_screen(), CrisisScreen(ScreenConfig(use_model=False))
    result: dict = {"blind": {}, "alarm_load": {}}
    for path in SETS:
        ex = read_examples(path)
        result["blind"][path.stem] = {
            "full_screen": evaluate_screen(full, ex).summary(),
            "rules_alone": evaluate_screen(rules, ex).summary(),
        }
        print(path.stem, result["blind"][path.stem]["full_screen"])
    texts, ctxs, users = caseload_messages()
    res = full.screen_many(texts, ctxs)
    flagged_users = {u for u, r in zip(users, res, strict=True) if r.flag}
    paged_users = {u for u, r in zip(users, res, strict=True) if r.pages}
    result["alarm_load"]["example_caseload"] = {
        "messages": len(texts),
        "flagged": sum(r.flag for r in res),
        "users": len(set(users)),
        "users_flagged": len(flagged_users),
        "users_crisis_alert": len({u for u, r in zip(users, res, strict=True) if r.crisis_alert}),
        "users_paged": len(paged_users),
        "crisis_alert": sum(r.crisis_alert for r in res),
    }
    held_out = (("reddit_dr_test_depressed_sentences", ("do",), True), ("reddit_dr_test_everyday", ("nd",), False))
    for name, codes, sent in held_out:
        msgs = reddit_test(args.data_root, codes, sent)
        if msgs:
            rs = full.screen_many(msgs)
            result["alarm_load"][name] = {
                "messages": len(msgs),
                "flagged": sum(r.flag for r in rs),
                "crisis_alert": sum(r.crisis_alert for r in rs),
            }
    for k, v in result["alarm_load"].items():
        print(k, v)
    out = ROOT / "benchmarks" / "results" / "safety_blind_shipped.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
