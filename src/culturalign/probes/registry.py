"""The probe registry.

A probe is data plus four kinds of function: it builds requests from its settings, parses
and scores the stored answers, analyses the scores against ground truth, and hands the
analysis to the report. Each stage reads what earlier stages left in the run store (or in
the output folder), never another stage's internals, so any stage can be rerun alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from culturalign.errors import ConfigError
from culturalign.plugins import PROBES, in_code, load_plugin, plugin_names

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.estimate import PlannedCalls
    from culturalign.store.db import RunStore
    from culturalign.translation.stage import TranslationJob


@dataclass
class RunContext:
    """What every stage gets: the experiment, the open store, the run and where outputs go."""

    experiment: Experiment
    store: RunStore
    run_id: str
    output_dir: Path
    show_progress: bool = True
    limit: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # stage summaries for the console and report

    @property
    def settings(self) -> Any:
        return self.experiment.settings

    @property
    def config(self) -> Any:
        return self.experiment.config


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[RunContext], None]
    description: str = ""


@dataclass(frozen=True)
class Probe:
    name: str
    description: str
    settings_model: type[BaseModel]
    stages: tuple[Stage, ...]
    # The requests a run will send before any answer exists (for --dry-run cost estimates),
    # and a guess of the follow-up calls (judging) per generation request.
    plan: Callable[[Experiment], list[Request]]
    followup_calls_per_request: float = 0.0
    # Optional: every call of every stage, counted without building the requests
    # (estimate.PlannedCalls per stage and model); `culturalign run --dry-run` prefers it.
    count: Callable[[Experiment, int | None, RunStore | None], list[PlannedCalls]] | None = None
    # The texts an experiment needs translated and its translator, for review export/import.
    translations: Callable[[Experiment], TranslationJob] | None = None


_PROBES: dict[str, Probe] = in_code(PROBES)


def register_probe(probe: Probe) -> Probe:
    """Register a probe made in code (tests, notebooks); installed probes come by entry point."""
    _PROBES[probe.name] = probe
    return probe


def known_probes() -> list[str]:
    return plugin_names(PROBES)


def get_probe(name: str) -> Probe:
    """The probe of that name: registered in code, else the `culturalign.probes` entry point's."""
    probe = load_plugin(PROBES, name, "probe")
    if not isinstance(probe, Probe):
        raise ConfigError(f"probe {name!r}: its plugin entry point does not give a culturalign Probe")
    if probe.name != name:
        raise ConfigError(f"probe {name!r}: its plugin entry point gives a probe named {probe.name!r}")
    return register_probe(probe)
