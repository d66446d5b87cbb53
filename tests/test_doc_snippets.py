"""Every experiment a user can copy from the project validates: the files in examples/ and each
fenced ```toml block in README.md and docs/ (a block that is a codebook language file is checked
as one).

A block without `probe` is a fragment (e.g. one [[judges]] table): it is placed into a minimal
experiment, its tables replacing the minimal one's, and the probe taken from a probe table the
block holds ([wvs], [vsm] or [statements]). Validation is the same as `culturalign run` does
before it contacts anything: the file, the probe's section, and every backend name.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from culturalign.config import Experiment, parse_experiment
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND, known_backends
from culturalign.probes.wvs.judge.candidates import known_candidates
from culturalign.run import experiment_models

ROOT = Path(__file__).resolve().parents[1]
PROBES = ("wvs", "vsm", "statements")
FENCE = re.compile(r"^```toml[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
MINIMAL = {"probe": "wvs", "name": "snippet", "languages": ["en"], "models": [{"name": "m", "backend": "mock"}]}


def _snippets() -> list[tuple[str, str]]:
    found = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in sorted(ROOT.glob("examples/*.toml"))]
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for n, match in enumerate(FENCE.finditer(doc.read_text(encoding="utf-8")), start=1):
            found.append((f"{doc.relative_to(ROOT)} block {n}", match.group(1)))
    return found


SNIPPETS = _snippets()


def _as_experiment(data: dict) -> dict:
    if "probe" in data:
        return data
    probe = next((p for p in PROBES if p in data), "wvs")
    return {**MINIMAL, "probe": probe, **data}


def _check_backends(experiment: Experiment) -> None:
    backends = set(known_backends())
    for where, spec in experiment_models(experiment):
        if where.startswith("judges") and spec.backend == OFFLINE_JUDGE_BACKEND:
            assert spec.model in known_candidates(), f"{where}: offline judge {spec.model!r}"
        else:
            assert spec.backend in backends, f"{where}: unknown backend {spec.backend!r}"


def test_the_project_has_snippets_to_check():
    names = [name for name, _ in SNIPPETS]
    assert "examples/quickstart.toml" in names
    assert any(name.startswith("docs/judge.md") for name in names)


def _is_codebook_language_file(data: dict) -> bool:
    return "language" in data and "meta" in data and "items" in data


def _check_codebook_language_file(data: dict) -> None:
    """A language file of the wvs codebook (docs/adding-a-language.md): its meta and item texts."""
    from culturalign.probes.wvs.sources.codebook import ItemTexts, LanguageMeta, load_codebook

    LanguageMeta(**data["meta"])
    known = set(load_codebook().keys())
    for key, texts in data["items"].items():
        assert key in known, f"item {key} is not in the codebook"
        ItemTexts(**texts)


@pytest.mark.parametrize(("where", "text"), SNIPPETS, ids=[name for name, _ in SNIPPETS])
def test_every_toml_snippet_parses_and_validates(where, text):
    data = tomllib.loads(text)
    if _is_codebook_language_file(data):
        _check_codebook_language_file(data)
        return
    source = ROOT / where.split(" block ")[0]
    experiment = parse_experiment(_as_experiment(data), source=source)
    _check_backends(experiment)


def test_the_embedded_name_is_one_thing():
    """`embedded` is no backend: the error says what to write instead, for a model and for a judge."""
    from culturalign.errors import BackendError
    from culturalign.models.base import ModelSpec
    from culturalign.models.registry import get_backend

    with pytest.raises(BackendError, match='backend = "llamacpp" with `model` unset.*backend = "offline"'):
        get_backend(ModelSpec(name="x", backend="embedded"))
    with pytest.raises(BackendError, match="for \\[\\[judges\\]\\] only"):
        get_backend(ModelSpec(name="x", backend=OFFLINE_JUDGE_BACKEND, model="lexicon"))


def test_the_judge_docs_offline_judge_runs(tmp_path, monkeypatch):
    """The docs' offline judge passes the checks before a run and judges without any model call."""
    import socket

    from culturalign.run import run_experiment

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("CULTURALIGN_GT_BASE_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    (tmp_path / "exp.toml").write_text(
        'probe = "wvs"\nname = "lex"\nlanguages = ["en"]\nstore = "lex.sqlite"\noutput = "lex"\n\n'
        '[[models]]\nname = "m"\nbackend = "mock"\n\n'
        '[[judges]]\nname = "lex"\nbackend = "offline"\nmodel = "lexicon"\n\n[wvs]\nprompts_per_language = 2\n',
        encoding="utf-8",
    )
    planned = run_experiment(tmp_path / "exp.toml", dry_run=True).estimate
    assert planned["stage"].to_list() == ["generate"]  # the offline judge costs no call
    result = run_experiment(tmp_path / "exp.toml", show_progress=False)
    assert result.results["judge"].judges == ["lex"]
    assert result.results["judge"].quality[0]["judge"] == "lexicon"  # its measured figures, not "not validated"
