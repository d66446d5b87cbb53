"""Any OpenAI-compatible HTTP server (OpenAI, vLLM, SGLang, Ollama, llama.cpp server, LM Studio).

Uses the official `openai` SDK with its own retries switched off: this backend retries
itself so that every attempt is counted and the final failure carries its reason.
Retried: 429 (honouring Retry-After), 5xx, 408, timeouts, dropped connections and bodies
that are not the JSON an answer should be. Not retried: other 4xx (a bad key or an unknown
model will not get better by asking again).

Structured output: with `GenerateConfig.json_schema` set, the request carries
`response_format` of type json_schema; a server that rejects it (400/422) is asked again
with json_object (with, then without the schema), then with no format, and the backend remembers the level that worked.
Options: `retry_base_s`, `retry_cap_s` (backoff), `extra_body` (dict sent with every request),
`http_client` (auto: the SDK's aiohttp transport when aiohttp is installed, else httpx).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import time
from typing import Any

import openai

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
from culturalign.models.ratelimit import RateLimiter, estimate_request_tokens
from culturalign.redact import remember_secret

# Structured-output levels, strongest first; a server that rejects one gets the next.
# "json_object_schema" is json_object carrying the schema, which llama-cpp-python's server
# understands while rejecting type json_schema.
_JSON_LEVELS = ("json_schema", "json_object_schema", "json_object", "none")
_CHECK_TIMEOUT_S = 5.0
# (base_url, model) -> the strongest structured-output level the server accepted, kept for
# the process: the runner builds a fresh backend per stage, the server stays the same.
_accepted_json_level: dict[tuple[str | None, str], str] = {}


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class _Fatal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _FormatRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_api_key(spec: ModelSpec) -> str:
    """The key from the variable named by api_key_env; local servers without one get "EMPTY"."""
    env = spec.api_key_env or (None if spec.base_url else "OPENAI_API_KEY")
    if env is None:
        return "EMPTY"
    value = os.environ.get(env, "").strip()
    remember_secret(value)
    if not value:
        raise BackendError(
            f"model {spec.name!r}: environment variable {env} (api_key_env) is not set; export it with the API key"
        )
    return value


class OpenAIBackend(ModelBackend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._api_key = read_api_key(spec)
        options = spec.options
        self.policy = retry.RetryPolicy(
            max_retries=spec.max_retries,
            base_s=float(options.get("retry_base_s", 0.5)),
            cap_s=float(options.get("retry_cap_s", 30.0)),
        )
        self.limiter = RateLimiter(spec.requests_per_minute, spec.tokens_per_minute)
        self._server_key = (spec.base_url, spec.model_id)
        self.json_level = _accepted_json_level.get(self._server_key, _JSON_LEVELS[0])
        self._extra_body: dict[str, Any] = dict(options.get("extra_body") or {})
        self._transport = _choose_transport(str(options.get("http_client", "auto")), spec.name)
        self._client: openai.AsyncOpenAI | None = None

    @property
    def client(self) -> openai.AsyncOpenAI:
        # Created on first use, inside the event loop that will drive its connections.
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.spec.base_url,
                max_retries=0,
                timeout=self.spec.timeout_s,
                http_client=openai.DefaultAioHttpClient() if self._transport == "aiohttp" else None,
            )
        return self._client

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        started = time.perf_counter()
        estimated = estimate_request_tokens(messages, config)
        retries = 0
        while True:
            await self.limiter.acquire(estimated)
            try:
                output = await self._ask_once(messages, config)
            except _FormatRejected:
                continue  # asked again at a weaker structured-output level; not a retry
            except _Fatal as exc:
                return ModelOutput(error=exc.reason, retries=retries, latency_s=time.perf_counter() - started)
            except _Retryable as exc:
                too_long = exc.retry_after_s is not None and exc.retry_after_s > retry.MAX_RETRY_AFTER_S
                if retries >= self.policy.max_retries or too_long:
                    note = "server asked to wait too long" if too_long else f"gave up after {retries} retries"
                    return ModelOutput(
                        error=f"{exc.reason} ({note})", retries=retries, latency_s=time.perf_counter() - started
                    )
                await asyncio.sleep(self.policy.delay(retries, exc.retry_after_s))
                retries += 1
                continue
            used = (output.input_tokens or 0) + (output.output_tokens or 0)
            self.limiter.settle(estimated, used or None)
            return output.model_copy(update={"retries": retries, "latency_s": time.perf_counter() - started})

    async def _ask_once(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        level = self.json_level if config.json_schema else "none"
        completion = self.spec.prompt_style == "completion"
        body = self._request_body(messages, config, level)
        try:
            # The client's generic `post` (documented for endpoints the SDK does not wrap) with a
            # plain dict: the typed `create` methods spend several ms of CPU per call transforming
            # and validating, which at hundreds of calls per second becomes the bottleneck.
            data = await self.client.post(
                "/completions" if completion else "/chat/completions", cast_to=object, body=body
            )
            return _parse_answer(data, completion)
        except openai.APIStatusError as exc:
            if level != "none" and _rejects_format(exc):
                self._weaken_json_level(level)
                raise _FormatRejected(_status_reason(exc)) from None
            raise _classify_status(exc) from None
        except openai.APITimeoutError:
            raise _Retryable(f"{retry.TIMEOUT}: no answer within {self.spec.timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise _Retryable(f"{retry.CONNECTION}: {_one_line(str(exc.__cause__ or exc))}") from None
        except (openai.APIResponseValidationError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise _Retryable(f"{retry.MALFORMED}: {_one_line(f'{type(exc).__name__}: {exc}')}") from None

    def _weaken_json_level(self, rejected: str) -> None:
        position = _JSON_LEVELS.index(rejected)
        if _JSON_LEVELS.index(self.json_level) <= position:
            self.json_level = _JSON_LEVELS[position + 1]
            _accepted_json_level[self._server_key] = self.json_level

    def _request_body(self, messages: list[ChatMessage], config: GenerateConfig, level: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.spec.model_id}
        for name in ("temperature", "top_p", "max_tokens", "seed", "stop"):
            value = getattr(config, name)
            if value is not None:
                body[name] = value
        if self.spec.prompt_style == "completion":
            body["prompt"] = render_completion_prompt(messages)
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        response_format = _response_format(config.json_schema, level)
        if response_format is not None:
            # OpenAI's completions endpoint has no response_format; vLLM and llama.cpp servers accept it.
            body["response_format"] = response_format
        body.update(self._extra_body)
        return body

    async def check(self) -> None:
        """One short request to /models: an unreachable server or a refused key stops the run before it starts."""
        where = self.spec.base_url or "api.openai.com"
        try:
            await self.client.models.list(timeout=min(_CHECK_TIMEOUT_S, self.spec.timeout_s))
        except openai.AuthenticationError:
            raise BackendError(
                f"model {self.spec.name!r}: {where} refused the API key; check the variable named by api_key_env"
            ) from None
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"model {self.spec.name!r}: cannot reach {where} ({_one_line(str(exc.__cause__ or exc))});"
                " start the server or correct base_url"
            ) from None
        except (openai.APIStatusError, openai.APIResponseValidationError, ValueError):
            pass  # reachable; some servers simply do not list models

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _choose_transport(choice: str, model_name: str) -> str:
    """The SDK's aiohttp transport when aiohttp is installed (`auto`) or asked for; else httpx.

    With many requests in flight the default httpx transport costs much more CPU per request
    (measured: 2.2 vs 1.4 ms), which on a small machine caps throughput below what the server
    could give. Option http_client = "auto" | "aiohttp" | "httpx".
    """
    if choice not in ("auto", "aiohttp", "httpx"):
        raise BackendError(f"model {model_name!r}: options.http_client must be auto, aiohttp or httpx, not {choice!r}")
    if choice == "httpx":
        return "httpx"
    if importlib.util.find_spec("aiohttp") is None:
        if choice == "aiohttp":
            raise BackendError(
                f'model {model_name!r}: options.http_client = "aiohttp" needs aiohttp; pip install aiohttp'
            )
        return "httpx"
    return "aiohttp"


def _response_format(schema: dict[str, Any] | None, level: str) -> dict[str, Any] | None:
    if schema is None or level == "none":
        return None
    if level == "json_object":
        return {"type": "json_object"}
    if level == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


def _parse_answer(data: Any, completion: bool) -> ModelOutput:
    """The answer in a response body; anything not shaped like one raises (and is retried as malformed)."""
    if not isinstance(data, dict):
        raise ValueError("the server's body is not a JSON object")
    choice = data["choices"][0]
    text = choice["text"] if completion else choice["message"].get("content")
    if text is not None and not isinstance(text, str):
        raise TypeError("the answer text is not a string")
    usage = data.get("usage") or {}
    return ModelOutput(
        text=text or "",
        finish_reason=choice.get("finish_reason"),
        input_tokens=_int_or_none(usage.get("prompt_tokens")),
        output_tokens=_int_or_none(usage.get("completion_tokens")),
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rejects_format(exc: openai.APIStatusError) -> bool:
    """Did the server refuse the response_format? 400/422 always count; some servers (llama-cpp-python)
    answer a validation failure with 500, recognisable by the field name in the message."""
    if exc.status_code in (400, 422):
        return True
    return exc.status_code != 429 and "response_format" in _status_reason(exc)


def _classify_status(exc: openai.APIStatusError) -> Exception:
    status = exc.status_code
    if status == 429:
        headers = exc.response.headers
        wait = retry.parse_retry_after(headers.get("retry-after"))
        if wait is None and headers.get("retry-after-ms"):
            wait = (retry.parse_retry_after(headers.get("retry-after-ms")) or 0.0) / 1000.0
        return _Retryable(f"{retry.RATE_LIMITED}: {_status_reason(exc)}", wait)
    if status == 408:
        return _Retryable(f"{retry.TIMEOUT}: {_status_reason(exc)}")
    if status >= 500:
        return _Retryable(
            f"{retry.SERVER_ERROR}: {_status_reason(exc)}",
            retry.parse_retry_after(exc.response.headers.get("retry-after")),
        )
    return _Fatal(f"{retry.REJECTED}: {_status_reason(exc)}")


def _status_reason(exc: openai.APIStatusError) -> str:
    detail = exc.body if exc.body is not None else exc.message
    if not isinstance(detail, str):
        detail = json.dumps(detail, ensure_ascii=False, default=str)
    return f"http {exc.status_code} {_one_line(detail)}"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
