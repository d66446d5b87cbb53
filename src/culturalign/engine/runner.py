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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from culturalign.engine.batch_api import ask_through_batch
from culturalign.engine.batching import current_export, export_pending
from culturalign.engine.progress import StageProgress
from culturalign.engine.ray_engine import CHUNK_REQUESTS, ask_on_ray, current_cluster
from culturalign.models.base import ChatMessage, GenerateConfig, ModelBackend, ModelOutput, ModelSpec
from culturalign.models.registry import get_backend
from culturalign.models.retry import BACKEND
from culturalign.redact import redact
from culturalign.store.db import CallRecord, RunStore
from culturalign.store.keys import request_key
from culturalign.store.stats import begin_stage, end_stage, set_stage_totals


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
    store: RunStore, run_id: str, stage: str, requests: Iterable[Request], *, show_progress: bool = True
) -> dict[str, int]:
    """Synchronous entry point: see `execute`."""
    return asyncio.run(execute(store, run_id, stage, requests, show_progress=show_progress))


# Requests are registered and looked up in the store this many at a time, and each model's
# lane holds at most this many times its concurrency waiting: memory stays flat however
# many requests a stage has (a million included), since nothing is made per request ahead.
CHUNK = 2_000
QUEUE_PER_SLOT = 2


async def execute(
    store: RunStore, run_id: str, stage: str, requests: Iterable[Request], *, show_progress: bool = True
) -> dict[str, int]:
    """Register the requests under (run, stage), ask only the unanswered ones, store every answer.

    Requests stream through: each chunk is registered, the answered ones are skipped, the
    others go into their model's bounded lane, where `capacity` workers ask and store them.
    Requests for a Batch API model, every request while a batch file is being exported, and
    every other request on the Ray engine (`engine.ray_engine`) are collected instead (they
    are sent, or written, together).
    Returns counts: total (distinct requests), cached, asked, answered, failed.
    """
    counts = {"total": 0, "cached": 0, "asked": 0, "answered": 0, "failed": 0}
    export = current_export()
    cluster = current_cluster()
    seen: set[str] = set()
    per_model: dict[str, Counter] = defaultdict(Counter)
    collected: dict[str, list[tuple[str, Request]]] = defaultdict(list)
    on_ray: dict[str, list[tuple[str, Request]]] = defaultdict(list)
    lanes: dict[str, _Lane] = {}
    with StageProgress(stage, total=0, enabled=show_progress) as progress:
        try:
            async with asyncio.TaskGroup() as group:
                for chunk in _chunks(requests, CHUNK):
                    fresh = _first_sightings(chunk, seen)
                    store.register_requests(run_id, stage, ((key, r.meta) for key, r in fresh))
                    cached = store.answered_keys([key for key, _ in fresh])
                    progress.grow(len(fresh), len(cached))
                    counts["total"] += len(fresh)
                    counts["cached"] += len(cached)
                    for key, request in fresh:
                        name = request.model.name
                        per_model[name]["total"] += 1
                        if key in cached:
                            per_model[name]["cached"] += 1
                            continue
                        per_model[name]["asked"] += 1
                        counts["asked"] += 1
                        if export is not None or request.model.batch:
                            collected[name].append((key, request))
                            continue
                        if cluster is not None:  # a dataset per CHUNK_REQUESTS: memory stays bounded
                            on_ray[name].append((key, request))
                            if len(on_ray[name]) == CHUNK_REQUESTS:
                                items, on_ray[name] = on_ray[name], []
                                _ask_on_ray(store, run_id, stage, cluster, items, progress, counts)
                            continue
                        if name not in lanes:
                            lanes[name] = _Lane(store, get_backend(request.model), progress, counts)
                            lanes[name].start(group, begin_stage(store, run_id, stage, name, 0, 0, 0))
                        await lanes[name].queue.put((key, request))
                if export is not None and collected:
                    export_pending(store, stage, collected, export)  # writes a batch file and stops the run
                for lane in lanes.values():
                    await lane.close()
                for items in on_ray.values():  # one model after another, each across the cluster
                    if items:
                        _ask_on_ray(store, run_id, stage, cluster, items, progress, counts)
                for name, items in collected.items():
                    log_id = begin_stage(store, run_id, stage, name, 0, 0, 0)
                    group.create_task(
                        _ask_batch(store, get_backend(items[0][1].model), items, progress, counts, log_id)
                    )
        except ExceptionGroup as group_error:
            raise group_error.exceptions[0] from None
    asked_somewhere = lanes.keys() | collected.keys() | on_ray.keys()
    for name, tally in per_model.items():
        if name not in asked_somewhere:  # all answers already stored: log the pass all the same
            end_stage(store, begin_stage(store, run_id, stage, name, 0, 0, 0), 0, 0, 0.0)
        set_stage_totals(store, run_id, stage, name, tally["total"], tally["cached"], tally["asked"])
    return counts


