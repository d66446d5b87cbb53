"""Batch files: the JSONL that OpenAI's Batch API and `vllm run-batch` read and write.

One input line per pending request, `custom_id` being the request's store key; one output
line per answer, carrying the same `custom_id`. Writing a file records its requests in the
run store (store/batches.py), so reading an output file back needs nothing but the store:
every answer lands under its key exactly as the online backend would have stored it, and
reading the same file twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from culturalign.errors import DataError, one_line
from culturalign.models.base import ChatMessage, GenerateConfig, ModelOutput, ModelSpec
from culturalign.models.retry import REJECTED
from culturalign.store import batches as stored
from culturalign.store.db import RunStore
from culturalign.tables import atomic_target

if TYPE_CHECKING:
    from culturalign.engine.runner import Request

CHAT_URL = "/v1/chat/completions"
COMPLETION_URL = "/v1/completions"


def endpoint_url(spec: ModelSpec) -> str:
    return COMPLETION_URL if spec.prompt_style == "completion" else CHAT_URL


class _Memo:
    """A run has a handful of distinct models and parameter sets across thousands of requests:
    each is dumped (by identity) or parsed (by its JSON text) once per batch, not once per line.
    One memo lives for one export or import, so nothing outlives it."""

    def __init__(self) -> None:
        self._dumps: dict[int, tuple[object, dict[str, Any]]] = {}
        self._parsed: dict[tuple[type, str], Any] = {}

    def dumped(self, model: ModelSpec | GenerateConfig, **options: Any) -> dict[str, Any]:
        cached = self._dumps.get(id(model))
        if cached is None or cached[0] is not model:
            cached = self._dumps[id(model)] = (model, model.model_dump(**options))
        return cached[1]

    def parsed(self, kind: type, data: dict[str, Any]) -> Any:
        text = json.dumps(data, sort_keys=True)
        value = self._parsed.get((kind, text))
        if value is None:
            value = self._parsed[(kind, text)] = kind(**data)
        return value


def request_json(request: Request, memo: _Memo) -> str:
    """Everything needed to store an answer to this request later, as JSON."""
    return json.dumps(
        {
            "model": memo.dumped(request.model, mode="json", exclude_none=True),
            "params": memo.dumped(request.params, exclude_none=True),
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "sample_index": request.sample_index,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def batch_contents(items: Sequence[tuple[str, Request]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The input lines of a batch, and the (key, request JSON) records the store keeps for it."""
    memo = _Memo()
    lines = [input_line(key, r.model, r.messages, r.params) for key, r in items]
    return lines, [(key, request_json(r, memo)) for key, r in items]


@dataclass(frozen=True)
class StoredRequest:
    """A request read back from a batch record: what `RunStore.save_call` needs."""

    model: ModelSpec
    messages: tuple[ChatMessage, ...]
    params: GenerateConfig
    sample_index: int

    @classmethod
    def from_json(cls, text: str, memo: _Memo) -> StoredRequest:
        data = json.loads(text)
        return cls(
            model=memo.parsed(ModelSpec, data["model"]),
            messages=tuple(ChatMessage(**m) for m in data["messages"]),
            params=memo.parsed(GenerateConfig, data["params"]),
            sample_index=int(data["sample_index"]),
        )


def input_line(key: str, model: ModelSpec, messages: Iterable[ChatMessage], params: GenerateConfig) -> str:
    """One Batch API input line (JSON, no newline)."""
    from culturalign.models.openai_backend import request_body  # the SDK loads only for batch work

    body = request_body(model, list(messages), params, extra_body=model.options.get("extra_body"))
    line = {"custom_id": key, "method": "POST", "url": endpoint_url(model), "body": body}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def batch_id_for(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:24]


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write JSONL atomically (the file appears whole or not at all); returns the byte count."""
    size = 0
    with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")
            size += len(line.encode("utf-8")) + 1
    return size


# -- reading answers back ---------------------------------------------------------------------
def read_output_lines(text: str, source: str) -> list[dict[str, Any]]:
    """Parse an output (or error) file held in memory (a Batch API download)."""
    return list(_records(text.splitlines(), source))


def output_file_records(path: Path) -> Callable[[], Iterator[dict[str, Any]]]:
    """The records of an output file on disk, read lazily (and again on each call)."""

    def read() -> Iterator[dict[str, Any]]:
        try:
            with open(path, encoding="utf-8") as handle:
                yield from _records(handle, str(path))
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text; is it a batch output file?") from None

    return read


def _records(lines: Iterable[str], source: str) -> Iterator[dict[str, Any]]:
    """Each line's record; a line that is not a JSON object with a custom_id is a one-line error."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source} line {number} is not JSON ({exc.msg}); is it a batch output file?") from None
        if not isinstance(record, dict) or not isinstance(record.get("custom_id"), str):
            raise DataError(f"{source} line {number} has no custom_id; is it a batch output file?")
        yield record


