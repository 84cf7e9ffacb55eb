"""Choose the crisis model's threshold on leave-one-writer-out scores, and print the operating points.

Trains the risk model exactly as ``phqwatch safety train`` does, with the threshold left open
(``TrainConfig(flag_threshold=None)``): every writer of the hand-written training set is held out in turn and
scored by a model trained without it; the threshold is the highest at which rules or model reach recall 0.95
on each former blind set's writer (``BLIND_WRITERS``) held out. Then the final model is fitted on everything
and written to ``--out`` with its card.

Operating points at several thresholds, from the same held-out scores: recall on crisis messages (high and
above) and precision (flagged messages that carry any risk label) pooled over the former blind sets' writers
and over all writers; imminent caught; the share of the everyday writers' safe messages flagged; and, with
the final model, the patients of the bundled example caseload flagged, and those with an escalating crisis
alert (a rule or context hit, or a model score at ``ScreenConfig.alert_score`` or above; an unsure model's
flag is filed as a high-priority review). Writes benchmarks/results/safety_threshold.json and .md.

Usage: python benchmarks/bench_safety_threshold.py --out DIR [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_safety_blind import caseload_messages

from phqwatch.safety import CrisisScreen, ScreenConfig
from phqwatch.safety.examples import read_examples, trainset_dir
from phqwatch.safety.model import RiskModel
from phqwatch.safety.rule_screen import RuleScreen
from phqwatch.safety.train import BLIND_WRITERS, TrainConfig, save_with_card, train_risk_model

RESULTS = Path(__file__).resolve().parent / "results"
#: Writers of everyday talk, plans, symptom talk and check-ins: their safe messages are what a caseload says.
EVERYDAY_WRITERS = ("w7_everyday", "w8_plans_and_days", "w9_symptom_talk", "w15_checkins")
THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def operating_point(y: np.ndarray, risky: np.ndarray, imminent: np.ndarray, pred: np.ndarray) -> dict:
    """Recall (high+), precision (any risk label), imminent caught among the messages given."""
    return {
        "recall": float((pred & y).sum() / max(1, y.sum())),
        "precision": float((pred & risky).sum() / max(1, pred.sum())),
        "imminent_caught": int((pred & imminent).sum()),
        "imminent": int(imminent.sum()),
    }


def caseload_load(model: RiskModel, threshold: float) -> dict:
    """Example caseload user messages and patients flagged, with an escalating crisis alert (the default
    ``alert_score``), and paged."""
    texts, ctxs, users = caseload_messages()
    screen = CrisisScreen(ScreenConfig(flag_threshold=threshold), model=model)
    res = screen.screen_many(texts, ctxs)
    return {
        "messages": len(texts),
        "flagged": sum(r.flag for r in res),
        "patients_flagged": len({u for r, u in zip(res, users, strict=True) if r.flag}),
        "patients_crisis_alert": len({u for r, u in zip(res, users, strict=True) if r.crisis_alert}),
        "patients_paged": len({u for r, u in zip(res, users, strict=True) if r.pages}),
        "patients": len(set(users)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="where to write the final model folder")
    ap.add_argument("--data-root", type=Path, default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    model, report = train_risk_model(
        data_root=args.data_root,
        config=TrainConfig(flag_threshold=None),
        progress=lambda msg: print(f"[{time.perf_counter() - t0:6.0f}s] {msg}", flush=True),
    )
    save_with_card(model, report, args.out)

    base = read_examples(trainset_dir())
    rules = RuleScreen()
    rule_flag = np.array([rules.screen(e.text).severity in ("high", "urgent", "imminent") for e in base])
    oof = np.array([report.oof_scores[e.id] for e in base])
    y = np.array([e.crisis for e in base])
    risky = np.array([e.severity != "none" for e in base])
    imminent = np.array([e.severity == "imminent" for e in base])
    writer = np.array([e.writer for e in base])
    blind = np.isin(writer, BLIND_WRITERS)
    everyday = np.isin(writer, EVERYDAY_WRITERS) & ~risky

    rows = []
    for t in sorted({*THRESHOLDS, report.flag_threshold}):
        pred = rule_flag | (oof >= t)
        per_blind = {w: float(pred[y & (writer == w)].mean()) for w in BLIND_WRITERS}
        rows.append(
            {
                "threshold": float(t),
                "shipped": bool(t == report.flag_threshold),
                "blind_writers": operating_point(y[blind], risky[blind], imminent[blind], pred[blind]),
                "blind_writer_recall": per_blind,
                "all_writers": operating_point(y, risky, imminent, pred),
                "everyday_flagged": float(pred[everyday].mean()),
                "caseload": caseload_load(model, float(t)),
            }
        )
    pred = rule_flag.copy()
    rules_only = {
        "blind_writers": operating_point(y[blind], risky[blind], imminent[blind], pred[blind]),
        "all_writers": operating_point(y, risky, imminent, pred),
        "everyday_flagged": float(pred[everyday].mean()),
    }
    out = {
        "flag_threshold": report.flag_threshold,
        "writers": report.writers,
        "n_examples": report.n_examples,
        "rows": rows,
        "rules_alone": rules_only,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "safety_threshold.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    lines = [
        "| model threshold | recall, high+ (former blind writers; lowest writer) | precision | all writers: recall / "
        "precision | imminent caught (all writers) | everyday messages flagged | example caseload: patients "
        "flagged / with a crisis alert (paged) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, a, c = r["blind_writers"], r["all_writers"], r["caseload"]
        name = f"**{r['threshold']:.2f} (shipped)**" if r["shipped"] else f"{r['threshold']:.2f}"
        lines.append(
            f"| {name} | {b['recall']:.3f}; {min(r['blind_writer_recall'].values()):.3f} | {b['precision']:.3f} | "
            f"{a['recall']:.3f} / {a['precision']:.3f} | {a['imminent_caught']:,} / {a['imminent']:,} | "
            f"{r['everyday_flagged']:.3f} | {c['patients_flagged']} / {c['patients_crisis_alert']} of "
            f"{c['patients']} ({c['patients_paged']}) |"
        )
    b, a = rules_only["blind_writers"], rules_only["all_writers"]
    lines.append(
        f"| rules alone | {b['recall']:.3f} | {b['precision']:.3f} | {a['recall']:.3f} / {a['precision']:.3f} | "
        f"{a['imminent_caught']:,} / {a['imminent']:,} | {rules_only['everyday_flagged']:.3f} | - |"
    )
    table = "\n".join(lines)
    (RESULTS / "safety_threshold.md").write_text(table + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
