"""Ask every request that has no stored answer yet, store each answer as it arrives.

Retries, backoff and rate limits belong to the backends (they know their server's
errors); the runner owns concurrency per model, de-duplication against the store and
progress. Because each answer is committed on arrival, killing a run loses at most the
calls that were in flight, and the rerun asks exactly those again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from culturalign.engine.progress import StageProgress
from culturalign.models.base import ChatMessage, GenerateConfig, ModelOutput, ModelSpec
from culturalign.models.registry import get_backend
from culturalign.store.db import RunStore
from culturalign.store.keys import request_key


@dataclass(frozen=True)
class Request:
    """One model call. `meta` travels with it into the store but is not part of the key."""

    model: ModelSpec
    messages: tuple[ChatMessage, ...]
    params: GenerateConfig
    sample_index: int = 0
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> str:
        return request_key(self.model, self.messages, self.params, self.sample_index)


def run_requests(
    store: RunStore, run_id: str, stage: str, requests: Sequence[Request], *, show_progress: bool = True
) -> dict[str, int]:
    """Synchronous entry point: see `execute`."""
    return asyncio.run(execute(store, run_id, stage, requests, show_progress=show_progress))


async def execute(
    store: RunStore, run_id: str, stage: str, requests: Sequence[Request], *, show_progress: bool = True
) -> dict[str, int]:
    """Register the requests under (run, stage), ask only the unanswered ones, store every answer.

    Returns counts: total (distinct requests), cached, asked, answered, failed.
    """
    unique: dict[str, Request] = {}
    for request in requests:
        unique.setdefault(request.key, request)
    store.register_requests(run_id, stage, ((key, r.meta) for key, r in unique.items()))
    cached = store.answered_keys(list(unique))
    pending = [(key, r) for key, r in unique.items() if key not in cached]
    counts = {"total": len(unique), "cached": len(cached), "asked": len(pending), "answered": 0, "failed": 0}
    if not pending:
        return counts

    by_model: dict[str, list[tuple[str, Request]]] = defaultdict(list)
    for key, request in pending:
        by_model[request.model.name].append((key, request))

    with StageProgress(stage, total=len(unique), done=len(cached), enabled=show_progress) as progress:
        await asyncio.gather(
            *(_ask_model(store, items, progress, counts) for items in by_model.values())
        )
    return counts


async def _ask_model(
    store: RunStore, items: list[tuple[str, Request]], progress: StageProgress, counts: dict[str, int]
) -> None:
    spec = items[0][1].model
    backend = get_backend(spec)
    gate = asyncio.Semaphore(spec.max_concurrency)

    async def ask(key: str, request: Request) -> None:
        async with gate:
            try:
                output = await backend.generate(list(request.messages), request.params)
            except Exception as exc:  # a backend bug must not lose the rest of the run
                output = ModelOutput(error=f"{type(exc).__name__}: {exc}")
        store.save_call(key, request.model, request.params, request.messages, request.sample_index, output)
        counts["answered" if output.ok else "failed"] += 1
        progress.advance(failed=not output.ok)

    try:
        await asyncio.gather(*(ask(key, request) for key, request in items))
    finally:
        await backend.aclose()
