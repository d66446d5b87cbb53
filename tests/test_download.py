"""Pinned downloads: checksum-verified, cached, and never leaving a partial file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from culturalign import paths
from culturalign.errors import ConfigError, DataError
from culturalign.sources.download import fetch_pinned, sha256_of

PAYLOAD = b"population,item,vps\nDK,f118,0.87\n"
GOOD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def served(tmp_path: Path, static_server) -> tuple[Path, str]:
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "table.csv").write_bytes(PAYLOAD)
    return folder, static_server(folder)


def _leftovers(subdir: str) -> list[str]:
    return sorted(p.name for p in paths.cache_subdir(subdir).iterdir())


def test_fetch_writes_verified_file(served):
    _, base = served
    path = fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl")
    assert path == paths.cache_subdir("dl") / "table.csv"
    assert path.read_bytes() == PAYLOAD
    assert sha256_of(path) == GOOD_SHA


def test_cached_file_is_reused_without_network(served):
    folder, base = served
    fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl")
    (folder / "table.csv").unlink()  # the server can no longer provide it
    again = fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl")
    assert again.read_bytes() == PAYLOAD


def test_force_downloads_again(served):
    folder, base = served
    fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl")
    (folder / "table.csv").unlink()
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl", force=True)


def test_checksum_mismatch_is_an_error_and_leaves_no_file(served):
    _, base = served
    wrong = "0" * 64
    with pytest.raises(DataError, match="checksum mismatch") as info:
        fetch_pinned(f"{base}/table.csv", wrong, "table.csv", "dl")
    assert f"{base}/table.csv" in str(info.value)
    assert "\n" not in str(info.value)
    assert _leftovers("dl") == []


def test_corrupted_cache_is_replaced(served):
    _, base = served
    target = paths.cache_subdir("dl") / "table.csv"
    target.write_bytes(b"tampered")
    path = fetch_pinned(f"{base}/table.csv", GOOD_SHA, "table.csv", "dl")
    assert path.read_bytes() == PAYLOAD


def test_http_error_names_the_url_and_leaves_no_file(served):
    _, base = served
    with pytest.raises(DataError, match=r"missing\.csv.*HTTP 404"):
        fetch_pinned(f"{base}/missing.csv", GOOD_SHA, "missing.csv", "dl")
    assert _leftovers("dl") == []


def test_unreachable_server_is_a_data_error():
    with pytest.raises(DataError, match="failed"):
        fetch_pinned("http://127.0.0.1:9/none.csv", GOOD_SHA, "none.csv", "dl", timeout=5)
    assert _leftovers("dl") == []


# -- every pinned download is pinned to one exact version -----------------------------------------
FULL_COMMIT = re.compile(r"/([0-9a-f]{40})/")


def test_every_pinned_download_names_a_full_commit_and_a_sha256():
    from culturalign.probes.vsm import instrument
    from culturalign.probes.wvs.sources import published
    from culturalign.sources import hofstede

    pins = published.load_pins()
    assert re.fullmatch(r"[0-9a-f]{40}", pins.source.commit)
    urls = [published.file_url(pins, f) for f in pins.files] + [instrument.INSTRUMENT_URL, hofstede.SCORES_URL]
    for url in urls:
        if "github" in url:  # a git host: the address itself names the full commit
            match = FULL_COMMIT.search(url)
            assert match, url
    # the publisher's own address has no commit: its bytes are pinned by sha256 alone
    for digest in [f.sha256 for f in pins.files] + [instrument.INSTRUMENT_SHA256, hofstede.SCORES_SHA256]:
        assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_an_abbreviated_commit_is_refused(tmp_path: Path):
    from culturalign.probes.wvs.sources import published

    text = paths.package_data("published_tables.toml").read_text(encoding="utf-8")
    bad = tmp_path / "pins.toml"
    bad.write_text(re.sub(r'commit = "[0-9a-f]+"', 'commit = "f550348"', text), encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid"):
        published.load_pins(bad)
