"""Posting JSON to an OpenAI-compatible endpoint with a plain aiohttp session.

The `openai` SDK builds each request through several layers (its own request options, an
httpx request, then the aiohttp transport), about 2 ms of CPU per call: at hundreds of calls
a second one process is CPU-bound there. For the one call a run makes thousands of times (a
completion), this posts the body directly and hands back the decoded JSON; everything else
(checks, the Batch API) still goes through the SDK. Failures come back as builtin
exceptions the backend classifies: TimeoutError, ConnectionError, HttpStatusError and
ValueError (a body that is not JSON).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_SESSION_TIMEOUT = object()  # post_json without its own timeout uses the session's


class HttpStatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str], detail: str) -> None:
        super().__init__(f"http {status}")
        self.status = status
        self.headers = headers
        self.detail = detail


class DirectClient:
    def __init__(self, base_url: str | None, api_key: str, timeout_s: float | None) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the event loop that drives it; no connection limit of its
        # own (the backend's per-endpoint limit decides how many requests are in flight).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=0),
                json_serialize=json.dumps,
            )
        return self._session

    async def post_json(self, path: str, body: dict[str, Any], timeout_s: Any = _SESSION_TIMEOUT) -> Any:
        """`timeout_s`: seconds for this request (None: no limit); left out, the client's own."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        own = self._timeout if timeout_s is _SESSION_TIMEOUT else aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with self._open().post(self.base_url + path, data=payload, timeout=own) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise HttpStatusError(
                        response.status, {k.lower(): v for k, v in response.headers.items()}, _detail(raw)
                    )
        except TimeoutError:
            raise
        except aiohttp.ServerTimeoutError as exc:
            raise TimeoutError(str(exc)) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
        return json.loads(raw)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _detail(raw: bytes) -> str:
    """An error body as one line: its `error` object when it has one, else the text."""
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text
    detail = data.get("error", data) if isinstance(data, dict) else data
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
