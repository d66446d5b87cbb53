"""Backends and probes from an installed third-party distribution, found through entry points."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from culturalign.config import parse_experiment
from culturalign.errors import BackendError, ConfigError
from culturalign.models.base import ModelSpec
from culturalign.models.registry import get_backend, known_backends
from culturalign.plugins import BACKENDS, BUILTIN, PROBES
from culturalign.probes import registry as probe_registry
from culturalign.probes.registry import get_probe, known_probes
from culturalign.run import run_experiment

PLUGIN_DIST = Path(__file__).parent / "data" / "plugin_dist"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toy_installed(monkeypatch):
    """The toy distribution on sys.path, as `pip install` would leave it (package + .dist-info)."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIST))
    monkeypatch.delitem(probe_registry._PROBES, "toy", raising=False)
    yield
    probe_registry._PROBES.pop("toy", None)


def test_a_plugin_unknown_until_installed():
    assert "toy" not in known_backends() and "toy" not in known_probes()
    with pytest.raises(ConfigError, match="unknown probe 'toy'"):
        get_probe("toy")


def test_an_installed_plugin_backend_and_probe_run_an_experiment(toy_installed, tmp_path):
    assert "toy" in known_backends() and "toy" in known_probes()
    experiment = parse_experiment(
        {
            "probe": "toy",
            "name": "plugin",
            "languages": ["en"],
            "store": str(tmp_path / "runs.sqlite"),
            "output": str(tmp_path / "out"),
            "models": [{"name": "counter", "backend": "toy"}],
            "toy": {"repeats": 2},
        }
    )
    result = run_experiment(experiment, show_progress=False)
    assert result.stages == ["ask", "score"]
    assert result.results["ask"].asked == 4 and result.results["ask"].failed == 0
    from culturalign.store.db import RunStore

    with RunStore(tmp_path / "runs.sqlite") as store:
        words = sorted(store.results(result.run_id, "score")["words"].to_list())
    assert words == [7, 7, 7, 7]  # both questions have seven words, asked twice each
    # The plugin's settings are validated by its own model, like a built-in probe's.
    with pytest.raises(ConfigError, match="repeat"):
        parse_experiment(
            {"probe": "toy", "name": "x", "languages": ["en"], "models": [{"name": "c", "backend": "toy"}],
             "toy": {"repeat": 2}}
        )  # fmt: skip


def test_builtins_are_declared_as_entry_points_exactly_like_the_fallback():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert declared[BACKENDS] == BUILTIN[BACKENDS]
    assert declared[PROBES] == BUILTIN[PROBES]
    for group in (BACKENDS, PROBES):
        for target in BUILTIN[group].values():
            module, _, attr = target.partition(":")
            assert attr and module.startswith("culturalign.")


def test_builtins_resolve_without_installed_metadata(monkeypatch):
    # A checkout installed before the entry points existed has none in its metadata.
    monkeypatch.setattr("culturalign.plugins.entry_points", lambda group: [])
    assert {"mock", "openai", "llamacpp", "vllm"} <= set(known_backends())
    assert get_backend(ModelSpec(name="m", backend="mock")).spec.name == "m"
    assert get_probe("vsm").name == "vsm"


def test_a_plugin_cannot_replace_a_builtin(toy_installed, monkeypatch, tmp_path):
    shadow = tmp_path / "shadow-0.1.dist-info"
    shadow.mkdir()
    (shadow / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 0.1\n", encoding="utf-8")
    (shadow / "entry_points.txt").write_text("[culturalign.backends]\nmock = culturalign_toy_plugin:ToyBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert type(get_backend(ModelSpec(name="m", backend="mock"))).__name__ == "MockBackend"


def test_a_broken_plugin_is_a_one_line_error(monkeypatch, tmp_path):
    broken = tmp_path / "broken-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n", encoding="utf-8")
    (broken / "entry_points.txt").write_text("[culturalign.backends]\nbroken = no_such_module_here:Backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendError, match="not installed \\(no_such_module_here\\)") as info:
        get_backend(ModelSpec(name="b", backend="broken"))
    assert len(str(info.value).splitlines()) == 1
