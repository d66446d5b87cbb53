"""A deterministic backend inside the package, so tests and examples need no server.

Its answers depend only on the request (messages, parameters, a seed option), so a rerun
gives the same text. Modes (option `mode`):
- auto: `json` when the request carries a JSON schema, otherwise `list`;
- list: a numbered list of short summaries built from the prompt's own words (so that a
  language detector sees the prompt's language);
- choice: a sentence ending in a number from 1 to `choices` (default 5);
- json: a value that satisfies the request's JSON schema;
- echo: the last user message.
A request with `choices` gets one of them; one with `score_choices` gets made-up
log-probabilities for them. Option `latency_s` sleeps before answering; `fail_rate` turns that share of requests
(chosen by hash, so reproducibly) into errors. With the environment variable
CULTURALIGN_MOCK_CALL_LOG set to a file, every call appends a line "pid, model name, request
hash" to it, so that a test can count what several processes asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import random
import re
import time
from typing import Any

from culturalign.models.base import ChatMessage, GenerateConfig, ModelBackend, ModelOutput, scored_output


class MockBackend(ModelBackend):
    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        started = time.perf_counter()
        options = self.spec.options
        seed = _request_seed(messages, config, options)
        _log_call(self.spec.name, seed)
        latency = float(options.get("latency_s", 0.0))
        if latency:
            await asyncio.sleep(latency)
        rng = random.Random(seed)
        prompt = "\n".join(m.content for m in messages)
        n_in = len(prompt.split())
        if rng.random() < float(options.get("fail_rate", 0.0)):
            return ModelOutput(
                error="mock: injected failure", latency_s=time.perf_counter() - started, input_tokens=n_in
            )
        if config.score_choices:  # reproducible made-up log-probabilities, one per option
            return scored_output(
                {c: math.log(rng.uniform(0.05, 1.0)) for c in config.score_choices},
                input_tokens=n_in,
                output_tokens=0,
                latency_s=time.perf_counter() - started,
                finish_reason="scored",
            )
        if config.choices:
            text = rng.choice(config.choices)
            return ModelOutput(text=text, input_tokens=n_in, output_tokens=1, finish_reason="stop",
                               latency_s=time.perf_counter() - started)  # fmt: skip
        mode = options.get("mode", "auto")
        if mode == "auto":
            mode = "json" if config.json_schema else "list"
        text = _ANSWERERS[mode](rng, messages, config, options)
        return ModelOutput(
            text=text,
            input_tokens=n_in,
            output_tokens=len(text.split()),
            latency_s=time.perf_counter() - started,
            finish_reason="stop",
        )


def _log_call(model_name: str, seed: int) -> None:
    log = os.environ.get("CULTURALIGN_MOCK_CALL_LOG")
    if log:
        # One short write in append mode: lines from concurrent processes do not interleave.
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\t{model_name}\t{seed:x}\n")


def _request_seed(messages: list[ChatMessage], config: GenerateConfig, options: dict[str, Any]) -> int:
    payload = json.dumps(
        [[m.role, m.content] for m in messages] + [config.model_dump(exclude_none=True), options.get("seed", 0)],
        sort_keys=True,
    )
    return int.from_bytes(hashlib.sha256(payload.encode()).digest()[:8], "big")


def _prompt_words(messages: list[ChatMessage]) -> list[str]:
    text = " ".join(m.content for m in messages if m.role == "user") or messages[-1].content
    words = re.findall(r"[^\W\d_]{3,}", text)
    return words or ["ok"]


def _answer_list(rng: random.Random, messages: list[ChatMessage], config: GenerateConfig, options: dict) -> str:
    words = _prompt_words(messages)
    count = int(options.get("items", 10))
    lines = []
    for i in range(1, count + 1):
        picked = " ".join(rng.choice(words) for _ in range(rng.randint(8, 14)))
        lines.append(f"{i}. {picked[0].upper()}{picked[1:]}.")
    return "\n".join(lines)


def _answer_choice(rng: random.Random, messages: list[ChatMessage], config: GenerateConfig, options: dict) -> str:
    return f"{rng.randint(1, int(options.get('choices', 5)))}"


def _answer_echo(rng: random.Random, messages: list[ChatMessage], config: GenerateConfig, options: dict) -> str:
    return messages[-1].content


def _answer_json(rng: random.Random, messages: list[ChatMessage], config: GenerateConfig, options: dict) -> str:
    schema = config.json_schema or {"type": "object"}
    return json.dumps(_instance(schema, rng, schema), ensure_ascii=False)


def _instance(schema: dict[str, Any], rng: random.Random, root: dict[str, Any]) -> Any:
    """A random value satisfying the common subset of JSON schema that judges use."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _instance(root.get("$defs", root.get("definitions", {}))[name], rng, root)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _instance(rng.choice(schema[key]), rng, root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _instance(sub, rng, root) for name, sub in props.items()}
    if kind == "array":
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 10)))
        return [_instance(schema.get("items", {}), rng, root) for _ in range(rng.randint(low, high))]
    if kind == "integer":
        return rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 10)))
    if kind == "number":
        return rng.uniform(float(schema.get("minimum", 0.0)), float(schema.get("maximum", 1.0)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return "mock"


_ANSWERERS = {"list": _answer_list, "choice": _answer_choice, "json": _answer_json, "echo": _answer_echo}
