"""Measured judge quality, kept by judge identity so that every later analysis can find it.

A judge's identity is what changes its labels: for a model, the backend, model id, prompt
style and output-changing options (as in the store key), its generation parameters and the
judge prompt; for an offline candidate, its name. `culturalign judge validate` writes one
record per validation into the user cache (`judge-validations/<key>.json`) and, when given a
run store, into that store as a result of every run it holds (stage `judge-validation`, key =
identity key and time): no new run is made, so "the latest run" of the store stays the user's.
Analyses look in the run's store first, then in the user cache; the offline candidates'
shipped measurements come last (quality.py).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from culturalign.models.base import ModelSpec
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND
from culturalign.paths import cache_subdir, package_data
from culturalign.store.db import RunStore
from culturalign.tables import write_json

RECORD_STAGE = "judge-validation"
CACHE_SUBDIR = "judge-validations"


def prompt_fingerprint() -> str:
    """The judge prompt's own hash: a changed prompt is a different judge."""
    text = package_data("judge", "prompt.toml").read_bytes()
    return hashlib.sha256(text).hexdigest()[:16]


def candidate_name(spec: ModelSpec) -> str | None:
    """The offline candidate a judge spec names, or None for a judge asked through a backend."""
    if spec.backend != OFFLINE_JUDGE_BACKEND:
        return None
    return spec.model or spec.name


def judge_identity(spec: ModelSpec) -> dict[str, Any]:
    candidate = candidate_name(spec)
    if candidate is not None:
        return {"kind": "candidate", "candidate": candidate}
    return {
        "kind": "model",
        **spec.identity(),
        "params": spec.params.model_dump(exclude_none=True),
        "prompt": prompt_fingerprint(),
    }


def identity_key(identity: dict[str, Any]) -> str:
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def make_record(spec: ModelSpec, summary: dict[str, Any], labels_file: Path) -> dict[str, Any]:
    """One validation as stored: who was measured, on what, when, and the figures with intervals."""
    identity = judge_identity(spec)
    return {
        "judge": spec.name,
        "identity": identity,
        "identity_key": identity_key(identity),
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels_file": labels_file.name,
        "labels_sha256": hashlib.sha256(labels_file.read_bytes()).hexdigest(),
        **{k: summary[k] for k in ("n_summaries", "n_responses", "coverage", "agreement", "cohen_kappa", "vps_mae")},
    }


def save_record(record: dict[str, Any], store_path: Path | None = None) -> list[Path]:
    """Write the record to the user cache and, when given, into that run store; returns where."""
    written = [write_json(cache_subdir(CACHE_SUBDIR) / f"{record['identity_key']}.json", record, sort_keys=True)]
    if store_path is not None:
        with RunStore(store_path) as store:
            for run in store.runs():
                store.save_results(run.run_id, RECORD_STAGE, [(_result_key(record), record)])
        written.append(store_path)
    return written


def _result_key(record: dict[str, Any]) -> str:
    # one result per validation, so that earlier ones stay on record beside the latest
    return f"{record['identity_key']}@{record['validated_at']}"


def find_record(key: str, store: RunStore | None = None) -> tuple[dict[str, Any], str] | None:
    """The latest record for an identity key and where it was found: the run store, else the user cache."""
    if store is not None:
        found = _latest_in_store(store, key)
        if found is not None:
            return found, f"run store {store.path.name}"
    path = cache_subdir(CACHE_SUBDIR) / f"{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8")), "user cache"
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # a damaged cache file is as good as none; the next validation rewrites it
    return None


def _latest_in_store(store: RunStore, key: str) -> dict[str, Any] | None:
    records: list[dict[str, Any]] = []
    for run in store.runs():
        results = store.results(run.run_id, RECORD_STAGE)
        if "identity_key" in results.columns:
            records += results.filter(results["identity_key"] == key).drop("key").to_dicts()
    return max(records, key=lambda r: str(r.get("validated_at", ""))) if records else None
