"""The probe contract and registry.

A probe declares, each with one signature:
- `settings_model`: its `[section]` of the experiment file (a pydantic model);
- `plan(experiment) -> list[Request]`: the requests a run would send (for --dry-run);
- `stages`: `run(ctx) -> StageResult`, in order; each reads what earlier stages left in
  the run store, never another stage's internals, so any stage can be rerun alone;
- `analyze(ctx) -> AnalysisSummary`: the tables of OUTPUT/analysis, from the store;
- `report_sections(source: ReportSource) -> list[Section]`: what the report shows of an
  analysis folder (`report/` only renders them).
A stage's typed result is stored in the run store under the stage's name and read back with
`RunContext.result`, so a later stage, the console summary or a report made long after the
run all see the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

from culturalign.errors import ConfigError
from culturalign.plugins import PROBES, in_code, load_plugin, plugin_names

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.estimate import PlannedCalls
    from culturalign.report.sections import ReportSource, Section
    from culturalign.store.db import RunStore
    from culturalign.translation.stage import TranslationJob


class StageResult(BaseModel):
    """What a stage reports about its work; one subclass per kind of stage, stored as JSON."""

    model_config = ConfigDict(extra="forbid")


class CallCounts(StageResult):
    """What the engine did with a stage's requests (`engine.run_requests`)."""

    total: int = 0
    cached: int = 0
    asked: int = 0
    answered: int = 0
    failed: int = 0

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> CallCounts:
        return cls(**{name: int(counts.get(name, 0)) for name in cls.model_fields})


class TranslationCounts(CallCounts):
    """The translation stage's calls (culturalign.translation), and the texts left in their own language."""

    untranslated: int = 0

    @classmethod
    def of(cls, counts: Mapping[str, int], untranslated: int = 0) -> TranslationCounts:
        return cls(**CallCounts.of(counts).model_dump(), untranslated=untranslated)


class ParseCounts(StageResult):
    """Answers read back: how many kept, how many dropped and why."""

    parsed: int = 0
    kept: int = 0
    dropped: int = 0
    dropped_by_reason: dict[str, int] = {}


class AnalysisSummary(StageResult):
    """A probe's analysis: the folder it wrote (with manifest.json) and what the console should say."""

    folder: Path
    notes: list[str] = []  # said on the console after a run
    warnings: list[str] = []  # written into the manifest; not repeated on the console
    responses: int | None = None
    groups: int | None = None
    tables: int | None = None


class ReportResult(StageResult):
    path: Path


R = TypeVar("R", bound=StageResult)


@dataclass
class RunContext:
    """What every stage gets: the experiment, the open store, the run and where outputs go."""

    experiment: Experiment
    store: RunStore
    run_id: str
    output_dir: Path
    show_progress: bool = True
    limit: int | None = None
    results: dict[str, StageResult] = field(default_factory=dict)  # this run's stage results, by stage name

    @property
    def settings(self) -> Any:
        return self.experiment.settings

    @property
    def config(self) -> Any:
        return self.experiment.config

    def record(self, stage: str, result: StageResult) -> None:
        """Keep a stage's result for this run: in memory and in the run store."""
        self.results[stage] = result
        self.store.save_stage_result(self.run_id, stage, result.model_dump(mode="json"))

    def result(self, stage: str, model: type[R]) -> R | None:
        """A stage's result: as this process recorded it, else as the store holds it (None if neither)."""
        found = self.results.get(stage)
        if isinstance(found, model):
            return found
        stored = self.store.stage_result(self.run_id, stage)
        return model.model_validate(stored) if stored is not None else None


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[RunContext], StageResult]
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
    # After the stages: the analysis into OUTPUT/analysis, and the report's sections of it.
    # A probe without them (a plugin in the making, a test) stops after its stages.
    analyze: Callable[[RunContext], AnalysisSummary] | None = None
    report_sections: Callable[[ReportSource], list[Section]] | None = None
    report_covariates: bool = False  # its report draws alignment against a user's covariates table
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
