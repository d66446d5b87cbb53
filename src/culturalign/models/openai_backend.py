"""Any OpenAI-compatible HTTP server (OpenAI, vLLM, SGLang, Ollama, llama.cpp server, LM Studio).

Uses the official `openai` SDK with its own retries switched off: this backend retries
itself so that every attempt is counted and the final failure carries its reason.
Retried: 429 (honouring Retry-After), 5xx, 408, dropped connections and bodies that are
not the JSON an answer should be. Not retried: other 4xx (a bad key or an unknown model
will not get better by asking again), and, unless the model sets `resend_on_timeout`, a
request that timed out: the server may still be computing it, and a second copy would only
add to its queue. The wait itself adapts to the endpoint (models/timeouts.py).

Structured output: with `GenerateConfig.json_schema` set, the request carries
`response_format` of type json_schema; a server that rejects it (400/422) is asked again
with json_object (with, then without the schema), then with no format, and the backend remembers the level that worked.
Answer options (`GenerateConfig.choices`): the server is asked for vLLM's `structured_outputs`
choice, then the older `guided_choice`, then a JSON schema with an enum (the structured-output
levels above); a level the server refuses, or answers outside the options, is not used again.
Scored options (`GenerateConfig.score_choices`): one token is requested with `logprobs` (chat:
`logprobs` + `top_logprobs`), and each option gets the probability mass of the top tokens that
begin it (exact for single-token options); a server that returns no logprobs gives a one-line
error naming it, and later scored requests to it fail at once without a call.
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

from culturalign.errors import BackendError, one_line
from culturalign.models import retry, timeouts
from culturalign.models.base import (
    ChatMessage,
    GenerateConfig,
    ModelBackend,
    ModelOutput,
    ModelSpec,
    render_completion_prompt,
    scored_output,
)
from culturalign.models.direct_http import DirectClient, HttpStatusError
from culturalign.models.endpoints import REST_BASE_S, Endpoint, EndpointPool
from culturalign.models.openai_choices import choice_schema, chosen, option_logprobs, top_logprobs
from culturalign.models.ratelimit import RateLimiter, estimate_request_tokens
from culturalign.redact import remember_secret

# Structured-output levels, strongest first; a server that rejects one gets the next.
# "json_object_schema" is json_object carrying the schema, which llama-cpp-python's server
# understands while rejecting type json_schema.
_JSON_LEVELS = ("json_schema", "json_object_schema", "json_object", "none")
_CHECK_TIMEOUT_S = 5.0
# (base_url, model) -> the strongest structured-output level the server accepted, kept for
# the process: the runner builds a fresh backend per stage, the server stays the same.
_accepted_json_level: dict[tuple[tuple[str | None, ...], str], str] = {}
# Levels for a choice among given strings, strongest first: vLLM >= 0.10 structured outputs,
# older vLLM guided decoding, then the structured-output levels with an enum schema.
_CHOICE_LEVELS = ("structured_outputs", "guided_choice", *_JSON_LEVELS)
_accepted_choice_level: dict[tuple, str] = {}
# Servers known to return no logprobs: (base_urls, model) -> the one-line reason.
_no_logprobs: dict[tuple, str] = {}
TOP_LOGPROBS = 20


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class _TimedOut(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        self._server_key = (tuple(spec.base_urls), spec.model_id)
        self.json_level = _accepted_json_level.get(self._server_key, _JSON_LEVELS[0])
        self.choice_level = _accepted_choice_level.get(self._server_key, _CHOICE_LEVELS[0])
        self._extra_body: dict[str, Any] = dict(options.get("extra_body") or {})
        self._transport = _choose_transport(str(options.get("http_client", "auto")), spec.name)
        self.pool = EndpointPool(spec.base_urls, spec.max_concurrency)

    @property
    def capacity(self) -> int:
        return self.pool.capacity

    def endpoint_stats(self) -> list[dict[str, Any]]:
        return self.pool.stats() if len(self.pool.endpoints) > 1 else []

    def _direct_for(self, endpoint: Endpoint) -> DirectClient:
        if endpoint.direct is None:
            endpoint.direct = DirectClient(endpoint.url, self._api_key, self.spec.timeout_s)
        return endpoint.direct

    def _client_for(self, endpoint: Endpoint) -> openai.AsyncOpenAI:
        # Created on first use, inside the event loop that will drive its connections.
        if endpoint.client is None:
            endpoint.client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=endpoint.url,
                max_retries=0,
                timeout=timeouts.timeout_for(self.spec),
                http_client=openai.DefaultAioHttpClient() if self._transport == "aiohttp" else None,
            )
        return endpoint.client

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The first endpoint's client (checks and single-endpoint use)."""
        return self._client_for(self.pool.endpoints[0])

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        started = time.perf_counter()
        estimated = estimate_request_tokens(messages, config)
        retries = 0
        while True:
            await self.limiter.acquire(estimated)
            endpoint = await self.pool.acquire()
            try:
                output = await self._ask_once(endpoint, messages, config)
            except _FormatRejected:
                await self.pool.release(endpoint, ok=False)
                continue  # asked again at a weaker structured-output level; not a retry
            except _Fatal as exc:
                await self.pool.release(endpoint, ok=False, reason=exc.reason)
                return ModelOutput(error=exc.reason, retries=retries, latency_s=time.perf_counter() - started)
            except _TimedOut as exc:
                await self.pool.release(endpoint, ok=False, reason=exc.reason)
                if not self.spec.resend_on_timeout:
                    note = "not asked again: the server may still be computing it (resend_on_timeout allows it)"
                    return ModelOutput(
                        error=f"{exc.reason}; {note}", retries=retries, latency_s=time.perf_counter() - started
                    )
                if retries >= self.policy.max_retries:
                    return ModelOutput(
                        error=f"{exc.reason} (gave up after {retries} retries)",
                        retries=retries,
                        latency_s=time.perf_counter() - started,
                    )
                await asyncio.sleep(self.policy.delay(retries))
                retries += 1
                continue
            except _Retryable as exc:
                await self.pool.release(endpoint, ok=False, reason=exc.reason, transport=_unwell(exc.reason))
                too_long = exc.retry_after_s is not None and exc.retry_after_s > retry.MAX_RETRY_AFTER_S
                if retries >= self.policy.max_retries or too_long:
                    note = "server asked to wait too long" if too_long else f"gave up after {retries} retries"
                    return ModelOutput(
                        error=f"{exc.reason} ({note})", retries=retries, latency_s=time.perf_counter() - started
                    )
                if len(self.pool.endpoints) == 1 or not _unwell(exc.reason):
                    await asyncio.sleep(self.policy.delay(retries, exc.retry_after_s))
                retries += 1  # with several endpoints an unwell one is retried elsewhere at once
                continue
            except BaseException:
                await self.pool.release(endpoint, ok=False)
                raise
            await self.pool.release(endpoint, ok=True)
            used = (output.input_tokens or 0) + (output.output_tokens or 0)
            self.limiter.settle(estimated, used or None)
            return output.model_copy(update={"retries": retries, "latency_s": time.perf_counter() - started})

    async def _ask_once(self, endpoint: Endpoint, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        if config.score_choices and self._server_key in _no_logprobs:
            raise _Fatal(_no_logprobs[self._server_key])
        if config.choices:
            level = self.choice_level
        else:
            level = self.json_level if config.json_schema else "none"
        completion = self.spec.prompt_style == "completion"
        body = self._request_body(messages, config, level)
        path = "/completions" if completion else "/chat/completions"
        wait = timeouts.timeout_for(self.spec)
        asked = time.perf_counter()
        try:
            if self._transport == "direct":
                data = await self._direct_for(endpoint).post_json(path, body, timeout_s=wait)
            else:
                # The SDK's generic `post` with a plain dict: its typed `create` methods spend
                # several ms of CPU per call transforming and validating.
                data = await self._client_for(endpoint).post(path, cast_to=object, body=body, options={"timeout": wait})
            output = parse_answer(data, completion)
            timeouts.observe(self.spec, time.perf_counter() - asked)
        except HttpStatusError as exc:
            raise self._status_failure(level, exc.status, exc.headers, exc.detail, config) from None
        except openai.APIStatusError as exc:
            detail = exc.body if exc.body is not None else exc.message
            raise self._status_failure(level, exc.status_code, exc.response.headers, detail, config) from None
        except (openai.APITimeoutError, TimeoutError):
            raise _TimedOut(f"{retry.TIMEOUT}: no answer within {timeouts.describe(wait)}") from None
        except openai.APIConnectionError as exc:
            raise _Retryable(f"{retry.CONNECTION}: {one_line(str(exc.__cause__ or exc), 300)}") from None
        except ConnectionError as exc:
            raise _Retryable(f"{retry.CONNECTION}: {one_line(str(exc), 300)}") from None
        except (openai.APIResponseValidationError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise _Retryable(f"{retry.MALFORMED}: {one_line(f'{type(exc).__name__}: {exc}', 300)}") from None
        if config.score_choices:
            return self._scored(data, completion, config.score_choices, output)
        if config.choices and level != "none" and chosen(output.text, config.choices, level) is None:
            self._weaken_level(level, True)  # accepted but not honoured: the server ignored the field
            raise _FormatRejected(f"answer outside the options at level {level}")
        return output

    def _status_failure(self, level: str, status: int, headers: Any, detail: Any, config: GenerateConfig) -> Exception:
        reason = _status_reason(status, detail)
        if level != "none" and _rejects_format(status, reason):
            self._weaken_level(level, bool(config.choices))
            return _FormatRejected(reason)
        if config.score_choices and status in (400, 422):
            return self._unserved(f"refused the logprobs request ({reason})")
        return _classify_status(status, headers, reason)

    def _scored(self, data: Any, completion: bool, choices: list[str], output: ModelOutput) -> ModelOutput:
        top = top_logprobs(data, completion)
        if top is None:
            raise self._unserved("returned no logprobs")
        return scored_output(
            option_logprobs(top, choices),
            input_tokens=output.input_tokens,
            output_tokens=output.output_tokens,
            finish_reason="scored",
        )

    def _unserved(self, what: str) -> _Fatal:
        """The one-line reason a server cannot serve scored answers, remembered so that no more are sent."""
        where = ", ".join(url or "api.openai.com" for url in self.spec.base_urls) or "api.openai.com"
        reason = one_line(
            f"{retry.NO_LOGPROBS}: the server at {where} {what} for model {self.spec.model_id!r}; "
            'answer_mode = "scored" needs logprobs/top_logprobs, use "constrained" or "free" for this model',
            300,
        )
        _no_logprobs[self._server_key] = reason
        return _Fatal(reason)

    def _weaken_level(self, rejected: str, for_choices: bool) -> None:
        levels = _CHOICE_LEVELS if for_choices else _JSON_LEVELS
        current = self.choice_level if for_choices else self.json_level
        position = levels.index(rejected)
        if levels.index(current) <= position:
            weaker = levels[position + 1]
            if for_choices:
                self.choice_level = _accepted_choice_level[self._server_key] = weaker
            else:
                self.json_level = _accepted_json_level[self._server_key] = weaker

    def _request_body(self, messages: list[ChatMessage], config: GenerateConfig, level: str) -> dict[str, Any]:
        return request_body(self.spec, messages, config, level, self._extra_body)

    async def check(self) -> None:
        """One short request to /models per endpoint: a refused key, or no endpoint reachable, stops
        the run before it starts. With several endpoints, unreachable ones start out resting."""
        unreachable = []
        for endpoint in self.pool.endpoints:
            problem = await self._check_endpoint(endpoint)
            if problem is not None:
                unreachable.append(problem)
                endpoint.resting_until = time.monotonic() + REST_BASE_S
        if len(unreachable) == len(self.pool.endpoints):
            where = unreachable[0] if len(unreachable) == 1 else f"any of its {len(unreachable)} endpoints"
            raise BackendError(f"model {self.spec.name!r}: cannot reach {where}; start the server or correct base_url")

    async def _check_endpoint(self, endpoint: Endpoint) -> str | None:
        where = endpoint.url or "api.openai.com"
        try:
            await self._client_for(endpoint).models.list(
                timeout=min(_CHECK_TIMEOUT_S, self.spec.timeout_s or _CHECK_TIMEOUT_S)
            )
        except openai.AuthenticationError:
            raise BackendError(
                f"model {self.spec.name!r}: {where} refused the API key; check the variable named by api_key_env"
            ) from None
        except openai.APIConnectionError as exc:
            return f"{where} ({one_line(str(exc.__cause__ or exc), 300)})"
        except (openai.APIStatusError, openai.APIResponseValidationError, ValueError):
            pass  # reachable; some servers simply do not list models
        return None

    async def aclose(self) -> None:
        for endpoint in self.pool.endpoints:
            if endpoint.client is not None:
                await endpoint.client.close()
                endpoint.client = None
            if endpoint.direct is not None:
                await endpoint.direct.close()
                endpoint.direct = None


def _unwell(reason: str) -> bool:
    """Failures that say the endpoint, not the request, is the problem."""
    return reason.split(":")[0] in (retry.CONNECTION, retry.TIMEOUT, retry.SERVER_ERROR)


def request_body(
    spec: ModelSpec,
    messages: list[ChatMessage],
    config: GenerateConfig,
    level: str = _JSON_LEVELS[0],
    extra_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of one request, as sent to the server and as written into batch files."""
    body: dict[str, Any] = {"model": spec.model_id}
    for name in ("temperature", "top_p", "max_tokens", "seed", "stop"):
        value = getattr(config, name)
        if value is not None:
            body[name] = value
    if spec.prompt_style == "completion":
        body["prompt"] = render_completion_prompt(messages)
    else:
        body["messages"] = [{"role": m.role, "content": m.content} for m in messages]
    if config.score_choices:  # one token and the most likely alternatives at its place
        body.update(max_tokens=1, temperature=0.0)
        if spec.prompt_style == "completion":
            body["logprobs"] = TOP_LOGPROBS
        else:
            body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
    schema = config.json_schema
    if config.choices:
        if level in ("structured_outputs", "guided_choice"):
            body[level] = {"choice": config.choices} if level == "structured_outputs" else config.choices
            schema = None
        else:
            schema = choice_schema(config.choices)
    response_format = _response_format(schema, level if schema and level in _JSON_LEVELS else "none")
    if response_format is not None:
        # OpenAI's completions endpoint has no response_format; vLLM and llama.cpp servers accept it.
        body["response_format"] = response_format
    body.update(extra_body or {})
    return body


def _choose_transport(choice: str, model_name: str) -> str:
    """How completions are posted. `direct` (what `auto` picks when aiohttp is installed): a plain
    aiohttp session (models/direct_http.py); `aiohttp`: the SDK over its aiohttp transport;
    `httpx`: the SDK's default. Per request the SDK costs far more CPU (bench/bench_scale.py),
    which on a small machine caps throughput below what the server could give."""
    if choice not in ("auto", "direct", "aiohttp", "httpx"):
        raise BackendError(
            f"model {model_name!r}: options.http_client must be auto, direct, aiohttp or httpx, not {choice!r}"
        )
    if choice == "httpx":
        return "httpx"
    if importlib.util.find_spec("aiohttp") is None:
        if choice != "auto":
            raise BackendError(
                f'model {model_name!r}: options.http_client = "{choice}" needs aiohttp; pip install aiohttp'
            )
        return "httpx"
    return "aiohttp" if choice == "aiohttp" else "direct"


def _response_format(schema: dict[str, Any] | None, level: str) -> dict[str, Any] | None:
    if schema is None or level == "none":
        return None
    if level == "json_object":
        return {"type": "json_object"}
    if level == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


def parse_answer(data: Any, completion: bool) -> ModelOutput:
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


def _rejects_format(status: int, reason: str) -> bool:
    """Did the server refuse the response_format? 400/422 always count; some servers (llama-cpp-python)
    answer a validation failure with 500, recognisable by the field name in the message."""
    if status in (400, 422):
        return True
    return status != 429 and "response_format" in reason


def _classify_status(status: int, headers: Any, reason: str) -> Exception:
    if status == 429:
        wait = retry.parse_retry_after(headers.get("retry-after"))
        if wait is None and headers.get("retry-after-ms"):
            wait = (retry.parse_retry_after(headers.get("retry-after-ms")) or 0.0) / 1000.0
        return _Retryable(f"{retry.RATE_LIMITED}: {reason}", wait)
    if status == 408:
        return _Retryable(f"{retry.TIMEOUT}: {reason}")
    if status >= 500:
        return _Retryable(f"{retry.SERVER_ERROR}: {reason}", retry.parse_retry_after(headers.get("retry-after")))
    return _Fatal(f"{retry.REJECTED}: {reason}")


def _status_reason(status: int, detail: Any) -> str:
    if not isinstance(detail, str):
        detail = json.dumps(detail, ensure_ascii=False, default=str)
    return f"http {status} {one_line(detail, 300)}"
