"""Offline, without the published tables, a run still completes and says what is missing and how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from culturalign.config import parse_experiment
from culturalign.errors import DataError
from culturalign.run import run_experiment


def _experiment(tmp_path: Path, ground_truth: str = "published"):
    return parse_experiment(
        {
            "probe": "wvs",
            "name": "offline",
            "seed": 2,
            "languages": ["en", "da"],
            "store": str(tmp_path / "runs" / "offline.sqlite"),
            "output": str(tmp_path / "runs" / "offline"),
            "ground_truth": ground_truth,
            "models": [{"name": "m", "backend": "mock"}],
            "wvs": {"prompts_per_language": 3},
        }
    )


def test_unreachable_published_tables_leave_a_complete_run_and_an_honest_report(tmp_path, monkeypatch):
    monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", "http://127.0.0.1:9")  # closed port: the download is refused
    result = run_experiment(_experiment(tmp_path), show_progress=False)
    analysis = tmp_path / "runs" / "offline" / "analysis"
    manifest = json.loads((analysis / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ground_truth_source"] == "unavailable"
    assert "culturalign groundtruth fetch" in manifest["notes"][0]
    assert (analysis / "responses.csv").is_file()
    assert result.results["generate"].total == 6
    html = result.report_path.read_text(encoding="utf-8")
    assert "no alignment: the published ground-truth tables could not be fetched" in html


def test_a_ground_truth_file_the_user_named_must_exist(tmp_path):
    with pytest.raises(DataError):
        run_experiment(_experiment(tmp_path, ground_truth=str(tmp_path / "missing.csv")), show_progress=False)
