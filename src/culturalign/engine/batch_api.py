"""Asking a model through a provider's Batch API (OpenAI's, or a server that follows it).

For the pending requests of one model: resume every batch the store says is in flight,
then split what is still unanswered under the per-batch limits, and for each part record
the batch, upload its input file, create the batch, and poll it until it ends; the output
and error files map back into the store by `custom_id`. Each step is recorded before the
next begins, so a process that dies anywhere is picked up by the next run without a second
submission: a batch created but not yet recorded is found again by its input file id.
Requests that a batch did not answer (expired, failed, cancelled) are stored as failures
with the reason, which leaves them pending: the next run submits only those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from culturalign.engine import batch_files
from culturalign.errors import BackendError
from culturalign.models.base import ModelOutput, ModelSpec
from culturalign.store import batches as stored
from culturalign.store.db import RunStore

if TYPE_CHECKING:
    import openai

    from culturalign.engine.runner import Request

# The documented per-batch limits, kept below with a margin.
MAX_REQUESTS = 50_000
MAX_BYTES = 190 * 1024 * 1024
RUNNING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})


@dataclass(frozen=True)
class BatchSettings:
    poll_s: float = 30.0
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    completion_window: str = "24h"

    @classmethod
    def for_model(cls, spec: ModelSpec) -> BatchSettings:
        options = spec.options
        return cls(
            poll_s=float(options.get("batch_poll_s", cls.poll_s)),
            max_requests=int(options.get("batch_max_requests", cls.max_requests)),
            max_bytes=int(options.get("batch_max_bytes", cls.max_bytes)),
            completion_window=str(options.get("batch_completion_window", cls.completion_window)),
        )


Progress = Callable[[ModelOutput], None]


def split_under_limits(lines: Sequence[str], max_requests: int, max_bytes: int) -> list[list[int]]:
    """Indices of `lines` in consecutive parts, each within both limits."""
    parts: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, line in enumerate(lines):
        line_bytes = len(line.encode("utf-8")) + 1
        if current and (len(current) >= max_requests or size + line_bytes > max_bytes):
            parts.append(current)
            current, size = [], 0
        current.append(index)
        size += line_bytes
    if current:
        parts.append(current)
    return parts


class BatchClient:
    """One model's batches: the store's records on one side, the provider's API on the other."""

    def __init__(self, store: RunStore, spec: ModelSpec, on_output: Progress) -> None:
        from culturalign.models.openai_backend import read_api_key  # the SDK loads only for batch runs

        self.store = store
        self.spec = spec
        self.settings = BatchSettings.for_model(spec)
        self.on_output = on_output
        self._api_key = read_api_key(spec)
        self._client: openai.AsyncOpenAI | None = None

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.spec.base_urls[0], max_retries=5, timeout=self.spec.timeout_s
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    # -- the whole job ---------------------------------------------------------------------
    async def run(self, items: Sequence[tuple[str, Request]]) -> None:
        for record in stored.open_batches(self.store, self.spec.name):
            await self.finish(record)
        answered = self.store.answered_keys([key for key, _ in items])
        todo = [(key, request) for key, request in items if key not in answered]
        if not todo:
            return
        lines, records = batch_files.batch_contents(todo)
        submitted = []
        for part in split_under_limits(lines, self.settings.max_requests, self.settings.max_bytes):
            submitted.append(await self.submit([records[i] for i in part], [lines[i] for i in part]))
        await asyncio.gather(*(self.finish(record) for record in submitted))

    async def submit(self, records: list[tuple[str, str]], lines: list[str]) -> stored.BatchRecord:
        """Record the batch (its requests), upload its input, create it; each step stored before the next."""
        batch_id = "api-" + batch_files.batch_id_for(lines)
        stored.record_batch(self.store, batch_id, "api", self.spec.name, records, endpoint=self.spec.base_urls[0])
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        uploaded = await self.client.files.create(file=(f"{batch_id}.jsonl", payload), purpose="batch")
        stored.update_batch(self.store, batch_id, input_file_id=uploaded.id, status=stored.UPLOADED)
        return await self._create(batch_id, uploaded.id)

    async def _create(self, batch_id: str, input_file_id: str) -> stored.BatchRecord:
        batch = await self.client.batches.create(
            input_file_id=input_file_id,
            endpoint=batch_files.endpoint_url(self.spec),  # type: ignore[arg-type]
            completion_window=self.settings.completion_window,  # type: ignore[arg-type]
            metadata={"culturalign_batch": batch_id},
        )
        stored.update_batch(self.store, batch_id, provider_batch_id=batch.id, status=batch.status)
        return self._record(batch_id)

    def _record(self, batch_id: str) -> stored.BatchRecord:
        for record in stored.open_batches(self.store, self.spec.name):
            if record.batch_id == batch_id:
                return record
        raise BackendError(f"batch {batch_id} vanished from the store while running")

    # -- after a restart, and until the end ----------------------------------------------------
    async def finish(self, record: stored.BatchRecord) -> None:
        """Bring a recorded batch to its end and store its answers."""
        if record.provider_batch_id is None:
            record = await self._adopt_or_create(record)
            if record.provider_batch_id is None:
                return
        while True:
            batch = await self.client.batches.retrieve(record.provider_batch_id)
            if batch.status not in RUNNING:
                break
            stored.update_batch(self.store, record.batch_id, status=batch.status)
            await asyncio.sleep(self.settings.poll_s)
        await self._collect(record, batch)

    async def _adopt_or_create(self, record: stored.BatchRecord) -> stored.BatchRecord:
        if record.input_file_id is None:
            # The upload never finished: nothing can be running; its requests are pending again.
            stored.forget_batch(self.store, record.batch_id)
            return record
        async for batch in self.client.batches.list(limit=100):
            if batch.input_file_id == record.input_file_id:
                stored.update_batch(self.store, record.batch_id, provider_batch_id=batch.id, status=batch.status)
                return self._record(record.batch_id)
        return await self._create(record.batch_id, record.input_file_id)

    async def _collect(self, record: stored.BatchRecord, batch: Any) -> None:
        answers: list[dict[str, Any]] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self.client.files.content(file_id)
                answers += batch_files.read_output_lines(content.text, f"batch {batch.id} file {file_id}")
        requests = stored.batch_items(self.store, record.batch_id)
        seen = {a["custom_id"] for a in answers}
        reason = _unanswered_reason(batch)
        for key in requests.keys() - seen:
            answers.append({"custom_id": key, "error": {"code": batch.status, "message": reason}})
        mine = [a for a in answers if a["custom_id"] in requests]
        counts = batch_files.store_outputs(self.store, lambda: mine, batch.id) if mine else batch_files.ImportCounts()
        for _ in range(counts.answered):
            self.on_output(ModelOutput(text="ok"))
        for _ in range(counts.failed):
            self.on_output(ModelOutput(error="failed"))
        stored.update_batch(
            self.store,
            record.batch_id,
            status=stored.IMPORTED,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
            note=f"provider status {batch.status}: {counts.answered} answered, {counts.failed} failed",
        )


def _unanswered_reason(batch: Any) -> str:
    if batch.status == "failed" and getattr(batch, "errors", None) is not None:
        details = [e.message for e in (batch.errors.data or []) if getattr(e, "message", None)]
        if details:
            return f"batch failed: {'; '.join(details)[:300]}"
    return f"the batch ended {batch.status} before answering this request; the next run submits it again"


async def ask_through_batch(
    store: RunStore, spec: ModelSpec, items: Sequence[tuple[str, Request]], on_output: Progress
) -> dict[str, int]:
    """The runner's entry for a model with `batch = true`; returns answered and failed counts."""
    counts = {"answered": 0, "failed": 0}

    def count(output: ModelOutput) -> None:
        counts["answered" if output.ok else "failed"] += 1
        on_output(output)

    client = BatchClient(store, spec, count)
    try:
        await client.run(items)
    finally:
        await client.aclose()
    return counts
