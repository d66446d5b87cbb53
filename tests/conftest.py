"""Shared fixtures: the published reference data, a loopback file server, a temp cache.

Published reference data (the paper's released tables, Hofstede's country scores, the VSM 2013
items) is never part of the project. A test that needs one of those files finds it, in order:
1. in the folder CULTURALIGN_SHARED_DATA names (layout: paper/, hofstede/, vsm2013/);
2. in ../shared/data beside the project (same layout);
3. in the user cache, where the pinned downloads put it (`culturalign groundtruth fetch`,
   `culturalign vsm fetch-scores`, `culturalign vsm fetch-instrument`);
otherwise the test is skipped with one line naming the command that fetches the file.
With CULTURALIGN_REQUIRE_DATA=1 (CI, which has the data) a missing file fails the test instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOFSTEDE_TABLE = "6-dimensions-for-website-2015-08-16.csv"
EXAMPLE_RESPONSES = "example_responses_gemma-2-27b-it.jsonl"
REQUIRE_DATA = os.environ.get("CULTURALIGN_REQUIRE_DATA") == "1"


def _shared_roots() -> list[Path]:
    named = os.environ.get("CULTURALIGN_SHARED_DATA")
    roots = [Path(named)] if named else []
    return [*roots, PROJECT_ROOT.parent / "shared" / "data"]


# The user's own cache, read before the per-test fixture below points CULTURALIGN_CACHE_DIR elsewhere.
USER_CACHE = Path(os.environ.get("CULTURALIGN_CACHE_DIR") or platformdirs.user_cache_dir("culturalign"))


def _paper_cache() -> Path:
    from culturalign.probes.wvs.sources.published import load_pins

    return USER_CACHE / load_pins().source.cache_subdir


def _cache_copy(relative: str) -> tuple[Path | None, str]:
    """Where the pinned download of a shared file lands in the user cache, and the command that fetches it."""
    from culturalign.probes.vsm import instrument
    from culturalign.probes.wvs.sources import published
    from culturalign.sources import hofstede

    folder, name = relative.split("/", 1)
    if folder == "hofstede" and name == HOFSTEDE_TABLE:
        return USER_CACHE / hofstede.CACHE_SUBDIR / hofstede.SCORES_FILENAME, "culturalign vsm fetch-scores"
    if folder == "vsm2013" and name == "hofstede_test.csv":
        return USER_CACHE / instrument.CACHE_SUBDIR / instrument.INSTRUMENT_FILENAME, "culturalign vsm fetch-instrument"
    if folder == "paper":
        pinned = {f.name: f for f in published.load_pins().files}.get(name)
        if pinned is not None:
            flag = " --release" if pinned.group == "release" else ""
            return _paper_cache() / name, f"culturalign groundtruth fetch{flag}"
    return None, "set CULTURALIGN_SHARED_DATA to the folder of the published reference data"


def find_shared(relative: str, command: str | None = None) -> Path:
    """The published file `relative` (e.g. "paper/ground_truth_global.csv"), or skip naming how to get it
    (`command` when the caller needs more than this one file, e.g. the whole release)."""
    for root in _shared_roots():
        if (root / relative).is_file():
            return root / relative
    cached, fetch = _cache_copy(relative)
    if cached is not None and cached.is_file():
        return cached
    message = f"needs published data {relative}: {command or fetch}"
    if REQUIRE_DATA:
        pytest.fail(message + " (CULTURALIGN_REQUIRE_DATA=1 forbids skipping)")
    pytest.skip(message)


def _paper_folder(names: list[str], command: str) -> Path:
    """One folder holding every named released table (they always sit side by side)."""
    found = [find_shared(f"paper/{name}", command) for name in names]
    folders = {path.parent for path in found}
    assert len(folders) == 1, f"the released tables are split over {sorted(map(str, folders))}"
    return folders.pop()


def _pinned_names(release: bool) -> list[str]:
    from culturalign.probes.wvs.sources.published import load_pins, pinned_files

    return [f.name for f in pinned_files(load_pins(), release=release)]


@pytest.fixture(scope="session")
def paper_data() -> Path:
    """Folder of the paper's released ground-truth tables (what `groundtruth fetch` downloads)."""
    return _paper_folder(_pinned_names(release=False), "culturalign groundtruth fetch")


@pytest.fixture(scope="session")
def paper_release() -> Path:
    """Folder of every released table: ground truth plus responses and benchmark scores (`--release`)."""
    return _paper_folder(_pinned_names(release=True), "culturalign groundtruth fetch --release")


@pytest.fixture(scope="session")
def example_responses() -> Path:
    """200 raw responses of gemma-2-27b-it from the shared reference data (no download exists for them)."""
    return find_shared(f"paper/{EXAMPLE_RESPONSES}")


@pytest.fixture(scope="session")
def hofstede_table() -> Path:
    """Hofstede's published six-dimension country scores, as published."""
    return find_shared(f"hofstede/{HOFSTEDE_TABLE}")


@pytest.fixture(scope="session")
def vsm_items() -> Path:
    """The 24 VSM 2013 content items as held in a public repository (header-less, 7 columns)."""
    return find_shared("vsm2013/hofstede_test.csv")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The whole shared reference folder (paper/, hofstede/, vsm2013/); prefer the fixtures above,
    which also find the pinned downloads in the user cache."""
    for root in _shared_roots():
        if root.is_dir():
            return root
    message = "needs the shared reference data folder: set CULTURALIGN_SHARED_DATA to it"
    if REQUIRE_DATA:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def published_ground_truth(static_server, monkeypatch: pytest.MonkeyPatch) -> Path | None:
    """Runs fetch the paper's ground-truth tables: serve them from 127.0.0.1 when this machine has
    them, else from a closed port, so a run completes offline (without alignment) and never reaches
    the network. Returns the folder served, or None. Tests that need alignment ask for paper_data."""
    try:
        folder = _paper_folder(_pinned_names(release=False), "culturalign groundtruth fetch")
    except pytest.skip.Exception:
        monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", "http://127.0.0.1:9")
        return None
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", static_server(folder))
    return folder


@pytest.fixture
def shared_file() -> Callable[[str], Path]:
    """Call with a path inside the shared layout; get the file, or the test is skipped."""
    return find_shared


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
