"""A run against an OpenAI-compatible stub, as its own process (the SIGKILL test kills it midway).

`python tests/servers/stub_run.py --base-url URL --store PATH --n 200 --concurrency 4 [--batch] [--engine ray]`
asks `stub_requests(...)` through the runner into the store and marks the run done.
"""

from __future__ import annotations

import argparse

from culturalign.engine import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.store import RunStore


def stub_requests(
    base_url: str, n: int, concurrency: int, *, batch: bool = False, batch_max_requests: int = 50_000
) -> list[Request]:
    spec = ModelSpec(
        batch=batch,
        name="stub",
        backend="openai",
        model="stub",
        base_url=base_url,
        max_concurrency=concurrency,
        timeout_s=10,
        max_retries=3,
        options={"retry_base_s": 0.01, "batch_poll_s": 0.05, "batch_max_requests": batch_max_requests},
    )
    return [
        Request(
            spec, (ChatMessage(role="user", content=f"question {i:05d}"),), GenerateConfig(max_tokens=8), 0, {"i": i}
        )
        for i in range(n)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", action="store_true", help="through the Batch API")
    parser.add_argument("--batch-max-requests", type=int, default=50_000)
    parser.add_argument("--engine", default="local", help="local, or ray (the Ray engine)")
    parser.add_argument("--ray-address", default=None)
    args = parser.parse_args(argv)
    from culturalign.engine.ray_engine import engine_scope

    with engine_scope(args.engine, args.ray_address), RunStore(args.store) as store:
        run_id = store.start_run("stub-run", "test", {"n": args.n})
        run_requests(
            store,
            run_id,
            "generate",
            stub_requests(
                args.base_url, args.n, args.concurrency, batch=args.batch, batch_max_requests=args.batch_max_requests
            ),
            show_progress=False,
        )
        store.finish_run(run_id)


if __name__ == "__main__":
    main()
