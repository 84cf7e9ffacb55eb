"""Pages answer the API's status for the same failure: a store that is down is 503 (with Retry-After) on
the HTML page and its JSON twin, never a 500."""

from __future__ import annotations

import pytest

from browser.pages_world import build
from phqwatch.errors import ConflictError, StorageFullError, StoreError
from phqwatch.server.services import patient_record

from .test_pages import login


@pytest.mark.parametrize(
    ("exc", "status"),
    [(StoreError("The database is down."), 503), (StorageFullError("Disk full."), 507), (ConflictError("x"), 409)],
)
def test_pages_answer_the_api_status(tmp_path, monkeypatch, exc, status):
    w = build(f"sqlite:///{tmp_path / 'pages.db'}")
    try:
        c = login(w, "doc")
        pid = w.ids["pat"]

        def fail(*a, **k):
            raise exc

        monkeypatch.setattr(patient_record, "monthly", fail)
        page = c.get(f"/patients/{pid}/monthly")
        twin = c.get(f"/patients/{pid}/monthly.json")
        assert page.status_code == twin.status_code == status, (page.text[:300], twin.text)
        assert "text/html" in page.headers["content-type"]
        if isinstance(exc, StoreError):
            assert page.headers["retry-after"] == twin.headers["retry-after"]
    finally:
        w.app.state.ctx.db.dispose()
