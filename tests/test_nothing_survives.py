"""When no response reaches the analysis, the run says what happened and what to change, and
still writes a report that says so (rather than "has no parse or judge results yet").

The 401 case is a real OpenAI-compatible loopback server that lists its models (so the checks
before the run pass) and refuses every completion with 401, as a server does for a key that
may list but not generate.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import run_cli

EXPERIMENT = """
probe = "wvs"
name = "empty"
languages = ["en"]
store = "empty.sqlite"
output = "empty"

[[models]]
name = "m"
{model}

[[judges]]
name = "j"
backend = "mock"

[wvs]
prompts_per_language = 3
"""


class _Refusing(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._json(200, {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        error = {"message": "this key may not generate", "type": "invalid_request_error", "code": "invalid_api_key"}
        self._json(401, {"error": error})


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")


def _run(tmp_path: Path, model: str, capsys) -> tuple[int, str, str]:
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT.format(model=model), encoding="utf-8")
    return run_cli(["run", str(path), "--no-progress"], capsys)


def _report(tmp_path: Path) -> str:
    return (tmp_path / "empty" / "report" / "report.html").read_text(encoding="utf-8")


def test_every_call_refused_with_401_says_so_and_writes_the_report(tmp_path, capsys, refusing_server, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_TEST_KEY", "sk-test-not-a-real-key")
    model = (
        f'backend = "openai"\nmodel = "stub"\nbase_url = "{refusing_server}"\n'
        'api_key_env = "CULTURALIGN_TEST_KEY"\nmax_retries = 0'
    )
    code, out, err = _run(tmp_path, model, capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "nothing to analyse: all 3 generation calls failed" in flat
    assert "401" in flat or "auth" in flat.lower()
    assert "fix the model's settings" in flat
    assert "has no parse or judge results" not in flat + err
    report = _report(tmp_path)
    assert "all 3 generation calls failed" in report


def test_every_answer_dropped_by_the_parser_says_why_and_writes_the_report(tmp_path, capsys):
    code, out, err = _run(tmp_path, 'backend = "mock"\noptions = { mode = "choice" }', capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "nothing to analyse: 3 answers, all dropped by the parser (not_a_list 3)" in flat
    assert "not numbered lists of interviews" in flat
    report = _report(tmp_path)
    assert "all dropped by the parser (not_a_list 3)" in report
