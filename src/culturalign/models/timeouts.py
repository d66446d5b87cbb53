"""How long to wait for one answer from a server, when the experiment does not say.

A fixed default is wrong both ways: a slow local server (a large model on a CPU) may need
many minutes per answer, and giving up on it only to ask again puts a second copy of the
same work in its queue; a hosted API that has not answered in a few minutes has most likely
lost the request. So, unless the model sets `timeout_s`:
- a server on this machine or the local network: no limit (a dead server still ends the
  wait, through a refused or dropped connection);
- any other server: ten times the slowest answer among the last 50 from that endpoint, at
  least one minute; ten minutes until the first answer arrives.
The embedded backends (llama.cpp, vLLM offline) run in this process and have no timeout.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from urllib.parse import urlparse

from culturalign.models.base import ModelSpec

FIRST_ANSWER_S = 600.0
FLOOR_S = 60.0
FACTOR = 10.0
WINDOW = 50

# (endpoints, model id) -> latencies of the latest answers, for this process
_observed: dict[tuple[tuple[str | None, ...], str], deque[float]] = {}


def is_local(base_url: str | None) -> bool:
    """A server on this machine or a private network (loopback, private addresses, bare or .local names)."""
    if not base_url:
        return False  # the hosted OpenAI API
    host = (urlparse(base_url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".local") or host.endswith(".localhost") or "." not in host:
        return bool(host)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def observe(spec: ModelSpec, latency_s: float) -> None:
    """Record how long an answer from this endpoint took (one attempt, not its retries)."""
    _observed.setdefault(_key(spec), deque(maxlen=WINDOW)).append(latency_s)


def timeout_for(spec: ModelSpec) -> float | None:
    """Seconds to wait for the next answer from this endpoint; None means no limit."""
    if spec.timeout_s is not None:
        return spec.timeout_s
    if all(is_local(url) for url in spec.base_urls):
        return None
    seen = _observed.get(_key(spec))
    if not seen:
        return FIRST_ANSWER_S
    return max(FLOOR_S, FACTOR * max(seen))


def _key(spec: ModelSpec) -> tuple[tuple[str | None, ...], str]:
    return tuple(spec.base_urls), spec.model_id


def describe(seconds: float | None) -> str:
    return "no limit" if seconds is None else f"{seconds:g} s"
