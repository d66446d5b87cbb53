"""Cluster runs on Ray (`culturalign run EXPERIMENT.toml --engine ray`; extra `culturalign[ray]`).

The driver (the process that runs the experiment) keeps the run store; Ray's workers only
ask. For each model, a stage's pending requests become a Ray Dataset of small blocks (rows:
key, model spec JSON, messages, parameters, sample index). Two paths turn rows into answers:

- backend "vllm" on a cluster with GPUs: Ray Data LLM's vLLM engine processor
  (`ray.data.llm.vLLMEngineProcessorConfig` + `build_processor`), one engine replica per
  `tensor_parallel_size` GPUs;
- every other backend: `map_batches` with a pool of actors, each of which builds OUR backend
  (`models.registry.get_backend`) and answers its rows concurrently with asyncio, so retries,
  rate limits, endpoint spreading, redaction and the ModelOutput are those of a local run.
  (`ray.data.llm`'s HTTP request processor needs no GPU packages, but it sends to one URL,
  retries without Retry-After or endpoint rests and returns raw JSON: answers would not be
  stored as a local run stores them.)

The driver iterates the output as blocks complete and stores each block by key at once, so
an interrupted cluster run loses only the blocks in flight and resumes like a local one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from culturalign.errors import BackendError, UserError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelOutput, ModelSpec
from culturalign.models.retry import BACKEND
from culturalign.redact import redact
from culturalign.store.db import CallRecord, RunStore

if TYPE_CHECKING:
    from culturalign.engine.progress import StageProgress
    from culturalign.engine.runner import Request

ENGINES = ("local", "ray")
INSTALL_HINT = 'pip install "culturalign[ray]"'
CONNECT_TIMEOUT_S = 3.0
LOCAL_CPUS = 2
# A model's pending requests go to the cluster this many at a time (a dataset each), so the
# driver never holds more than this many of them, however large the run.
CHUNK_REQUESTS = 100_000
# One actor keeps this many requests in flight; a model gets ceil(max_concurrency / SLOTS) actors
# (at most one per CPU of the cluster), sharing its max_concurrency between them.
SLOTS_PER_ACTOR = 32
# Ray Data runs up to 4 batches of an async actor's block at once: with half the slots per
# batch and 4 batches per block, requests wait at the actor's gate, which stays full while a
# slow request holds back only its own batch. A block is stored as soon as it is answered.
BATCHES_PER_BLOCK = 4


@dataclass(frozen=True)
class RayCluster:
    """The Ray instance this run drives: its width, and whether this process started it."""

    cpus: int
    gpus: int
    started_here: bool
    address: str


_CLUSTER: ContextVar[RayCluster | None] = ContextVar("culturalign_ray_cluster", default=None)


def current_cluster() -> RayCluster | None:
    return _CLUSTER.get()


@contextmanager
def using_cluster(cluster: RayCluster) -> Iterator[RayCluster]:
    """Within this block, the runner asks through `cluster` instead of its local lanes."""
    token = _CLUSTER.set(cluster)
    try:
        yield cluster
    finally:
        _CLUSTER.reset(token)


@contextmanager
def engine_scope(engine: str, address: str | None = None, *, start: bool = True) -> Iterator[RayCluster | None]:
    """Run the body on `engine`: "local" (the runner's own lanes) or "ray" (connects, or starts
    a local instance of LOCAL_CPUS CPUs, and shuts down what it started on leaving)."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; use --engine local or --engine ray")
    if engine == "local":
        if address:
            raise UserError("--ray-address needs --engine ray")
        yield None
        return
    _import_ray()
    if not start:  # a dry run asks nothing: Ray is checked for, not started
        yield None
        return
    cluster = connect(address or os.environ.get("RAY_ADDRESS") or None)
    try:
        with using_cluster(cluster):
            yield cluster
    finally:
        if cluster.started_here:
            import ray

            ray.shutdown()


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(f"--engine ray needs Ray Data, which is not installed; {INSTALL_HINT}") from None
    return ray


