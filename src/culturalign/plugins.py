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
        "wvs": "culturalign.probes.wvs:PROBE",
        "vsm": "culturalign.probes.vsm:PROBE",
        "statements": "culturalign.probes.statements:PROBE",
    },
}


def plugin_entry_points(group: str) -> dict[str, EntryPoint]:
    """Every entry point of the group by name; a built-in name always means the built-in.

    Reading the metadata on each call (it is cheap next to a model call) lets a plugin
    installed while the process runs, or added to sys.path by a test, be found at once."""
    found = {ep.name: ep for ep in entry_points(group=group)}
    for name, target in BUILTIN[group].items():
        found[name] = EntryPoint(name, target, group)
    return found
