"""When and how long to wait before asking a server again.

Backends own their retry loop (the SDKs' own retries are switched off so that every attempt
is counted and stored). This module holds the parts that do not depend on a client library:
the delay schedule (exponential backoff with full jitter, capped) and Retry-After parsing.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

# Reason codes stored at the start of ModelOutput.error ("reason: detail"); the end-of-run
# summary groups failures by them.
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECTION = "connection"
MALFORMED = "malformed_response"
REJECTED = "rejected"
BACKEND = "backend_error"
NO_LOGPROBS = "no_logprobs"  # answer mode `scored` on a server that returns no logprobs

# Retry-After values above this are treated as "give up": waiting ten minutes for one
# request would stall a run far more than storing a failure that the next run retries.
MAX_RETRY_AFTER_S = 300.0


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)).

    A server's Retry-After, when present, is a floor: we never ask earlier than it says.
    """

    max_retries: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry_number: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry `retry_number` (0-based)."""
        ceiling = min(self.cap_s, self.base_s * (2**retry_number))
        jittered = self.rng.uniform(0.0, ceiling)
        if retry_after_s is not None:
            return max(retry_after_s, jittered)
        return jittered


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_reason(error: str | None) -> str | None:
    """The reason code of a stored error ("timeout: ..." -> "timeout")."""
    if error is None:
        return None
    head, sep, _ = error.partition(":")
    return head.strip() if sep and head.strip() and " " not in head.strip() else "other"
