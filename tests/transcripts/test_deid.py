"""Light de-identification: typed placeholders, few false positives, on by default for remote endpoints."""

from __future__ import annotations

import importlib.util

import pytest

from phqwatch.config import Settings
from phqwatch.errors import ConfigError
from phqwatch.transcripts.deid import deid_enabled, deidentify, is_loopback_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+work@mail.example.co.uk today", "write to [EMAIL] today"),
        ("see https://example.org/a?b=1 and www.foo.com/x.", "see [URL] and [URL]"),
        ("call (555) 123-4567 or 555.123.4567", "call [PHONE] or [PHONE]"),
        ("my uk number is +44 7700 900123", "my uk number is [PHONE]"),
        ("I live at 221 Baker Street, Apt 4B now", "I live at [ADDRESS] now"),
        ("ssn 123-45-6789", "ssn [ID]"),
        ("Hi, my name is Sarah Connor.", "Hi, my name is [NAME]."),
        ("I'm Priya and I'm tired", "I'm [NAME] and I'm tired"),
        ("Dr. Okonkwo changed my meds", "Dr. [NAME] changed my meds"),
        ("I argued with Michael again", "I argued with [NAME] again"),
        ("my sister Keisha visited", "my sister [NAME] visited"),
    ],
)
def test_replacements(text, expected):
    assert deidentify(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm So tired and I am Not okay.",
        "I'm Fine, really. I'm Sorry.",
        "My PHQ-9 was 14 on 2024-01-15 and I slept 6 hours.",
        "I took 20 mg at 10:30 and walked 3 miles.",
        "May and June were hard; I lost hope and will try again.",
        "I wake up at 4am every night.",
    ],
)
def test_no_false_positives_on_ordinary_text(text):
    r = deidentify(text)
    assert r.text == text and r.n_replaced == 0


def test_counts_never_hold_the_spans():
    r = deidentify("my name is Sarah, mail sarah@x.org, call 555-123-4567")
    assert r.counts == {"EMAIL": 1, "PHONE": 1, "NAME": 1}
    assert "Sarah" not in repr(r.counts)


@pytest.mark.parametrize(
    ("url", "loop"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://127.5.0.1/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://localhost.evil.com/v1", False),
        (None, False),
    ],
)
def test_is_loopback_url(url, loop):
    assert is_loopback_url(url) is loop


def test_deid_enabled_defaults_by_url_and_respects_explicit_setting():
    assert deid_enabled(Settings(_env_file=None, teacher_base_url="https://api.example.com/v1"))
    assert not deid_enabled(Settings(_env_file=None, teacher_base_url="http://127.0.0.1:8080/v1"))
    assert deid_enabled(Settings(_env_file=None, teacher_base_url=None))  # unknown: be safe
    assert deid_enabled(Settings(_env_file=None, teacher_base_url="http://127.0.0.1/v1", teacher_deid=True))
    assert not deid_enabled(Settings(_env_file=None, teacher_base_url="https://x.org/v1", teacher_deid=False))


def test_unknown_engine_and_missing_presidio():
    with pytest.raises(ConfigError):
        deidentify("x", engine="magic")
    if importlib.util.find_spec("presidio_analyzer") is None:
        with pytest.raises(ConfigError, match="deid"):
            deidentify("x", engine="presidio")
