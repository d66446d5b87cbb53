"""The tree carries no leftovers of a merge: conflict markers in a tracked text file break docs and code alike."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("<" * 7 + " ", "=" * 7 + "\n", ">" * 7 + " ")


def _tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    suffixes = {".py", ".md", ".toml", ".txt", ".csv", ".html", ".j2", ".cfg", ".yml", ".yaml"}
    return [ROOT / name for name in listed.splitlines() if Path(name).suffix in suffixes or name.endswith("/run")]


def test_no_merge_conflict_markers_in_tracked_files() -> None:
    offenders = []
    for path in _tracked_text_files():
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(True), 1):
            if line.startswith(MARKERS[0]) or line == MARKERS[1] or line.startswith(MARKERS[2]):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