def connect(address: str | None, num_cpus: int = LOCAL_CPUS) -> RayCluster:
    """Join the cluster at `address` (checked with a short TCP connect first, so a wrong address
    is one line, not a minute of retries), or start a local instance; reuse one already joined."""
    ray = _import_ray()
    if address and address not in ("auto", "local"):
        _check_reachable(address)
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address and address != "local":
            kwargs["address"] = address
        else:
            kwargs.update(address="local", num_cpus=num_cpus, include_dashboard=False)
        try:
            ray.init(**kwargs)
        except Exception as exc:  # Ray raises many kinds (ConnectionError, RuntimeError, ValueError)
            reason = " ".join(str(exc).split())[:200]
            raise UserError(
                f"could not join the Ray cluster at {address or 'a new local instance'}: {reason}"
            ) from None
        started = True
    _quiet_ray_data()
    resources = ray.cluster_resources()
    return RayCluster(
        cpus=max(1, int(resources.get("CPU", 1))),
        gpus=int(resources.get("GPU", 0)),
        started_here=started,
        address=address or "local",
    )


def _check_reachable(address: str) -> None:
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise UserError(
            f"--ray-address {address!r} is not host:port (or ray://host:port); give the head node's address"
        )
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(
            f"--ray-address {address}: nothing answers at {host}:{port} ({exc.strerror or type(exc).__name__});"
            " start the cluster (ray start --head) or fix the address"
        ) from None


def _quiet_ray_data() -> None:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the run's own progress bar counts stored answers
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # not "progress bars disabled" on every run


# -- one model's pending requests ---------------------------------------------------------------
def ask_on_ray(
    cluster: RayCluster,
    store: RunStore,
    items: list[tuple[str, Request]],
    progress: StageProgress,
    counts: dict[str, int],
    mine: dict[str, Any],
) -> None:
    """Ask one model's pending requests on the cluster; store each block of answers as it arrives,
    counting them in `counts` (the stage) and `mine` (this model: answered, failed and, for a model
    with several endpoints, `endpoints` as the run summary wants them), which stay right if it stops."""
    spec = items[0][1].model
    rows = [_row(key, request) for key, request in items]
    if on_vllm_engine(spec, cluster):
        answers = _vllm_answers(rows, spec, cluster)
    else:
        answers = _actor_answers(rows, spec, cluster)
    del rows
    per_actor: dict[str, list[dict[str, Any]]] = {}
    for block in _blocks_or_one_line(answers, spec):
        store.check_hold()  # a run taken over by another process stores nothing more
        rows = block.to_pylist()
        records = [_record(spec, row) for row in rows]
        store.save_calls(records)
        _latest_endpoint_stats(rows, per_actor)
        if per_actor:
            mine["endpoints"] = [entry for stats in per_actor.values() for entry in stats]
        for record in records:
            outcome = "answered" if record[5].ok else "failed"
            mine[outcome] += 1
            counts[outcome] += 1
            progress.advance(failed=not record[5].ok)


def _blocks_or_one_line(answers: Any, spec: ModelSpec) -> Iterator[Any]:
    """The output blocks as they complete; a failure on the cluster (an actor that cannot build the
    backend, a lost node) ends the run with one line naming the model. Stored answers stay."""
    try:
        yield from answers.iter_batches(batch_size=None, batch_format="pyarrow")
    except Exception as exc:
        if not type(exc).__module__.startswith("ray"):
            raise
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__
        raise BackendError(f"model {spec.name!r} on the Ray cluster: {reason[:300]}") from None


def on_vllm_engine(spec: ModelSpec, cluster: RayCluster | None) -> bool:
    """Whether this model is answered by Ray Data LLM's vLLM engine (so the driver needs no vLLM)."""
    return cluster is not None and spec.backend == "vllm" and cluster.gpus > 0


