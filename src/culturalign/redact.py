"""Secrets out of every text that is stored or printed.

A server may echo the key it was given (a 401 body that quotes it), an SDK may put the
`Authorization` header in an exception or a debug log line. Every error text passes through
`redact` before the store keeps it (engine, store) and before a message is shown (UserError,
log records, uncaught exceptions). It removes:
- the values of the API keys this process read (`remember_env`, called for every backend built),
  also as they appear JSON-escaped or URL-encoded;
- any `Authorization: ...` value, `Bearer ...` token and `api-key: ...` / `x-api-key=...` value,
  whoever's they are.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import traceback
from types import TracebackType
from urllib.parse import quote

MASK = "[redacted]"
# Shorter values are not keys worth hiding, and masking them would garble ordinary words.
MIN_SECRET_LENGTH = 8

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False

_TOKEN = r"[A-Za-z0-9\-._~+/]+=*"
_SCHEME = r"(?:(?:bearer|basic|token|digest)\s+)?"
_VALUE = r"[^\s\"',;{}\[\]&]+"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer xyz / Basic xyz / xyz (header, JSON or repr form), unless already masked
    (
        re.compile(rf"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?!{_SCHEME}\[){_SCHEME}{_VALUE}"),
        rf"\g<1>{MASK}",
    ),
    (re.compile(rf"(?i)\bbearer\s+{_TOKEN}"), f"Bearer {MASK}"),
    (re.compile(rf"(?i)(\b(?:x-)?api[-_]?key\b[\"']?\s*[:=]\s*[\"']?){_VALUE}"), rf"\g<1>{MASK}"),
)


def remember_secret(value: str | None) -> None:
    """Redact this value (and its escaped forms) from now on in this process."""
    value = (value or "").strip()
    if len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), repr(value)[1:-1]}
    with _lock:
        _secrets.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)
    install()


def remember_env(variable: str | None) -> None:
    """Remember the value of the environment variable that holds a model's key, if set; from
    now on log records and uncaught exceptions are redacted too."""
    if variable:
        remember_secret(os.environ.get(variable))
    install()


def redact(text: str) -> str:
    """The text without any remembered secret, Authorization value or bearer token."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: a form may contain another
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)


# -- printed text that does not pass through our own code ------------------------------------
def install() -> None:
    """Redact log records (ours and the SDKs') and uncaught exceptions, once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call is logging's business, not ours
            return record
        record.msg, record.args = redact(message), ()
        return record

    logging.setLogRecordFactory(redacting_record)

    def redacting_hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))

    if sys.excepthook is sys.__excepthook__:  # a hook someone else installed prints as they chose
        sys.excepthook = redacting_hook