def output_from_record(record: dict[str, Any], completion: bool, score_choices: list[str] | None = None) -> ModelOutput:
    """A batch output (or error) line as the online backend would have returned it (for a scored
    request: the options' log-probabilities, or a failure when the line carries none)."""
    from culturalign.models.openai_backend import parse_answer

    response = record.get("response") or {}
    error = record.get("error")
    status = response.get("status_code")
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        return ModelOutput(error=f"{REJECTED}: batch line failed ({code or 'error'}): {one_line(str(message), 300)}")
    if status != 200:
        return ModelOutput(
            error=f"{REJECTED}: batch line answered http {status}: {one_line(json.dumps(response), 300)}"
        )
    try:
        output = parse_answer(response.get("body"), completion)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return ModelOutput(error=f"{REJECTED}: batch line has no answer ({type(exc).__name__}: {exc})")
    return output if not score_choices else _scored(response.get("body"), completion, score_choices, output)


def _scored(body: Any, completion: bool, choices: list[str], output: ModelOutput) -> ModelOutput:
    from culturalign.models.base import scored_output
    from culturalign.models.openai_choices import option_logprobs, top_logprobs
    from culturalign.models.retry import NO_LOGPROBS

    top = top_logprobs(body, completion)
    if top is None:
        return ModelOutput(error=f"{NO_LOGPROBS}: the batch output line carries no logprobs for a scored request")
    return scored_output(option_logprobs(top, choices), input_tokens=output.input_tokens, finish_reason="scored")


@dataclass
class ImportCounts:
    lines: int = 0
    answered: int = 0
    failed: int = 0
    already_stored: int = 0


def store_outputs(
    store: RunStore, records: Callable[[], Iterable[dict[str, Any]]], source: str, chunk: int = 5_000
) -> ImportCounts:
    """Store every record's answer under its custom_id.

    A first pass checks the whole file: every custom_id must be a request this store sent
    out in a batch, and appear once; else nothing is stored and the error says how many lines
    are unknown or repeated. The second pass stores the answers, a chunk per transaction. An
    answer already stored is left as it is; a failure is stored only where nothing is, so a
    second import of the same file (or of a file cut short by a crash) changes nothing more."""
    ids = [record["custom_id"] for record in records()]
    if not ids:
        raise DataError(f"{source} holds no output lines; is it the batch run's output file?")
    repeated = [key for key, n in Counter(ids).items() if n > 1]
    if repeated:
        raise DataError(
            f"{source}: {len(repeated)} custom_id(s) appear more than once (e.g. {repeated[0][:16]}...);"
            " a batch output has one line per request: check the file was not concatenated"
        )
    known = stored.requests_for_keys(store, ids)
    unknown = len(ids) - len(known)
    if unknown:
        raise DataError(
            f"{source}: {unknown} of {len(ids)} lines have a custom_id this store never sent"
            " (is the file for another experiment or store?); nothing was imported"
        )
    counts = ImportCounts(lines=len(ids))
    memo = _Memo()
    batch: list[dict[str, Any]] = []
    for record in records():
        batch.append(record)
        if len(batch) == chunk:
            _store_chunk(store, batch, known, counts, memo)
            batch = []
    if batch:
        _store_chunk(store, batch, known, counts, memo)
    return counts


def _store_chunk(
    store: RunStore, records: list[dict[str, Any]], known: dict[str, str], counts: ImportCounts, memo: _Memo
) -> None:
    existing = store.get_calls([r["custom_id"] for r in records])
    rows = []
    for record in records:
        key = record["custom_id"]
        request = StoredRequest.from_json(known[key], memo)
        output = output_from_record(record, request.model.prompt_style == "completion", request.params.score_choices)
        previous = existing.get(key)
        if previous is not None and (previous.ok or not output.ok):
            counts.already_stored += 1
            continue
        rows.append((key, request.model, request.params, request.messages, request.sample_index, output))
        counts.answered += output.ok
        counts.failed += not output.ok
    if rows:
        store.save_calls(rows)
