"""Run store operations: migrations, stage log, summary, runs overview, export, dry-run estimate."""

from __future__ import annotations

import io
import sqlite3

import polars as pl
import pytest
from rich.console import Console

from culturalign.cli.present import estimate_table, runs_table, summary_table
from culturalign.engine import Request, run_requests
from culturalign.engine.summary import estimate, export_run, list_runs, run_summary, run_usage
from culturalign.errors import DataError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.retry import error_reason
from culturalign.store import RunStore
from culturalign.store.migrations import MIGRATIONS


def _spec(name: str = "mock-a", **update: object) -> ModelSpec:
    fields = {"name": name, "backend": "mock", "model": f"{name}-id", "options": {"mode": "list", "items": 3}}
    return ModelSpec(**{**fields, **update})


def _requests(spec: ModelSpec, n: int, max_tokens: int | None = 50) -> list[Request]:
    return [
        Request(
            spec,
            (ChatMessage(role="user", content=f"prompt number {i:03d} " + "x" * 36),),
            GenerateConfig(max_tokens=max_tokens),
            0,
            {"i": i},
        )
        for i in range(n)
    ]


def _render(table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=250).print(table)
    return buffer.getvalue()


def test_fresh_store_has_every_migration_and_reopening_is_idempotent(tmp_path) -> None:
    path = tmp_path / "s.sqlite"
    RunStore(path).close()
    RunStore(path).close()
    conn = sqlite3.connect(path)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'stage_runs'").fetchone()[0] == 1


def test_a_store_from_the_first_schema_is_upgraded_in_place(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'then')")
    conn.execute(
        "INSERT INTO runs (run_id, name, probe, config_json, package_version, started_at) VALUES ('r', 'n', 'wvs', '{}', '0', 't')"
    )
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        assert [r.run_id for r in store.runs()] == ["r"]
        assert store.conn.execute("SELECT COUNT(*) FROM stage_runs").fetchone()[0] == 0


def test_summary_counts_cached_answered_and_failures_by_reason(tmp_path) -> None:
    store = RunStore(tmp_path / "s.sqlite")
    run_id = store.start_run("sum", "test", {})
    flaky = _spec("flaky", options={"mode": "list", "fail_rate": 0.3})
    steady = _spec("steady")
    first = run_requests(store, run_id, "generate", _requests(steady, 10)[:6], show_progress=False)
    assert first["asked"] == 6
    counts = run_requests(store, run_id, "generate", _requests(steady, 10) + _requests(flaky, 40), show_progress=False)
    assert counts["cached"] == 6 and counts["asked"] == 44
    df = run_summary(store, run_id)
    by_model = {row["model"]: row for row in df.iter_rows(named=True)}
    assert by_model["steady"]["requests"] == 10 and by_model["steady"]["cached"] == 6
    assert by_model["steady"]["asked"] == 4 and by_model["steady"]["answered"] == 10
    flaky_row = by_model["flaky"]
    assert 0 < flaky_row["failed"] < 40
    assert flaky_row["answered"] + flaky_row["failed"] == 40 == flaky_row["asked"]
    assert flaky_row["failed_by_reason"] == f"mock {flaky_row['failed']}"
    assert flaky_row["output_tokens"] > 0 and flaky_row["wall_s"] is not None
    run_requests(store, run_id, "generate", _requests(steady, 10), show_progress=False)  # everything stored
    steady_now = run_summary(store, run_id).filter(pl.col("model") == "steady").row(0, named=True)
    assert (steady_now["cached"], steady_now["asked"], steady_now["answered"]) == (10, 0, 10)
    text = _render(summary_table(run_usage(store, run_id), run_id))
    assert "flaky" in text and f"mock {flaky_row['failed']}" in text


def test_error_reason_reads_the_code_before_the_colon() -> None:
    assert error_reason("rate_limited: http 429 slow down (gave up after 6 retries)") == "rate_limited"
    assert error_reason("something went wrong: badly") == "other"
    assert error_reason(None) is None


def test_runs_overview_and_export(tmp_path) -> None:
    path = tmp_path / "s.sqlite"
    with RunStore(path) as store:
        run_id = store.start_run("exp", "test", {"k": 1})
        run_requests(store, run_id, "generate", _requests(_spec(), 5), show_progress=False)
        store.finish_run(run_id)
        open_run = store.start_run("exp2", "test", {"k": 2})
        run_requests(store, open_run, "generate", _requests(_spec(), 7), show_progress=False)
        assert list_runs(path)["status"].to_list() == ["done", "running"]  # held by this process
    runs = list_runs(path)
    assert runs["run_id"].to_list() == [run_id, open_run]
    assert runs["status"].to_list() == ["done", "interrupted"]  # given up unfinished: nobody runs it
    assert runs["requests"].to_list() == [5, 7] and runs["answered"].to_list() == [5, 7]
    assert runs["missing"].to_list() == [0, 0] and runs["duration_s"].null_count() == 0
    assert list_runs(tmp_path).height == 2  # a folder of stores works too
    assert "exp2" in _render(runs_table(runs))

    out = export_run(path, run_id, tmp_path / "out" / "calls.parquet")
    exported = pl.read_parquet(out)
    assert exported.height == 5 and set(exported["run_id"]) == {run_id}
    assert exported["response"].null_count() == 0 and "stage" in exported.columns


def test_missing_store_and_run_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list_runs(tmp_path / "nope.sqlite")
    with pytest.raises(DataError, match="no run stores"):
        list_runs(tmp_path)
    path = tmp_path / "s.sqlite"
    RunStore(path).close()
    with pytest.raises(DataError, match="holds no runs"):
        export_run(path, None, tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_estimate_counts_tokens_cost_and_cached(tmp_path) -> None:
    priced = _spec("priced", price_input_per_mtok=2.0, price_output_per_mtok=10.0)
    free = _spec("free")
    requests = _requests(priced, 4) + _requests(priced, 4) + _requests(free, 3, max_tokens=None)
    df = estimate(requests, followups_per_request=1.0)
    rows = {r["model"]: r for r in df.iter_rows(named=True)}
    # each prompt is 56 characters -> 14 tokens; duplicates count once; one follow-up doubles everything
    assert rows["priced"]["requests"] == 4 and rows["priced"]["calls"] == 8
    assert rows["priced"]["input_tokens_est"] == 4 * 14 * 2 and rows["priced"]["output_tokens_max"] == 4 * 50 * 2
    assert rows["priced"]["cost_usd_est"] == pytest.approx((112 * 2.0 + 400 * 10.0) / 1e6)
    assert rows["free"]["cost_usd_est"] is None and rows["free"]["output_tokens_max"] == 3 * 512 * 2

    store = RunStore(tmp_path / "s.sqlite")
    run_id = store.start_run("e", "test", {})
    run_requests(store, run_id, "generate", _requests(priced, 4)[:3], show_progress=False)
    partly = {r["model"]: r for r in estimate(requests, store=store).iter_rows(named=True)}
    assert partly["priced"]["cached"] == 3 and partly["priced"]["calls"] == 1
    assert "no price set" in _render(estimate_table(df))
