"""Shared fixtures: the published data beside the project, a loopback file server, a temp cache."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Published reference data, read in place: ../shared/data beside the project, or wherever
# CULTURALIGN_SHARED_DATA points.
SHARED_DATA = Path(os.environ.get("CULTURALIGN_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Published data by others, read in place (never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"the shared data folder is missing: expected {SHARED_DATA}; set CULTURALIGN_SHARED_DATA to its path"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def paper_data(shared_data: Path) -> Path:
    return shared_data / "paper"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own user cache, so downloads and translations never leak between tests.
    The reassembled embedded model is shared through CULTURALIGN_MODEL_CACHE to avoid rebuilding it."""
    monkeypatch.setenv("CULTURALIGN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    model_cache = PROJECT_ROOT / ".pytest_cache" / "models"
    model_cache.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CULTURALIGN_MODEL_CACHE", str(model_cache))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def static_server() -> Iterator:
    """Serve a directory over HTTP on 127.0.0.1; call it with the directory, get the base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _restore_registries() -> Iterator[None]:
    """Probes and backends a test registers are gone after it, whatever it registered or replaced."""
    from culturalign.models import registry as backends
    from culturalign.probes import registry as probes

    saved = [(live, dict(live)) for live in (probes._PROBES, backends._FACTORIES)]
    yield
    for live, before in saved:
        live.clear()
        live.update(before)
