"""Two [[models]] entries for one model keep their own identity, or the file is refused.

Two names for one model id are legitimate when they ask differently (e.g. the chat and the
completion prompt style): both run and both are reported. Two entries that would ask exactly
the same requests would share every store key, so the second would only ever show the first
one's answers under another name: the experiment is refused with one line.
"""

from __future__ import annotations

import socket
import tomllib

import polars as pl
import pytest

from culturalign.config import parse_experiment
from culturalign.errors import ConfigError
from culturalign.run import run_experiment
from culturalign.store import RunStore

BASE = """
probe = "wvs"
name = "twins"
seed = 2
languages = ["en"]
store = "twins.sqlite"
output = "twins"

[[models]]
name = "same-chat"
backend = "mock"
model = "same-weights"

[[models]]
name = "same-other"
backend = "mock"
model = "same-weights"
{second}

[wvs]
prompts_per_language = 3
"""


def test_two_names_for_one_model_that_ask_differently_are_both_run_and_reported(tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    path = tmp_path / "twins.toml"
    path.write_text(BASE.format(second='prompt_style = "completion"'), encoding="utf-8")
    result = run_experiment(path, show_progress=False)
    with RunStore(tmp_path / "twins.sqlite") as store:
        generated = store.requests_with_meta(result.run_id, "generate")
    assert generated.group_by("model").len().sort("model").rows() == [("same-chat", 3), ("same-other", 3)]
    assert generated["key"].n_unique() == 6
    responses = pl.read_csv(tmp_path / "twins" / "analysis" / "responses.csv")
    model_column = next(c for c in ("model_name", "model") if c in responses.columns)
    assert set(responses[model_column]) == {"same-chat", "same-other"}


@pytest.mark.parametrize("second", ["", 'family = "other"', 'origin = "US"\nmax_concurrency = 2'])
def test_two_entries_that_would_ask_the_same_requests_are_refused(second):
    data = tomllib.loads(BASE.format(second=second))
    with pytest.raises(ConfigError) as caught:
        parse_experiment(data)
    message = str(caught.value)
    assert "'same-other' and 'same-chat' would ask exactly the same requests" in message
    assert "\n" not in message


@pytest.mark.parametrize("second", ["params = { temperature = 0.3 }", "options = { seed = 4 }"])
def test_entries_that_differ_in_what_changes_the_output_are_accepted(second):
    parse_experiment(tomllib.loads(BASE.format(second=second)))
