"""PDF export of a released assistive report (fpdf2, from the `server` extra), projected for its reader.

Text is set in an embedded Unicode font, WenQuanYi Micro Hei (Apache-2.0; from the `paperang-p2-fonts-cjk`
wheel in the `server` extra): Latin with accents, Greek, Cyrillic and Chinese print as written, and the
PDF's text layer holds the same characters (copy, search and screen readers work). Another TrueType font
can be passed as `font`.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from phqwatch.errors import ConfigError

FONT_FAMILY = "phqwatch-text"
FONT_PACKAGE = "paperang_p2_fonts_cjk"
_FIX = "pip install 'phqwatch[server]'"


def default_font() -> Path:
    """The embedded font file: WenQuanYi Micro Hei from the `paperang-p2-fonts-cjk` package."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE) / "fonts" / "wqy-microhei.ttc"))
    except ModuleNotFoundError:
        raise ConfigError(
            "PDF export needs a Unicode font: the package paperang-p2-fonts-cjk (WenQuanYi Micro Hei) is not "
            "installed.",
            fix=_FIX,
        ) from None
    if not path.is_file():
        raise ConfigError(f"The PDF font file {path} is missing from its package.", fix=f"Reinstall: {_FIX}")
    return path


def render_pdf(
    content: Mapping[str, Any], *, version: Mapping[str, Any], audience: str, font: Path | None = None
) -> bytes:
    """A PDF of a report version's (already projected) content; `version` names who made it, when and its kind.

    `font`: a TrueType file (.ttf, or .ttc: its first face) to set the text in (default: `default_font()`)."""
    try:
        from fpdf import FPDF
    except ImportError:  # pragma: no cover - the server extra installs it
        raise ConfigError("PDF export needs fpdf2.", fix=_FIX) from None
    font_path = font or default_font()
    if not font_path.is_file():
        raise ConfigError(f"PDF font {font_path} not found.", fix="Pass an existing .ttf or .ttc file.")

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title("phqwatch assistive report")
    pdf.add_font(FONT_FAMILY, "", str(font_path))  # a .ttc collection: its first face
    pdf.add_page()
    w = pdf.w - pdf.l_margin - pdf.r_margin

    def bold(size: float, height: float, text: str) -> None:
        # one regular font file: headings are drawn filled and stroked, which reads as bold
        pdf.set_font(FONT_FAMILY, "", size)
        with pdf.local_context(text_mode="FILL_STROKE", line_width=0.15):
            pdf.multi_cell(w, height, text)

    def heading(text: str) -> None:
        pdf.ln(2)
        pdf.set_x(pdf.l_margin)
        bold(12, 7, text)
        pdf.set_font(FONT_FAMILY, "", 10)

    def para(text: Any) -> None:
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(w, 5, str(text))

    bold(15, 8, f"Assistive report: {content.get('patient') or 'patient'}")
    pdf.set_font(FONT_FAMILY, "", 9)
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