def _row(key: str, request: Request) -> dict[str, Any]:
    return {
        "key": key,
        "model": request.model.model_dump_json(),
        "messages": json.dumps([m.model_dump() for m in request.messages], ensure_ascii=False),
        "params": request.params.model_dump_json(exclude_none=True),
        "sample_index": request.sample_index,
    }


def _latest_endpoint_stats(rows: list[dict[str, Any]], per_actor: dict[str, list[dict[str, Any]]]) -> None:
    """Keep each actor's most advanced endpoint counts (they only grow; batches finish out of order).
    The summary adds the actors' entries for the same endpoint together."""
    for row in rows:
        if not row.get("endpoints"):
            continue
        report = json.loads(row["endpoints"])
        known = per_actor.get(report["actor"])
        progress = sum(e["answered"] + e["failed_attempts"] for e in report["stats"])
        if known is None or progress >= sum(e["answered"] + e["failed_attempts"] for e in known):
            per_actor[report["actor"]] = report["stats"]


def _record(spec: ModelSpec, row: dict[str, Any]) -> CallRecord:
    output = ModelOutput.model_validate_json(row["output"])
    if output.error is not None:  # masked in the actor already; the driver knows the keys for sure
        output = output.model_copy(update={"error": redact(output.error)})
    messages = tuple(ChatMessage(**m) for m in json.loads(row["messages"]))
    params = GenerateConfig.model_validate_json(row["params"])
    return (row["key"], spec, params, messages, int(row["sample_index"]), output)


def _blocks(n_rows: int, batch_size: int) -> int:
    return max(1, math.ceil(n_rows / (batch_size * BATCHES_PER_BLOCK)))


# -- every backend but vLLM on GPUs: our own backend inside actors -----------------------------
def actor_layout(capacity: int, cpus: int) -> tuple[int, int, int]:
    """(actors, slots per actor, rows per batch) for a model of `capacity` requests in flight."""
    actors = max(1, min(math.ceil(capacity / SLOTS_PER_ACTOR), cpus, capacity))
    slots = capacity // actors  # rounded down: the actors together never exceed the model's capacity
    return actors, slots, max(1, math.ceil(slots / 2))


def _actor_answers(rows: list[dict[str, Any]], spec: ModelSpec, cluster: RayCluster) -> Any:
    import ray.data

    actors, slots, batch_size = actor_layout(spec.max_concurrency, cluster.cpus)
    remote_args: dict[str, Any] = {}
    key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    if key and not cluster.started_here:  # workers of a local instance inherit this environment
        remote_args["runtime_env"] = {"env_vars": {spec.api_key_env: key}}
    dataset = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), batch_size))
    return dataset.map_batches(
        BackendActor,
        fn_constructor_kwargs={"spec_json": spec.model_dump_json(), "slots": slots},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
        **remote_args,
    )


class BackendActor:
    """A Ray Data actor holding one backend; answers the rows of its batches, `slots` at a time."""

    def __init__(self, spec_json: str, slots: int) -> None:
        from culturalign.models.registry import get_backend

        self.backend = get_backend(ModelSpec.model_validate_json(spec_json))
        self.actor = uuid.uuid4().hex
        self.slots = slots
        self.gate: asyncio.Semaphore | None = None

    async def __call__(self, batch: Any) -> dict[str, list[Any]]:
        if self.gate is None:  # made inside the actor's event loop
            self.gate = asyncio.Semaphore(self.slots)
        rows = batch.to_pylist()
        outputs = await asyncio.gather(*(self._answer(row) for row in rows))
        columns = {name: [row[name] for row in rows] for name in ("key", "messages", "params", "sample_index")}
        columns["output"] = [output.model_dump_json() for output in outputs]
        stats = self.backend.endpoint_stats()  # several endpoints: the counts for the run summary
        report = json.dumps({"actor": self.actor, "stats": stats}) if stats else ""
        columns["endpoints"] = [report if i == 0 else "" for i in range(len(rows))]
        return columns

    async def _answer(self, row: dict[str, Any]) -> ModelOutput:
        messages = [ChatMessage(**m) for m in json.loads(row["messages"])]
        params = GenerateConfig.model_validate_json(row["params"])
        assert self.gate is not None
        async with self.gate:
            try:
                output = await self.backend.generate(messages, params)
            except Exception as exc:  # a backend bug must not lose the rest of the run
                output = ModelOutput(error=f"{BACKEND}: {type(exc).__name__}: {exc}")
        if output.error is not None:  # servers and SDKs may quote the API key
            output = output.model_copy(update={"error": redact(output.error)})
        return output


