"""Browser fixtures: the real server under uvicorn on a free loopback port, and a real headless Chromium.

Chromium missing -> the tests skip with a reason, unless PHQWATCH_REQUIRE_BROWSER=1 (CI), then they fail.
Screenshots go to test-artifacts/browser/ at the repository root (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _first(paths: tuple[str, ...], name: str) -> str | None:
    for p in paths:
        if os.path.exists(p):
            return p
    return shutil.which(name)


def _missing(reason: str) -> None:
    if os.environ.get("PHQWATCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (PHQWATCH_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """(base URL, PagesWorld) with uvicorn serving the app in a thread on 127.0.0.1."""
    import httpx
    import uvicorn

    from .pages_world import build

    db = tmp_path_factory.mktemp("browser") / "pages.db"
    world = build(f"sqlite:///{db}")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        pytest.fail("uvicorn did not start")
    yield base, world
    server.should_exit = True
    th.join(timeout=10)
    world.app.state.ctx.db.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    """A fresh headless Chromium (selenium + chromedriver) with its own profile directory."""
    binary = _first(CHROMIUM_CANDIDATES, "chromium")
    driver_path = _first(DRIVER_CANDIDATES, "chromedriver")
    if binary is None or driver_path is None:
        _missing("Chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    profile = tempfile.mkdtemp(prefix="phqwatch-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,1400",
    ):  # fmt: skip
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver: object, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.set_window_size(1280, 900)  # type: ignore[attr-defined]
    h = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(1280, max(900, min(int(h) + 40, 6000)))  # type: ignore[attr-defined]
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path
