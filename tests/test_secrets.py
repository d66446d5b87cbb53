"""API keys never reach the disk or the terminal, even when a server quotes them back."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest

from cli_helpers import run_cli
from culturalign.errors import BackendError
from culturalign.models.base import ModelSpec
from culturalign.models.registry import get_backend
from culturalign.redact import MASK, redact, remember_env
from servers.echo_key import EchoKeyServer

KEY_VARIABLE = "CULTURALIGN_TEST_API_KEY"

EXPERIMENT = """
probe = "wvs"
name = "secret"
seed = 4
languages = ["da", "en"]
store = "runs/secret.sqlite"
output = "runs/secret"

[[models]]
name = "echoing"
backend = "openai"
model = "echo"
base_url = "{base_url}"
api_key_env = "{variable}"
max_retries = 0

[[judges]]
name = "mock-judge"
backend = "mock"

[wvs]
prompts_per_language = 4
"""


@pytest.fixture(autouse=True)
def _published_tables_from_loopback(published_ground_truth):
    """The analysis stage fetches the published tables: from 127.0.0.1 when present, else offline."""


def _occurrences(folder: Path, key: str) -> dict[str, int]:
    """Where the key occurs under a folder: raw bytes of every file, and the decoded cells of
    stores and Parquet files (compressed or split across pages, a key would escape a byte grep)."""
    found: dict[str, int] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        count = path.read_bytes().count(key.encode())
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            count += sum(str(value).count(key) for column in frame.columns for value in frame[column].to_list())
        elif path.suffix == ".sqlite":
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    count += sum(str(value).count(key) for value in row)
            conn.close()
        if count:
            found[str(path.relative_to(folder))] = count
    return found


def test_a_key_the_server_echoes_is_nowhere_on_disk_or_screen(tmp_path, capsys, monkeypatch):
    key = f"sk-test-{secrets.token_hex(20)}"
    monkeypatch.setenv(KEY_VARIABLE, key)
    with EchoKeyServer() as server:
        experiment = tmp_path / "secret.toml"
        experiment.write_text(EXPERIMENT.format(base_url=server.base_url, variable=KEY_VARIABLE), encoding="utf-8")
        printed = [run_cli(["run", str(experiment), "--no-progress"], capsys)]
        assert server.refused == 8  # every generation request was made, and refused
    store = tmp_path / "runs" / "secret.sqlite"
    for output in ("calls.parquet", "calls.csv"):
        printed.append(run_cli(["runs", "export", str(store), "-o", str(tmp_path / output)], capsys))
        assert printed[-1][0] == 0, printed[-1]
    printed.append(run_cli(["report", str(store), "-o", str(tmp_path / "report")], capsys))
    printed.append(run_cli(["runs", str(store)], capsys))

    errors = pl.read_parquet(tmp_path / "calls.parquet")["error"].drop_nulls().to_list()
    assert len(errors) == 8 and all(e.startswith("rejected: http 401") and MASK in e for e in errors)
    assert _occurrences(tmp_path, key) == {}
    assert sum(f"{out}{err}".count(key) for _, out, err in printed) == 0


def test_redact_masks_remembered_keys_and_any_bearer_or_authorization_value(monkeypatch):
    key = f"key/{secrets.token_hex(12)}+x"
    monkeypatch.setenv("CULTURALIGN_TEST_OTHER_KEY", key)
    remember_env("CULTURALIGN_TEST_OTHER_KEY")
    text = redact(f'body {{"key": "{key}"}} url ?k={quote(key, safe="")} headers Authorization: Bearer abc.def')
    assert key not in text and quote(key, safe="") not in text and "abc.def" not in text
    assert text.count(MASK) == 3
    assert redact("Authorization: Basic dXNlcjpwYXNz") == f"Authorization: {MASK}"
    assert redact('{"x-api-key": "s3cr3t-value"}') == f'{{"x-api-key": "{MASK}"}}'
    assert redact("bearer tok_123456") == f"Bearer {MASK}"
    assert redact("a plain error: http 500 internal failure") == "a plain error: http 500 internal failure"


def test_log_lines_and_error_messages_are_redacted(monkeypatch, caplog):
    key = f"sk-log-{secrets.token_hex(12)}"
    monkeypatch.setenv("CULTURALIGN_TEST_LOG_KEY", key)
    get_backend(ModelSpec(name="m", backend="mock", api_key_env="CULTURALIGN_TEST_LOG_KEY"))
    with caplog.at_level(logging.WARNING):
        logging.getLogger("some.sdk").warning("request failed with key %s", key)
    assert caplog.messages and key not in caplog.text and MASK in caplog.text
    assert key not in str(BackendError(f"the server said: invalid key {key}"))