# -- vLLM on the cluster's GPUs: Ray Data LLM's engine processor --------------------------------
def vllm_processor_config(spec: ModelSpec, cluster: RayCluster) -> Any:
    """The processor config for a `backend = "vllm"` model: same weights and engine settings as
    the vllm backend (`options.engine`), one replica per tensor-parallel group of GPUs."""
    from ray.data.llm import vLLMEngineProcessorConfig

    engine = dict(spec.options.get("engine") or {})
    per_replica = int(engine.get("tensor_parallel_size", 1)) * int(engine.get("pipeline_parallel_size", 1))
    return vLLMEngineProcessorConfig(
        model_source=spec.model_id,
        engine_kwargs=engine,
        concurrency=max(1, cluster.gpus // per_replica),
        batch_size=int(spec.options.get("max_batch", 64)),
        chat_template_stage=spec.prompt_style == "chat",  # completion style: our own plain-text prompt
        should_continue_on_error=True,  # a failed row is stored as a failure, not the end of the run
    )


def _vllm_answers(rows: list[dict[str, Any]], spec: ModelSpec, cluster: RayCluster) -> Any:
    import ray.data
    from ray.data.llm import build_processor

    config = vllm_processor_config(spec, cluster)
    processor = build_processor(config, preprocess=_vllm_input(spec.prompt_style), postprocess=vllm_output)
    dataset = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), config.batch_size))
    return processor(dataset)


def sampling_params(params: GenerateConfig) -> dict[str, Any]:
    """vLLM SamplingParams as the engine stage takes them (a dict), as the vllm backend sets them."""
    out: dict[str, Any] = {
        name: getattr(params, name)
        for name in ("temperature", "top_p", "max_tokens", "seed", "stop")
        if getattr(params, name) is not None
    }
    if params.json_schema is not None:
        out["structured_outputs"] = {"json": params.json_schema}
    return out


def _vllm_input(prompt_style: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        from culturalign.models.base import render_completion_prompt

        messages = json.loads(row["messages"])
        params = GenerateConfig.model_validate_json(row["params"])
        prompt: dict[str, Any]
        if prompt_style == "completion":
            prompt = {"prompt": render_completion_prompt([ChatMessage(**m) for m in messages])}
        else:
            prompt = {"messages": messages}
        # the chat template stage reads "messages" as a list: the stored JSON travels beside it
        return {**row, "messages_json": row["messages"], **prompt, "sampling_params": sampling_params(params)}

    return preprocess


def vllm_output(row: dict[str, Any]) -> dict[str, Any]:
    """An engine output row as the store wants it (the engine stage keeps the input columns)."""
    error = row.get("__inference_error__")
    if error:
        output = ModelOutput(error=f"{BACKEND}: {redact(str(error))}")
    else:
        output = ModelOutput(
            text=row.get("generated_text") or "",
            input_tokens=row.get("num_input_tokens"),
            output_tokens=row.get("num_generated_tokens"),
            latency_s=float(row.get("time_taken_llm") or 0.0),
        )
    return {
        "key": row["key"],
        "messages": row["messages_json"],
        "params": row["params"],
        "sample_index": row["sample_index"],
        "output": output.model_dump_json(),
    }
