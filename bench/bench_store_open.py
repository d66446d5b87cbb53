"""What the checks on opening a run store cost: identity, version and `PRAGMA quick_check`.

Builds a store of N answered calls (each with a prompt and an answer of realistic size, one
run that asked them all, one parse result per call), then times opening it with RunStore
(every check) against a bare sqlite3 connection, and `PRAGMA quick_check` on its own.
Each figure is the median of several opens with the file in the page cache (a warm open,
as when a run resumes); the first, cold open after a reboot reads the whole file once.

    python bench/bench_store_open.py [--n 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from culturalign.store import RunStore
from culturalign.store.schema import forget_checks, open_store


def build(path: Path, n: int) -> None:
    with RunStore(path) as store:
        run_id = store.start_run("bench", "bench", {"n": n})
        store.finish_run(run_id)
        prompt = json.dumps([{"role": "user", "content": "Imagine you ask ten people in Denmark ... " * 12}])
        answer = "1. A short summary of what one person said about the topic, in a sentence or two.\n" * 10
        now = "2026-01-01T00:00:00.000+00:00"
        with store.transaction():
            store.conn.executemany(
                "INSERT INTO calls (key, model_name, model_json, params_json, messages_json, sample_index, response,"
                " input_tokens, output_tokens, latency_s, retries, attempts, error, finish_reason, created_at,"
                " updated_at) VALUES (?, 'm', '{}', '{}', ?, 0, ?, 100, 200, 1.0, 0, 1, NULL, 'stop', ?, ?)",
                ((f"{i:064x}", prompt.replace("...", str(i)), answer, now, now) for i in range(n)),
            )
            store.conn.executemany(
                "INSERT INTO run_requests (run_id, stage, key, meta_json) VALUES (?, 'generate', ?, ?)",
                ((run_id, f"{i:064x}", json.dumps({"i": i, "language": "da"})) for i in range(n)),
            )
            store.conn.executemany(
                "INSERT INTO results (run_id, stage, key, payload_json, created_at) VALUES (?, 'parse', ?, ?, ?)",
                ((run_id, f"{i:064x}", json.dumps({"kept": True, "n_summaries": 10}), now) for i in range(n)),
            )


def median_seconds(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        build(path, args.n)
        size_mb = path.stat().st_size / 1e6

        def bare() -> None:
            conn = sqlite3.connect(path)
            conn.execute("SELECT COUNT(*) FROM runs").fetchone()
            conn.close()

        def checked() -> None:
            forget_checks()  # within one process a file is checked once; time the check every time
            open_store(path).close()

        def quick_check() -> None:
            conn = sqlite3.connect(path)
            assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
            conn.close()

        checked()  # warm the page cache
        figures = {
            "bare sqlite3 open": median_seconds(bare, args.repeat),
            "RunStore open (all checks)": median_seconds(checked, args.repeat),
            "PRAGMA quick_check alone": median_seconds(quick_check, args.repeat),
            "RunStore open, again": median_seconds(lambda: open_store(path).close(), args.repeat),
        }
    print(f"store: {args.n:,} calls, {size_mb:,.0f} MB; median of {args.repeat} warm opens")
    for name, seconds in figures.items():
        print(f"  {name:<28} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
