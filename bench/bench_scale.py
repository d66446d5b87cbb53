"""Scaling out, measured: endpoints, client CPU per request, memory at a million requests,
the store's insert cost as it grows, batch files of 100,000 requests, and the Ray engine.

    python bench/bench_scale.py                 # everything (several minutes)
    python bench/bench_scale.py --only cpu      # one part: endpoints | cpu | memory | store | files | ray

Every figure is printed as one JSON line with the machine's load beside it, so a reader
can tell a quiet machine from a busy one. Each memory figure comes from a fresh process
(peak resident set size, as the kernel reports it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_engine import process_cpu_s, start_stub, warm_up  # noqa: E402

from culturalign.engine import Request, run_requests  # noqa: E402
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec  # noqa: E402
from culturalign.store import RunStore  # noqa: E402


def emit(**figures: object) -> None:
    print(json.dumps({"load_1min": round(os.getloadavg()[0], 2), **figures}), flush=True)


def stub_spec(urls: list[str], concurrency: int, transport: str = "auto") -> ModelSpec:
    return ModelSpec(
        name="stub",
        backend="openai",
        model="stub",
        base_url=urls if len(urls) > 1 else urls[0],
        max_concurrency=concurrency,
        timeout_s=10,
        max_retries=6,
        options={"retry_base_s": 0.05, "http_client": transport},
    )


def requests_for(spec: ModelSpec, n: int, tag: str = "") -> list[Request]:
    return [
        Request(spec, (ChatMessage(role="user", content=f"bench {tag}{i:07d}"),), GenerateConfig(max_tokens=16))
        for i in range(n)
    ]


def timed_run(spec: ModelSpec, n: int, tag: str) -> tuple[float, float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "b.sqlite") as store:
        run_id = store.start_run("bench", "bench", {})
        requests = requests_for(spec, n, tag)
        started, cpu = time.perf_counter(), time.process_time()
        counts = run_requests(store, run_id, "generate", requests, show_progress=False)
        return time.perf_counter() - started, time.process_time() - cpu, counts


@contextmanager
def running_stubs(count: int, latency: float) -> Iterator[list[tuple[subprocess.Popen, str]]]:
    """`count` loopback stubs, each in its own process and warmed up; stopped on the way out."""
    stubs = [start_stub(latency, 0.0) for _ in range(count)]
    try:
        for _, url in stubs:
            warm_up(url)
        yield stubs
    finally:
        for process, _ in stubs:
            process.terminate()
            process.wait()


# -- 1. one endpoint or three ----------------------------------------------------------------------
def bench_endpoints(n: int, latency: float, concurrency: int) -> None:
    with running_stubs(3, latency) as stubs:
        for count in (1, 3):
            spec = stub_spec([u for _, u in stubs[:count]], concurrency)
            wall, cpu, counts = timed_run(spec, n, f"e{count}-")
            ideal = n * latency / (concurrency * count)
            emit(
                part="endpoints",
                endpoints=count,
                requests=n,
                answered=counts["answered"],
                wall_s=round(wall, 2),
                ideal_s=round(ideal, 2),
                ratio=round(wall / ideal, 2),
                client_cpu_s=round(cpu, 2),
            )


# -- 2. client CPU per request ------------------------------------------------------------------------
def bench_cpu(n: int, latency: float, concurrency: int) -> None:
    with running_stubs(1, latency) as [(process, url)]:
        for transport in ("direct", "aiohttp", "httpx"):
            server_before = process_cpu_s(process.pid)
            wall, cpu, counts = timed_run(stub_spec([url], concurrency, transport), n, f"{transport}-")
            ideal = n * latency / concurrency
            emit(
                part="cpu",
                transport=transport,
                requests=n,
                answered=counts["answered"],
                wall_s=round(wall, 2),
                ideal_s=round(ideal, 2),
                ratio=round(wall / ideal, 2),
                client_cpu_ms_per_request=round(cpu / n * 1000, 3),
                stub_cpu_ms_per_request=round((process_cpu_s(process.pid) - server_before) / n * 1000, 3),
            )


# -- 3. memory at 100k and 1M requests (mock backend, fresh process each) ------------------------------
def memory_child(n: int) -> None:
    spec = ModelSpec(name="mock", backend="mock", max_concurrency=64, options={"mode": "echo"})

    def stream():  # requests made as the runner pulls them, as a probe with a million rows would
        for i in range(n):
            yield Request(spec, (ChatMessage(role="user", content=f"memory {i:08d}"),), GenerateConfig())

    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "m.sqlite") as store:
        run_id = store.start_run("memory", "bench", {})
        started = time.perf_counter()
        counts = run_requests(store, run_id, "generate", stream(), show_progress=False)
        wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(part="memory", requests=n, answered=counts["answered"], wall_s=round(wall, 1), peak_rss_mib=round(peak_mib))


def bench_memory(sizes: list[int]) -> None:
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--memory-child", str(n)], check=True)


# -- 4. the store's insert cost as it grows -------------------------------------------------------------
def bench_store(rows: int, batch: int) -> None:
    from culturalign.models.base import ModelOutput

    spec = ModelSpec(name="m", backend="mock")
    params = GenerateConfig()
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "s.sqlite") as store:
        marks = {10_000, rows // 2, rows}
        elapsed, inserted, window = 0.0, 0, 0
        for start in range(0, rows, batch):
            records = []
            for i in range(start, start + batch):
                request = requests_for(spec, 1, f"s{i}-")[0]
                records.append((request.key, spec, params, request.messages, 0, ModelOutput(text="x" * 200)))
            began = time.perf_counter()
            store.save_calls(records)
            elapsed += time.perf_counter() - began
            inserted += batch
            window += 1
            if inserted in marks:
                emit(
                    part="store",
                    rows=inserted,
                    batch_rows=batch,
                    ms_per_batched_insert=round(elapsed / window * 1000, 3),
                )
                elapsed, window = 0.0, 0


# -- 5. batch file export and import of 100k requests ----------------------------------------------------
def files_child(n: int) -> None:
    from culturalign.engine import batch_files
    from culturalign.engine.batching import ExportTarget, write_export

    spec = ModelSpec(name="served", backend="openai", model="stub", base_url="http://127.0.0.1:9/v1")
    items = [(r.key, r) for r in requests_for(spec, n, "f-")]
    base_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "f.sqlite") as store:
        target = ExportTarget("served", Path(folder) / "in.jsonl")
        started = time.perf_counter()
        write_export(store, "generate", items, target)
        export_s = time.perf_counter() - started
        output = Path(folder) / "out.jsonl"
        with open(output, "w", encoding="utf-8") as handle:
            for key, _ in items:
                body = {
                    "choices": [{"message": {"content": "an answer"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3},
                }
                handle.write(
                    json.dumps({"custom_id": key, "error": None, "response": {"status_code": 200, "body": body}}) + "\n"
                )
        started = time.perf_counter()
        counts = batch_files.store_outputs(store, batch_files.output_file_records(output), str(output))
        import_s = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(
        part="files",
        requests=n,
        rss_before_export_mib=round(base_mib),
        export_s=round(export_s, 2),
        import_s=round(import_s, 2),
        imported=counts.answered,
        peak_rss_mib=round(peak_mib),
    )


# -- 6. the Ray engine against the native one --------------------------------------------------------
def bench_ray(n: int, latency: float, concurrency: int) -> None:
    """The same requests through the native engine and through a local Ray instance (2 CPUs).
    Ray's start-up (ray.init) is reported apart; each Ray pass includes its actors' start."""
    from culturalign.engine.ray_engine import connect, using_cluster

    with running_stubs(1, latency) as [(_, url)]:
        spec = stub_spec([url], concurrency)
        ideal = n * latency / concurrency
        wall, cpu, counts = timed_run(spec, n, "native-")
        emit(
            part="ray",
            engine="native",
            requests=n,
            answered=counts["answered"],
            wall_s=round(wall, 2),
            ideal_s=round(ideal, 2),
            driver_cpu_s=round(cpu, 2),
        )
        started = time.perf_counter()
        cluster = connect(None)
        emit(part="ray", step="start-up", ray_init_s=round(time.perf_counter() - started, 2), cpus=cluster.cpus)
        try:
            with using_cluster(cluster):
                for attempt in (1, 2):  # the second pass finds Ray's worker processes already started
                    wall, cpu, counts = timed_run(spec, n, f"ray{attempt}-")
                    emit(
                        part="ray",
                        engine="ray",
                        ray_pass=attempt,
                        requests=n,
                        answered=counts["answered"],
                        wall_s=round(wall, 2),
                        ideal_s=round(ideal, 2),
                        driver_cpu_s=round(cpu, 2),
                    )
        finally:
            import ray

            ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["endpoints", "cpu", "memory", "store", "files", "ray"])
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--files-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n-cpu", type=int, default=20_000)
    parser.add_argument("--memory-sizes", default="100000,1000000")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.files_child:
        files_child(args.files_child)
        return
    emit(part="machine", cpus=os.cpu_count())
    if args.only in (None, "endpoints"):
        bench_endpoints(2000, 0.1, 32)
    if args.only in (None, "cpu"):
        bench_cpu(args.n_cpu, 0.01, 32)
    if args.only in (None, "memory"):
        bench_memory([int(s) for s in args.memory_sizes.split(",")])
    if args.only in (None, "store"):
        bench_store(100_000, 100)
    if args.only in (None, "files"):
        subprocess.run([sys.executable, __file__, "--files-child", "100000"], check=True)
    if args.only in (None, "ray"):
        bench_ray(2000, 0.1, 32)


if __name__ == "__main__":
    main()
