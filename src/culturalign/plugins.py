"""Entry points: how backends and probes, built-in or third-party, make themselves known.

A distribution declares `[project.entry-points."culturalign.backends"]` (name = "module:factory")
or `[project.entry-points."culturalign.probes"]` (name = "module:PROBE"); culturalign reads them
through importlib.metadata and imports a plugin's module only when it is used. The built-ins are
declared the same way in pyproject.toml; the fallback table below covers a checkout whose
installed metadata predates a new entry (the declarations appear only when `pip install -e .`
runs again), and a test keeps the two in step.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from culturalign.errors import ConfigError

BACKENDS = "culturalign.backends"
PROBES = "culturalign.probes"

BUILTIN: dict[str, dict[str, str]] = {
    BACKENDS: {
        "mock": "culturalign.models.mock:MockBackend",
        "openai": "culturalign.models.openai_backend:OpenAIBackend",
        "llamacpp": "culturalign.models.llamacpp_backend:LlamaCppBackend",
        "vllm": "culturalign.models.vllm_backend:VLLMBackend",
    },
    PROBES: {
        "wvs": "culturalign.probes.wvs.probe:PROBE",
        "vsm": "culturalign.probes.vsm:PROBE",
        "statements": "culturalign.probes.statements:PROBE",
    },
}


# Objects registered in code (tests, notebooks) by group and name; they win over entry points.
# The probe registry keeps its probes here, so that config.py, which validates the probe's
# section of an experiment, finds them without importing the probes layer above it.
_IN_CODE: dict[str, dict[str, Any]] = {BACKENDS: {}, PROBES: {}}


def in_code(group: str) -> dict[str, Any]:
    return _IN_CODE[group]


def plugin_names(group: str) -> list[str]:
    return sorted(set(_IN_CODE[group]) | set(plugin_entry_points(group)))


def load_plugin(group: str, name: str, kind: str) -> Any:
    """The object registered in code under `name`, else its entry point's, loaded (imported).

    `kind` names it in the one-line errors: an unknown name, or a plugin whose imports fail."""
    if name in _IN_CODE[group]:
        return _IN_CODE[group][name]
    entry = plugin_entry_points(group).get(name)
    if entry is None:
        raise ConfigError(f"unknown {kind} {name!r}; use one of {', '.join(plugin_names(group))}")
    try:
        return entry.load()
    except ImportError as exc:
        raise ConfigError(
            f"{kind} {name!r} cannot be loaded: it needs {exc.name}, which is not installed; install it"
        ) from None


def plugin_entry_points(group: str) -> dict[str, EntryPoint]:
    """Every entry point of the group by name; a built-in name always means the built-in.

    Reading the metadata on each call (it is cheap next to a model call) lets a plugin
    installed while the process runs, or added to sys.path by a test, be found at once."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    for name, target in BUILTIN[group].items():
        found[name] = EntryPoint(name, target, group)
    return found
