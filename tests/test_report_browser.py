"""The report in a real browser (headless Chromium): it renders, model output runs nothing, tables sort.

Skipped, with the reason, only when Chromium is not installed (Debian: chromium, chromium-driver).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from culturalign.reports import build_report
from test_report_fakes import write_fake_analysis, write_fake_store

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
QUIET_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    analysis = write_fake_analysis(root / "analysis", only={"us_bias", "rq1", "consistency", "human_consistency"})
    store, run_id = write_fake_store(root / "run.sqlite")
    path = build_report(analysis, root / "out", store=store, run_id=run_id)
    store.close()
    return path


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *QUIET_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    result = _chromium([f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri()], tmp_path / "profile")
    assert shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=2_000_000)
    assert colours is not None and len(colours) > 500  # text, figures, badges: far from a blank page


def test_model_output_runs_nothing_and_shows_as_text(report: Path, tmp_path: Path) -> None:
    result = _chromium(["--dump-dom", "--virtual-time-budget=3000", report.as_uri()], tmp_path / "profile")
    dom = result.stdout
    assert "</html>" in dom, result.stderr[-2000:]
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("culturalign report") and "pwned" not in title
    assert 'class="js"' in dom  # the page's own script ran under its Content-Security-Policy
    assert dom.count("<script") == 1 and '<img src="x"' not in dom
    assert "&lt;script&gt;document.title='pwned-script'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"document.title='pwned-img'\"&gt;" in dom


# -- sorting, through chromedriver's W3C HTTP protocol (no extra Python package needed) ---------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["value"]


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if CHROMEDRIVER is None:
        pytest.skip("chromedriver is not installed (apt-get install chromium-driver)")
    port = _free_port()
    process = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                _call(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [*QUIET_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"],
                    }
                }
            }
        }
        session = _call(base, "POST", "/session", caps)["sessionId"]
        yield base, session
        _call(base, "DELETE", f"/session/{session}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_clicking_a_header_sorts_the_table(report: Path, driver: tuple[str, str]) -> None:
    base, session = driver
    _call(base, "POST", f"/session/{session}/url", {"url": report.as_uri()})

    def column(css: str) -> list[str]:
        script = f"return Array.from(document.querySelectorAll({json.dumps(css)})).map(td => td.textContent)"
        return _call(base, "POST", f"/session/{session}/execute/sync", {"script": script, "args": []})

    # The US-bias table: columns model, language, coef, se, p; sort by coef (3rd column).
    table = "section:nth-of-type(3) table.sortable"
    header = _call(
        base,
        "POST",
        f"/session/{session}/element",
        {"using": "css selector", "value": f"{table} th:nth-child(3) button"},
    )
    element = next(iter(header.values()))
    _call(base, "POST", f"/session/{session}/element/{element}/click", {})
    ascending = [float(x) for x in column(f"{table} tbody td:nth-child(3)")]
    assert len(ascending) > 5 and ascending == sorted(ascending)
    _call(base, "POST", f"/session/{session}/element/{element}/click", {})
    descending = [float(x) for x in column(f"{table} tbody td:nth-child(3)")]
    assert descending == sorted(ascending, reverse=True)