def _first_sightings(chunk: list[Request], seen: set[str]) -> list[tuple[str, Request]]:
    """(key, request) for the requests of `chunk` whose key has not been seen before (adds them)."""
    fresh = []
    for request in chunk:
        key = request.key
        if key not in seen:
            seen.add(key)
            fresh.append((key, request))
    return fresh


def _chunks(requests: Iterable[Request], size: int) -> Iterator[list[Request]]:
    chunk: list[Request] = []
    for request in requests:
        chunk.append(request)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _ask_batch(
    store: RunStore,
    backend: ModelBackend,
    items: list[tuple[str, Request]],
    progress: StageProgress,
    counts: dict[str, int],
    log_id: int,
) -> None:
    """A model with `batch = true`: its pending requests go through the provider's Batch API."""
    started = time.perf_counter()
    mine = {"answered": 0, "failed": 0}
    try:
        mine = await ask_through_batch(store, backend.spec, items, lambda out: progress.advance(failed=not out.ok))
    finally:
        counts["answered"] += mine["answered"]
        counts["failed"] += mine["failed"]
        end_stage(store, log_id, mine["answered"], mine["failed"], time.perf_counter() - started)
        await backend.aclose()


def _ask_on_ray(
    store: RunStore,
    run_id: str,
    stage: str,
    cluster: Any,
    items: list[tuple[str, Request]],
    progress: StageProgress,
    counts: dict[str, int],
) -> None:
    log_id = begin_stage(store, run_id, stage, items[0][1].model.name, 0, 0, 0)
    started = time.perf_counter()
    mine: dict[str, Any] = {"answered": 0, "failed": 0}
    try:
        ask_on_ray(cluster, store, items, progress, counts, mine)
    finally:
        end_stage(store, log_id, mine["answered"], mine["failed"], time.perf_counter() - started, mine.get("endpoints"))


class _Lane:
    """One model's pending requests: a bounded queue and `capacity` workers that ask and store."""

    def __init__(self, store: RunStore, backend: ModelBackend, progress: StageProgress, counts: dict[str, int]) -> None:
        self.store = store
        self.backend = backend
        self.progress = progress
        self.counts = counts
        self.queue: asyncio.Queue[tuple[str, Request] | None] = asyncio.Queue(maxsize=QUEUE_PER_SLOT * backend.capacity)
        self.writer = _GroupCommit(store)
        self.mine = {"answered": 0, "failed": 0}
        self.workers: list[asyncio.Task] = []
        self.started = time.perf_counter()
        self.log_id = 0

    def start(self, group: asyncio.TaskGroup, log_id: int) -> None:
        self.log_id = log_id
        self.workers = [group.create_task(self._work()) for _ in range(self.backend.capacity)]

    async def close(self) -> None:
        """No more requests: let every worker finish what it holds, then log the pass."""
        for _ in self.workers:
            await self.queue.put(None)
        try:
            await asyncio.gather(*self.workers)
        finally:
            await self._finish()

    async def _work(self) -> None:
        try:
            while (item := await self.queue.get()) is not None:
                await self._ask(*item)
        except BaseException:
            await self._finish()
            raise

    async def _ask(self, key: str, request: Request) -> None:
        self.store.check_hold()  # a run taken over by another process (lost lease) asks nothing more
        try:
            output = await self.backend.generate(list(request.messages), request.params)
        except Exception as exc:  # a backend bug must not lose the rest of the run
            output = ModelOutput(error=f"{BACKEND}: {type(exc).__name__}: {exc}")
        if output.error is not None:  # servers and SDKs may quote the API key
            output = output.model_copy(update={"error": redact(output.error)})
        await self.writer.save((key, request.model, request.params, request.messages, request.sample_index, output))
        outcome = "answered" if output.ok else "failed"
        self.counts[outcome] += 1
        self.mine[outcome] += 1
        self.progress.advance(failed=not output.ok)

    async def _finish(self) -> None:
        if self.log_id == 0:
            return  # already finished (another worker, or close)
        log_id, self.log_id = self.log_id, 0
        self.writer.flush()
        end_stage(
            self.store,
            log_id,
            self.mine["answered"],
            self.mine["failed"],
            time.perf_counter() - self.started,
            self.backend.endpoint_stats(),
        )
        await self.backend.aclose()


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
