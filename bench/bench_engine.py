"""Engine throughput against a loopback stub: how close does the runner get to the ideal?

The stub (tests/servers/faulty.py, in its own process so that it does not compete with the
client for the GIL) answers every request after a fixed latency. With at most C requests in
flight (max_concurrency = C), N requests cannot finish faster than N * latency / C seconds.
The second pass repeats the run against the same stub injecting faults into a share of the
requests (429 with Retry-After 0, 500, slow answers, cut connections, malformed JSON,
stalls past the client timeout), which the backend retries.

A first pass runs the same load through the in-package mock backend (no HTTP), which
separates the runner's and the store's own cost from the SDK's.

    python bench/bench_engine.py [--n 2000] [--concurrency 32] [--latency 0.1] [--fault-rate 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from culturalign.engine import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.models.registry import get_backend
from culturalign.store import RunStore

STUB = Path(__file__).resolve().parents[1] / "tests" / "servers" / "faulty.py"


def start_stub(latency_s: float, fault_rate: float) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable,
        str(STUB),
        "--latency",
        str(latency_s),
        "--fault-rate",
        str(fault_rate),
        "--slow",
        "0.2",
        "--stall",
        "2.0",
        "--retry-after",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, json.loads(line)["base_url"]


def stub_stats(base_url: str) -> dict:
    root = base_url.rsplit("/v1", 1)[0]
    with urllib.request.urlopen(f"{root}/_stats", timeout=10) as response:
        return json.load(response)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_requests(base_url: str, n: int, concurrency: int) -> list[Request]:
    spec = ModelSpec(
        name="stub",
        backend="openai",
        model="stub",
        base_url=base_url,
        max_concurrency=concurrency,
        timeout_s=1.0,
        max_retries=6,
        options={"retry_base_s": 0.05, "retry_cap_s": 1.0},
    )
    return [
        Request(
            spec, (ChatMessage(role="user", content=f"benchmark request {i:06d}"),), GenerateConfig(max_tokens=16), 0
        )
        for i in range(n)
    ]


def warm_up(base_url: str) -> None:
    """One request before timing, so that the SDK's lazy imports (about a second of CPU) are not
    counted as engine time; a real run pays them once, during `check()`."""
    spec = build_requests(base_url, 1, 1)[0].model
    backend = get_backend(spec)

    async def ask() -> None:
        await backend.generate([ChatMessage(role="user", content="warm-up")], GenerateConfig(max_tokens=1))
        await backend.aclose()

    asyncio.run(ask())


def one_pass(n: int, concurrency: int, latency_s: float, fault_rate: float) -> dict:
    process, base_url = start_stub(latency_s, fault_rate)
    try:
        warm_up(base_url)
        server_cpu_before = process_cpu_s(process.pid)
        requests = build_requests(base_url, n, concurrency)
        with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "bench.sqlite") as store:
            run_id = store.start_run("bench", "bench", {"fault_rate": fault_rate})
            started, cpu_started = time.perf_counter(), time.process_time()
            counts = run_requests(store, run_id, "generate", requests, show_progress=False)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            stored = store.conn.execute("SELECT COUNT(*) FROM calls WHERE response IS NOT NULL").fetchone()[0]
        server_cpu = process_cpu_s(process.pid) - server_cpu_before
        stats = stub_stats(base_url)
    finally:
        process.terminate()
        process.wait()
    ideal = n * latency_s / concurrency
    attempts = sum(stats["attempts"].values()) - 1  # the warm-up request
    return {
        "fault_rate": fault_rate,
        "requests": n,
        "answered": counts["answered"],
        "failed": counts["failed"],
        "stored_answers": stored,
        "server_attempts": attempts,
        "faults": stats["faults"],
        "max_in_flight": stats["max_in_flight"],
        "elapsed_s": round(elapsed, 2),
        "client_cpu_s": round(cpu, 2),
        "stub_cpu_s": round(server_cpu, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(elapsed / ideal, 3),
    }


def engine_only_pass(n: int, concurrency: int, latency_s: float) -> dict:
    """The same load through the in-package mock backend (sleeps `latency_s`, no HTTP): what the
    runner and the store cost on their own, without the SDK's per-request work."""
    spec = ModelSpec(
        name="mock", backend="mock", max_concurrency=concurrency, options={"latency_s": latency_s, "mode": "echo"}
    )
    requests = [
        Request(spec, (ChatMessage(role="user", content=f"benchmark request {i:06d}"),), GenerateConfig(), 0)
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "bench.sqlite") as store:
        run_id = store.start_run("bench-mock", "bench", {})
        started, cpu_started = time.perf_counter(), time.process_time()
        counts = run_requests(store, run_id, "generate", requests, show_progress=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    ideal = n * latency_s / concurrency
    return {
        "backend": "mock (no HTTP)",
        "requests": n,
        "answered": counts["answered"],
        "elapsed_s": round(elapsed, 2),
        "client_cpu_s": round(cpu, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(elapsed / ideal, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    args = parser.parse_args()
    print(json.dumps({"load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}), flush=True)
    print(json.dumps(engine_only_pass(args.n, args.concurrency, args.latency)), flush=True)
    for rate in (0.0, args.fault_rate):
        result = one_pass(args.n, args.concurrency, args.latency, rate)
        print(json.dumps({"backend": "openai -> loopback stub", **result}), flush=True)


if __name__ == "__main__":
    main()
