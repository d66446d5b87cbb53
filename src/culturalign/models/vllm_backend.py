"""vLLM offline batch generation (optional extra: pip install 'culturalign[vllm]').

UNTESTED HERE: vLLM needs a GPU and is not installed on the project's test machines. This
module is written against vLLM's documented offline API -- `vllm.LLM(model=...)`,
`LLM.generate(prompts, sampling_params)`, `LLM.chat(conversations, sampling_params)`,
`vllm.SamplingParams(temperature, top_p, max_tokens, seed, stop, ...)` and, for JSON
output, `StructuredOutputsParams(json=schema)` passed as `SamplingParams(structured_outputs=...)`
(vLLM >= 0.12) or the older `GuidedDecodingParams(json=schema)` passed as
`SamplingParams(guided_decoding=...)`; the answer mode `constrained` passes `choice=[...]` the
same way. The mode `scored` is not offered here (serve the model with `vllm serve` and use the
openai backend, which reads logprobs). The only test checks that choosing this backend
without vLLM installed gives a one-line BackendError.

The runner calls `generate` once per request; vLLM is fastest when it sees many prompts at
once, so concurrent calls are gathered into one batch (up to `max_batch`, waiting at most
`batch_wait_s` for more) and run in a worker thread. Give such a model a high
max_concurrency (e.g. 256) so that the runner keeps the batches full.
Options: max_batch (256), batch_wait_s (0.05), and `engine` (dict of keyword arguments for
vllm.LLM, e.g. {tensor_parallel_size = 2, max_model_len = 4096}).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

from culturalign.errors import BackendError
from culturalign.models import retry
from culturalign.models.base import (
    ChatMessage,
    GenerateConfig,
    ModelBackend,
    ModelOutput,
    ModelSpec,
    render_completion_prompt,
)

try:
    import vllm
except ImportError:
    raise BackendError(
        "the vllm backend needs the vllm package (GPU machines); pip install 'culturalign[vllm]',"
        ' or serve the model with `vllm serve` and use backend = "openai"'
    ) from None

_engines: dict[tuple[str, str], Any] = {}
_engines_lock = threading.Lock()


def _engine(spec: ModelSpec) -> Any:
    """One vllm.LLM per model and engine settings in this process (loading takes minutes)."""
    settings = dict(spec.options.get("engine") or {})
    key = (spec.model_id, repr(sorted(settings.items())))
    with _engines_lock:
        if key not in _engines:
            _engines[key] = vllm.LLM(model=spec.model_id, **settings)
        return _engines[key]


def _sampling_params(config: GenerateConfig) -> Any:
    kwargs: dict[str, Any] = {}
    for name in ("temperature", "top_p", "max_tokens", "seed", "stop"):
        value = getattr(config, name)
        if value is not None:
            kwargs[name] = value
    if config.choices:  # answer mode `constrained`: exactly one of the options
        kwargs.update(_structured_output_kwargs(choice=list(config.choices)))
    elif config.json_schema is not None:
        kwargs.update(_structured_output_kwargs(json=config.json_schema))
    return vllm.SamplingParams(**kwargs)


def _structured_output_kwargs(**constraint: Any) -> dict[str, Any]:
    from vllm import sampling_params as sp

    if hasattr(sp, "StructuredOutputsParams"):  # vLLM >= 0.12
        return {"structured_outputs": sp.StructuredOutputsParams(**constraint)}
    return {"guided_decoding": sp.GuidedDecodingParams(**constraint)}


@dataclass
class _Pending:
    messages: list[ChatMessage]
    config: GenerateConfig
    future: asyncio.Future


class VLLMBackend(ModelBackend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.max_batch = int(spec.options.get("max_batch", 256))
        self.batch_wait_s = float(spec.options.get("batch_wait_s", 0.05))
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task | None = None

    async def check(self) -> None:
        try:
            await asyncio.to_thread(_engine, self.spec)
        except Exception as exc:  # vLLM raises many kinds of errors for a model it cannot load
            raise BackendError(f"model {self.spec.name!r}: vLLM could not load {self.spec.model_id}: {exc}") from None

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        started = time.perf_counter()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(messages, config, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._drain())
        output: ModelOutput = await future
        return output.model_copy(update={"latency_s": time.perf_counter() - started})

    async def _drain(self) -> None:
        """Run queued requests in batches, one batch at a time (an LLM engine is not shared between threads)."""
        while self._queue:
            if len(self._queue) < self.max_batch:
                await asyncio.sleep(self.batch_wait_s)  # let concurrent requests join the batch
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                outputs = await asyncio.to_thread(self._run_batch, batch)
            except Exception as exc:  # the whole batch failed: each request gets the reason
                reason = f"{retry.BACKEND}: {type(exc).__name__}: {' '.join(str(exc).split())}"
                outputs = [ModelOutput(error=reason) for _ in batch]
            for pending, output in zip(batch, outputs, strict=True):
                if not pending.future.done():
                    pending.future.set_result(output)

    def _run_batch(self, batch: list[_Pending]) -> list[ModelOutput]:
        llm = _engine(self.spec)
        params = [_sampling_params(p.config) for p in batch]
        if self.spec.prompt_style == "completion":
            prompts = [render_completion_prompt(p.messages) for p in batch]
            results = llm.generate(prompts, params, use_tqdm=False)
        else:
            conversations = [[{"role": m.role, "content": m.content} for m in p.messages] for p in batch]
            results = llm.chat(conversations, params, use_tqdm=False)
        return [_to_output(result) for result in results]


def _to_output(result: Any) -> ModelOutput:
    completion = result.outputs[0]
    return ModelOutput(
        text=completion.text,
        input_tokens=len(result.prompt_token_ids) if result.prompt_token_ids is not None else None,
        output_tokens=len(completion.token_ids),
        finish_reason=completion.finish_reason,
    )
