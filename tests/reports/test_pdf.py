"""PDF export in any language: the text layer of the generated PDF holds the characters of the report."""

from __future__ import annotations

import io
import sys

import pytest

pytest.importorskip("fpdf")
from pypdf import PdfReader  # noqa: E402

from phqwatch.errors import ConfigError  # noqa: E402
from phqwatch.reports.pdf import default_font, render_pdf  # noqa: E402

VERSION = {"number": 3, "author": "Dr. Lee", "at": "2026-03-14T10:00:00+00:00", "kind": "release"}


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages)


def _squash(s: str) -> str:
    return "".join(s.split())  # line breaks and spacing differ between a PDF's text layer and the source


def chinese_report() -> dict:
    return {
        "patient": "王小明",
        "estimate": {"value": 14.2, "low": 10.1, "high": 18.3, "band": "moderate"},
        "basis": "过去两周的对话",
        "summary": "患者最近两周情绪低落，睡眠很差，常常凌晨三点醒来。",
        "items": [
            {
                "number": 3,
                "name": "睡眠问题",
                "note": "多次提到失眠。",
                "quotes": [{"text": "我每天晚上都睡不着。"}],
                "criteria": [{"title": "失眠或嗜睡"}],
            }
        ],
        "limitations": ["估计来自对话文本，不是诊断。"],
        "crisis_line": "如果您有伤害自己的想法，请立即拨打当地的紧急电话。",
    }


def test_chinese_report_prints_its_chinese_text() -> None:
    pdf = render_pdf(chinese_report(), version=VERSION, audience="clinician")
    assert pdf.startswith(b"%PDF")
    text = _squash(_text(pdf))
    for phrase in (
        "王小明",
        "患者最近两周情绪低落，睡眠很差",
        "我每天晚上都睡不着。",
        "失眠或嗜睡",
        "请立即拨打当地的紧急电话",
    ):
        assert _squash(phrase) in text, phrase
    assert "?" * 3 not in text and "Estimated PHQ-9: 14.2" in _text(pdf)


def test_accented_cyrillic_and_typographic_text_survive() -> None:
    content = {
        "patient": "Zoë Müller-Ångström",
        "estimate": {"value": None},
        "summary": "Élodie a dit « je suis épuisée » — Привет, всё хорошо – “quoted”.",
    }
    text = _text(render_pdf(content, version=VERSION, audience="family"))
    for phrase in ("Zoë Müller-Ångström", "Élodie", "épuisée", "Привет", "всё", "—", "“quoted”"):
        assert phrase in text, phrase
    assert "No estimate was made." in text


def test_the_font_is_embedded_not_referenced() -> None:
    pdf = render_pdf(chinese_report(), version=VERSION, audience="clinician")
    assert b"/FontFile" in pdf and b"Helvetica" not in pdf
    assert len(pdf) < 200_000  # a subset of the glyphs in use, not the whole 5 MB font


def test_missing_font_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "paperang_p2_fonts_cjk", None)  # import fails as if not installed
    with pytest.raises(ConfigError) as err:
        render_pdf(chinese_report(), version=VERSION, audience="clinician")
    assert "paperang-p2-fonts-cjk" in str(err.value) and "phqwatch[server]" in str(err.value)


def test_a_missing_font_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        render_pdf(chinese_report(), version=VERSION, audience="clinician", font=tmp_path / "none.ttf")
    assert default_font().suffix in (".ttc", ".ttf")
