"""Ask every request that has no stored answer yet, store each answer as it arrives.

Retries, backoff and rate limits belong to the backends (they know their server's
errors); the runner owns concurrency per model, de-duplication against the store and
progress. Because each answer is committed on arrival (answers arriving together share one
commit), killing a run loses at most the calls that were in flight, and the rerun asks
exactly those again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from culturalign.engine.progress import StageProgress
from culturalign.models.base import ChatMessage, GenerateConfig, ModelBackend, ModelOutput, ModelSpec
from culturalign.models.registry import get_backend
from culturalign.models.retry import BACKEND
from culturalign.redact import redact
from culturalign.store.db import CallRecord, RunStore
from culturalign.store.keys import request_key
from culturalign.store.stats import begin_stage, end_stage


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

    by_model: dict[str, list[tuple[str, Request]]] = defaultdict(list)
    for key, request in pending:
        by_model[request.model.name].append((key, request))
    # Every backend is built before the first call, so a missing key or package stops the
    # stage before anything is asked.
    backends = {name: get_backend(items[0][1].model) for name, items in by_model.items()}
    totals = Counter(r.model.name for r in unique.values())
    cached_per_model = Counter(unique[key].model.name for key in cached)
    for name in totals.keys() - by_model.keys():  # all answers already stored: log the pass all the same
        end_stage(store, begin_stage(store, run_id, stage, name, totals[name], cached_per_model[name], 0), 0, 0, 0.0)
    if not pending:
        return counts

    with StageProgress(stage, total=len(unique), done=len(cached), enabled=show_progress) as progress:
        await asyncio.gather(
            *(
                _ask_model(
                    store,
                    backends[name],
                    items,
                    progress,
                    counts,
                    begin_stage(store, run_id, stage, name, totals[name], cached_per_model[name], len(items)),
                )
                for name, items in by_model.items()
            )
        )
    return counts


async def _ask_model(
    store: RunStore,
    backend: ModelBackend,
    items: list[tuple[str, Request]],
    progress: StageProgress,
    counts: dict[str, int],
    log_id: int,
) -> None:
    gate = asyncio.Semaphore(backend.spec.max_concurrency)
    mine = {"answered": 0, "failed": 0}
    started = time.perf_counter()
    writer = _GroupCommit(store)

    async def ask(key: str, request: Request) -> None:
        async with gate:
            store.check_hold()  # a run taken over by another process (lost lease) asks nothing more
            try:
                output = await backend.generate(list(request.messages), request.params)
            except Exception as exc:  # a backend bug must not lose the rest of the run
                output = ModelOutput(error=f"{BACKEND}: {type(exc).__name__}: {exc}")
        if output.error is not None:  # servers and SDKs may quote the API key
            output = output.model_copy(update={"error": redact(output.error)})
        await writer.save((key, request.model, request.params, request.messages, request.sample_index, output))
        outcome = "answered" if output.ok else "failed"
        counts[outcome] += 1
        mine[outcome] += 1
        progress.advance(failed=not output.ok)

    try:
        await asyncio.gather(*(ask(key, request) for key, request in items))
    finally:
        writer.flush()
        end_stage(store, log_id, mine["answered"], mine["failed"], time.perf_counter() - started)
        await backend.aclose()


class _GroupCommit:
    """Answers that arrive in the same turn of the event loop are committed in one transaction.

    The first answer of a batch yields once, letting every other finished request add its
    answer, then commits them all. Under light load a batch is one answer (a commit per
    answer, as before); under heavy load a commit carries many, which keeps SQLite from
    becoming the bottleneck. An answer counts as stored once its batch is committed, so a
    crash loses only answers received in that same instant, and the rerun asks them again.
    """

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.pending: list[CallRecord] = []

    async def save(self, record: CallRecord) -> None:
        self.pending.append(record)
        if len(self.pending) > 1:
            return  # the first answer of this batch commits it
        await asyncio.sleep(0)
        self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if batch:
            self.store.save_calls(batch)


def check_backends(specs: Iterable[ModelSpec]) -> None:
    """Build each distinct model's backend and run its `check()`: a missing key, package or
    server raises BackendError (one line) before a run starts."""
    asyncio.run(acheck_backends(specs))


async def acheck_backends(specs: Iterable[ModelSpec]) -> None:
    seen: dict[str, ModelSpec] = {}
    for spec in specs:
        seen.setdefault(spec.name, spec)
    for spec in seen.values():
        backend = get_backend(spec)
        try:
            await backend.check()
        finally:
            await backend.aclose()
