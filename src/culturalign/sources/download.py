"""Pinned downloads into the user cache: a file is used only when its sha256 matches the pin."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from culturalign import paths
from culturalign.errors import DataError

_CHUNK = 1 << 20


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _stream_to(url: str, target: Path, headers: dict[str, str] | None, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "culturalign", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(target, "wb") as out:
            for block in iter(lambda: response.read(_CHUNK), b""):
                out.write(block)
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"download of {url} failed with HTTP {exc.code} {exc.reason}; check the address (or the base URL override) and try again"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"download of {url} failed ({reason}); check the network connection and try again") from None


def fetch_pinned(
    url: str,
    sha256: str,
    filename: str,
    subdir: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
    force: bool = False,
) -> Path:
    """Download `url` to cache_subdir(subdir)/filename and check it against `sha256`.

    A cached file whose checksum matches is reused without network access. The download goes
    to a temp file in the same folder and is renamed only after the checksum matched, so a
    failed or tampered download never leaves a file under the final name.
    """
    expected = sha256.strip().lower()
    target = paths.cache_subdir(subdir) / filename
    if not force and target.is_file() and sha256_of(target) == expected:
        return target
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _stream_to(url, tmp, headers, timeout)
        actual = sha256_of(tmp)
        if actual != expected:
            raise DataError(
                f"checksum mismatch for {url}: expected sha256 {expected[:12]}..., got {actual[:12]}...; "
                "the published file changed or the address is wrong, so it was not kept"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
