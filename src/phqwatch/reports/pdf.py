"""PDF export of a released assistive report (fpdf2, from the `server` extra), projected for its reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phqwatch.errors import ConfigError

_REPLACE = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
    "\u2191": "up", "\u2193": "down", "\u2192": "->", "\u00a0": " ",
}  # fmt: skip


def _latin1(text: Any) -> str:
    """The core PDF fonts are Latin-1: map typographic characters, replace the rest with '?'."""
    s = "".join(_REPLACE.get(c, c) for c in str(text))
    return s.encode("latin-1", "replace").decode("latin-1")


def render_pdf(content: Mapping[str, Any], *, version: Mapping[str, Any], audience: str) -> bytes:
    """A PDF of a report version's (already projected) content; `version` names who made it, when and its kind."""
    try:
        from fpdf import FPDF
    except ImportError:  # pragma: no cover - the server extra installs it
        raise ConfigError("PDF export needs fpdf2.", fix="pip install 'phqwatch[server]'") from None

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title("phqwatch assistive report")
    pdf.add_page()
    w = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(w, 7, _latin1(text))
        pdf.set_font("Helvetica", "", 10)

    def para(text: str) -> None:
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(w, 5, _latin1(text))

    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(w, 8, _latin1(f"Assistive report: {content.get('patient') or 'patient'}"))
    pdf.set_font("Helvetica", "", 9)
    state = "Released" if version.get("kind", "release") == "release" else "UNRELEASED (not seen by patient or family)"
    para(
        f"{state} version {version.get('number')} by {version.get('author')} on {version.get('at', '')[:16]}. "
        "Decision support from conversation text, reviewed by a clinician; not a diagnosis."
    )
    est = content.get("estimate") or {}
    heading("Estimated severity")
    if est.get("value") is not None:
        interval = f" (interval {est.get('low')}-{est.get('high')})" if est.get("low") is not None else ""
        para(f"Estimated PHQ-9: {est['value']}{interval}, {est.get('band')} range. Estimated, not administered.")
    else:
        para("No estimate was made.")
    if content.get("basis"):
        para(f"Basis: {content['basis']}")
    if "summary" in content:
        heading("Summary")
        para(content["summary"])
    for f in content.get("items", []) or []:
        if not f.get("quotes"):
            continue
        heading(f"Item {f['number']}: {f['name']}")
        para(f.get("note", ""))
        for q in f["quotes"]:
            para(f'  "{q["text"]}"')
        if f.get("criteria"):
            para("Maps to: " + "; ".join(c["title"] for c in f["criteria"]))
    for key, title in (
        ("limitations", "Limitations"),
        ("patient_notes", "Notes for the patient"),
        ("family_advice", "Care advice for family"),
    ):
        items = content.get(key) or []
        if items:
            heading(title)
            for line in items:
                para(f"- {line}")
    if content.get("crisis_line"):
        heading("If you are in crisis")
        para(content["crisis_line"])
    return bytes(pdf.output())
