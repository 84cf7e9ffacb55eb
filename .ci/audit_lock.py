#!/usr/bin/env python3
"""Audit the pinned dependencies (requirements.lock, made by `make lock`) for known vulnerabilities.

pip-audit (installed from PyPI into a throwaway environment) checks every pin against the PyPI vulnerability
data. A pin with a known vulnerability fails the build (exit 1). pip-audit quietly skips a pin whose data it
cannot fetch and still exits 0, so this script first audits a canary pin that is known to be vulnerable
(jinja2 2.10): when the canary is not reported, or when pins were skipped, the vulnerability data could not be
had from here, and the script says so in a banner. That is a warning (exit 0), or a failure when
PHQWATCH_REQUIRE_AUDIT=1.

Usage: python3 .ci/audit_lock.py [LOCK_FILE]     (PIP_AUDIT=/path/to/pip-audit uses an installed one)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

CANARY = "jinja2==2.10\n"  # CVE-2019-10906 and others: any working vulnerability source reports it
REQUIRED = os.environ.get("PHQWATCH_REQUIRE_AUDIT", "") not in ("", "0", "false", "no")


def _unavailable(why: str) -> int:
    bar = "!" * 100
    print(f"{bar}\nDEPENDENCY AUDIT NOT DONE: {why}\nThe pins in the lock file were NOT checked for known "
          f"vulnerabilities.\n{bar}", file=sys.stderr)  # fmt: skip
    return 1 if REQUIRED else 0


def _audit(pip_audit: Path, req: Path, out: Path) -> dict:
    cmd = [str(pip_audit), "-r", str(req), "--disable-pip", "--no-deps", "--progress-spinner", "off"]
    r = subprocess.run([*cmd, "-f", "json", "-o", str(out)], capture_output=True, text=True, timeout=900)
    if not out.exists():
        raise RuntimeError(f"pip-audit failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    return json.loads(out.read_text())


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")
    if not lock.exists():
        print(f"{lock} not found; run `make lock`.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="phqwatch-audit-") as tmp:
        if os.environ.get("PIP_AUDIT"):  # a pip-audit already installed
            pip_audit = Path(os.environ["PIP_AUDIT"])
        else:
            env = Path(tmp) / "env"
            venv.create(env, with_pip=True)
            r = subprocess.run(
                [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "pip-audit>=2.7"],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                return _unavailable(f"pip-audit could not be installed ({r.stderr.strip()[-300:]}).")
            pip_audit = env / "bin" / "pip-audit"
        canary = Path(tmp) / "canary.txt"
        canary.write_text(CANARY)
        try:
            probe = _audit(pip_audit, canary, Path(tmp) / "canary.json")
        except Exception as exc:  # noqa: BLE001 - any failure here means "no vulnerability data"
            return _unavailable(str(exc))
        if not any(d.get("vulns") for d in probe.get("dependencies", [])):
            reasons = {d.get("skip_reason", "no report") for d in probe.get("dependencies", [])}
            return _unavailable(
                "the vulnerability data (PyPI JSON API) cannot be reached from here: a known-vulnerable canary "
                f"pin was not reported ({'; '.join(sorted(reasons))})."
            )
        report = _audit(pip_audit, lock, Path(tmp) / "lock.json")
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    for d in vulnerable:
        ids = ", ".join(v["id"] + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
                        for v in d["vulns"])  # fmt: skip
        print(f"VULNERABLE {d['name']}=={d['version']}: {ids}", file=sys.stderr)
    for d in skipped:
        print(f"not checked: {d['name']}=={d.get('version', '?')}: {d['skip_reason']}", file=sys.stderr)
    print(f"{len(deps)} pins audited: {len(vulnerable)} vulnerable, {len(skipped)} not checked.")
    if vulnerable:
        print("Bump the vulnerable pins (`make lock LOCK_FLAGS='--upgrade-package NAME'`).", file=sys.stderr)
        return 1
    if skipped:
        return _unavailable(f"{len(skipped)} of {len(deps)} pins could not be checked (listed above).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
