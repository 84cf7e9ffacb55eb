"""The crisis screen on the held-out public risk data (research use; read from ../shared/data/risk):

- C-SSRS post level, the held-out fifth of users (never trained on): recall at each grade;
- SDCNL test: r/SuicideWatch vs r/depression posts (noisy subreddit labels): recall, false-positive rate, AUC;
- PsySUICIDE test (Chinese), per data_source: recall on crisis labels, precision, AUC;
- OpenAI moderation sample: false-positive rate on texts that are not self-harm (and on violent ones).

Rules alone beside the full screen. Writes benchmarks/results/bench_safety_shared.{json,md}.
Usage: python benchmarks/bench_safety_shared.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.metrics import roc_auc_score

from phqwatch.datasets import risk
from phqwatch.errors import DatasetUnavailableError
from phqwatch.safety import CrisisScreen, ScreenConfig

CRISIS = {"high", "urgent", "imminent"}


def run(screen: CrisisScreen, records: list[dict]) -> list:
    return screen.screen_many([r["text"][:5000] for r in records])


def main() -> None:
    try:
        cssrs = [r for r in risk.load_cssrs_posts() if risk.cssrs_is_test_user(r["group"])]
        raw_grades = {}
        sdcnl = risk.load_sdcnl("test")
        psy = risk.load_psysuicide("test")
        mod = risk.load_moderation()
    except DatasetUnavailableError as exc:
        print(f"skipped: {exc}")
        sys.exit(0)
    import csv

    with (risk.data_root() / "risk" / "cssrs_gaur2019" / "post_level_flat.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            raw_grades[row["text"]] = (row.get("label") or "").strip().lower()
    screens = {"rules alone": CrisisScreen(ScreenConfig(use_model=False)), "full screen": CrisisScreen()}
    out: dict[str, dict] = {}
    lines = ["| set | slice | n | rules alone | full screen |", "|---|---|---|---|---|"]
    for name, screen in screens.items():
        res: dict[str, object] = {}
        c = run(screen, cssrs)
        for grade in ("supportive", "indicator", "ideation", "behavior", "attempt"):
            idx = [i for i, r in enumerate(cssrs) if raw_grades.get(r["text"]) == grade]
            res[f"cssrs {grade} flagged"] = (sum(c[i].flag for i in idx), len(idx))
        s = run(screen, sdcnl)
        pos = [i for i, r in enumerate(sdcnl) if r["severity"] != "none"]
        neg = [i for i, r in enumerate(sdcnl) if r["severity"] == "none"]
        res["sdcnl suicide flagged"] = (sum(s[i].flag for i in pos), len(pos))
        res["sdcnl depression flagged"] = (sum(s[i].flag for i in neg), len(neg))
        if name == "full screen":
            res["sdcnl auc"] = roc_auc_score([r["severity"] != "none" for r in sdcnl], [x.score for x in s])
        p = run(screen, psy)
        for src in sorted({r["group"] for r in psy}):
            idx = [i for i, r in enumerate(psy) if r["group"] == src]
            cr = [i for i in idx if psy[i]["severity"] in CRISIS]
            fl = [i for i in idx if p[i].flag]
            res[f"psysuicide {src} crisis flagged"] = (sum(p[i].flag for i in cr), len(cr))
            res[f"psysuicide {src} precision"] = (sum(psy[i]["severity"] != "none" for i in fl), len(fl))
            if name == "full screen":
                ys = [psy[i]["severity"] in CRISIS for i in idx]
                res[f"psysuicide {src} auc"] = roc_auc_score(ys, [p[i].score for i in idx])
        m = run(screen, mod)
        non = [i for i, r in enumerate(mod) if r["severity"] == "none"]
        vio = [i for i in non if mod[i]["violence"]]
        res["moderation non-self-harm flagged"] = (sum(m[i].flag for i in non), len(non))
        res["moderation violent non-self-harm flagged"] = (sum(m[i].flag for i in vio), len(vio))
        out[name] = res
    for key in out["full screen"]:
        a, b = out["rules alone"].get(key), out["full screen"][key]

        def fmt(v: object) -> str:
            if isinstance(v, tuple):
                return f"{v[0]}/{v[1]} ({v[0] / v[1]:.3f})" if v[1] else "-"
            return "-" if v is None else f"{v:.3f}"

        n = b[1] if isinstance(b, tuple) else ""
        lines.append(f"| {key.split()[0]} | {' '.join(key.split()[1:])} | {n} | {fmt(a)} | {fmt(b)} |")
    table = "\n".join(lines)
    print(table)
    res_dir = Path(__file__).resolve().parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "bench_safety_shared.json").write_text(json.dumps(out, indent=2, default=list) + "\n")
    (res_dir / "bench_safety_shared.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
