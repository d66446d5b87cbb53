"""Portable batch files: `batch export`, a run-batch elsewhere, `batch import`, then `run` carries on.
The store ends up as the online backend would have left it, and importing twice changes nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import run_cli
from culturalign.batch_jobs import export_batch, import_batch
from culturalign.run import run_experiment
from culturalign.store import RunStore
from servers.batch_api import BatchPlan, BatchServer

TESTS = Path(__file__).resolve().parent

EXPERIMENT = """
probe = "wvs"
name = "{name}"
seed = {seed}
languages = ["da", "en", "nl", "pt"]
store = "{name}.sqlite"
output = "{name}-out"

[[models]]
name = "served"
backend = "openai"
model = "stub"
base_url = "{base_url}"
params = {{ max_tokens = 64 }}

[wvs]
prompts_per_language = 10
"""


@pytest.fixture(autouse=True)
def _published_tables_from_loopback(static_server, paper_data, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(paper_data))


def _experiment(folder: Path, name: str, base_url: str, seed: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(EXPERIMENT.format(name=name, base_url=base_url, seed=seed), encoding="utf-8")
    return path


def _calls(store_path: Path) -> list[tuple]:
    with RunStore(store_path) as store:
        return store.conn.execute(
            "SELECT key, model_name, model_json, params_json, messages_json, sample_index, response,"
            " input_tokens, output_tokens, error, finish_reason FROM calls ORDER BY key"
        ).fetchall()


def _digest(path: Path) -> str:
    with RunStore(path) as store:  # through SQLite, so WAL contents count too
        dump = "\n".join(store.conn.iterdump())
    return hashlib.sha256(dump.encode()).hexdigest()


def _fake_run_batch(source: Path, target: Path) -> None:
    subprocess.run(
        [sys.executable, str(TESTS / "servers" / "fake_run_batch.py"), "-i", str(source), "-o", str(target)],
        check=True,
    )


def test_export_run_batch_import_gives_the_store_an_online_run_gives(tmp_path) -> None:
    with BatchServer(BatchPlan()) as server:
        online = _experiment(tmp_path, "online", server.base_url)
        run_experiment(online, show_progress=False)
        offline = _experiment(tmp_path, "offline", server.base_url)
        exported = export_batch(offline, model="served", output=tmp_path / "in.jsonl")
        assert exported.requests == 40 and exported.stage == "generate"
        lines = [json.loads(line) for line in (tmp_path / "in.jsonl").read_text().splitlines()]
        assert {line["url"] for line in lines} == {"/v1/chat/completions"}
        assert all(len(line["custom_id"]) == 64 for line in lines)

        _fake_run_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
        first = import_batch(offline, tmp_path / "out.jsonl")
        assert (first.lines, first.answered, first.already_stored) == (40, 40, 0)
        before = _digest(tmp_path / "offline.sqlite")
        second = import_batch(offline, tmp_path / "out.jsonl")
        assert (second.answered, second.already_stored) == (0, 40)
        assert _digest(tmp_path / "offline.sqlite") == before  # a second import changes nothing

        result = run_experiment(offline, show_progress=False)  # carries on from the imported answers
    assert result.report_path is not None
    assert _calls(tmp_path / "offline.sqlite") == _calls(tmp_path / "online.sqlite")


def test_export_with_nothing_pending_says_so_and_writes_nothing(tmp_path) -> None:
    with BatchServer(BatchPlan()) as server:
        experiment = _experiment(tmp_path, "done", server.base_url)
        run_experiment(experiment, show_progress=False)
        result = export_batch(experiment, model="served", output=tmp_path / "in.jsonl")
    assert result.path is None and result.requests == 0
    assert not (tmp_path / "in.jsonl").exists()


def _exported(tmp_path: Path, server: BatchServer) -> tuple[Path, list[dict]]:
    experiment = _experiment(tmp_path, "exp", server.base_url)
    export_batch(experiment, model="served", output=tmp_path / "in.jsonl")
    _fake_run_batch(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    return experiment, [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows + rows[:1], "more than once"),
        (lambda rows: [{**r, "custom_id": f"{n}" * 64} for n, r in enumerate(rows[:2])] + rows[2:], "never sent"),
        (lambda rows: [], "no output lines"),
    ],
    ids=["duplicate", "unknown", "empty"],
)
def test_bad_output_files_are_one_line_exit_2_and_store_nothing(tmp_path, capsys, change, message) -> None:
    with BatchServer(BatchPlan()) as server:
        experiment, rows = _exported(tmp_path, server)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in change(rows)), encoding="utf-8")
    before = _digest(tmp_path / "exp.sqlite")
    code, _, err = run_cli(["batch", "import", str(experiment), str(bad)], capsys)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert _digest(tmp_path / "exp.sqlite") == before


def test_an_output_file_of_another_experiment_is_refused(tmp_path, capsys) -> None:
    with BatchServer(BatchPlan()) as server:
        _exported(tmp_path / "a", server)
        other = _experiment(tmp_path / "b", "other", server.base_url, seed=4)  # other prompts, other keys
        export_batch(other, model="served", output=tmp_path / "b" / "in.jsonl")
        before = _digest(tmp_path / "b" / "other.sqlite")
        code, _, err = run_cli(["batch", "import", str(other), str(tmp_path / "a" / "out.jsonl")], capsys)
    assert code == 2 and "40 of 40 lines" in err and "another experiment" in err
    assert _digest(tmp_path / "b" / "other.sqlite") == before


def test_export_names_an_unknown_model_in_one_line(tmp_path, capsys) -> None:
    with BatchServer(BatchPlan()) as server:
        experiment = _experiment(tmp_path, "exp", server.base_url)
        code, _, err = run_cli(["batch", "export", str(experiment), "--model", "nope", "-o", "x.jsonl"], capsys)
    assert code == 2 and "'nope' is not in the experiment" in err
    assert not (tmp_path / "exp.sqlite").exists()


def test_an_output_file_that_is_not_utf8_is_one_line(tmp_path, capsys) -> None:
    with BatchServer(BatchPlan()) as server:
        experiment, _ = _exported(tmp_path, server)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe\x00binary")
    code, _, err = run_cli(["batch", "import", str(experiment), str(bad)], capsys)
    assert code == 2 and "not UTF-8" in err and "Traceback" not in err
