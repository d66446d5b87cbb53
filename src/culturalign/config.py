"""The experiment file (TOML), validated at the edge by pydantic models that reject unknown fields.

Top-level keys are shared by every probe; the table named after the probe (`[wvs]`,
`[vsm]`, `[statements]`) holds that probe's own settings and is validated by the model
the probe registers (probes/registry.py).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from culturalign.errors import ConfigError
from culturalign.languages import check_language
from culturalign.models.base import ModelSpec
from culturalign.plugins import PROBES, load_plugin


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probe: str = Field(description="registered probe name: wvs, vsm or statements")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="run name, used for files")
    seed: int = 0
    languages: list[str] = Field(min_length=1, description="ISO 639-1 prompt languages")
    models: list[ModelSpec] = Field(min_length=1)
    judges: list[ModelSpec] = Field(default_factory=list, description="judge models (wvs, statements)")
    store: Path | None = Field(default=None, description="SQLite run store; default culturalign-runs/NAME.sqlite")
    output: Path | None = Field(default=None, description="analysis and report folder; default culturalign-runs/NAME")
    ground_truth: str = Field(default="published", description="'published' (fetched tables) or a table path")
    judge_error_rate: float | None = Field(default=None, ge=0, lt=1, description="measured judge error for attenuation")
    limit: int | None = Field(default=None, gt=0, le=100_000_000, description="at most this many generation requests")

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        try:
            return [check_language(code) for code in value]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("models", "judges")
    @classmethod
    def _unique_names(cls, value: list[ModelSpec]) -> list[ModelSpec]:
        names = [m.name for m in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {', '.join(dupes)}")
        first_of: dict[str, str] = {}
        for spec in value:
            # Entries that ask exactly the same questions share every store key, so the second
            # would only ever see the first one's answers under another name.
            same = first_of.setdefault(_output_signature(spec), spec.name)
            if same != spec.name:
                raise ValueError(
                    f"{spec.name!r} and {same!r} would ask exactly the same requests (same backend, model, "
                    "prompt_style, options and params) and so share every answer; remove one, or make them differ "
                    "in what changes the output (e.g. prompt_style or params)"
                )
        return value


def _output_signature(spec: ModelSpec) -> str:
    data = {"identity": spec.identity(), "params": spec.params.model_dump(exclude_none=True)}
    return json.dumps(data, sort_keys=True, default=str)


class Experiment(BaseModel):
    """A validated experiment: shared settings, the probe's own settings, and where it lives."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: ExperimentConfig
    settings: Any
    source: Path | None = None

    @property
    def store_path(self) -> Path:
        return self._resolve(self.config.store, Path("culturalign-runs") / f"{self.config.name}.sqlite")

    @property
    def output_dir(self) -> Path:
        return self._resolve(self.config.output, Path("culturalign-runs") / self.config.name)

    def _resolve(self, value: Path | None, default: Path) -> Path:
        path = value or default
        if not path.is_absolute() and value is not None and self.source is not None:
            path = Path(os.path.normpath(self.source.parent / path))
        return path

    def as_dict(self) -> dict[str, Any]:
        """The whole config as plain data (stored with the run). Holds no API keys, only their variable names."""
        data = self.config.model_dump(mode="json")
        data[self.config.probe] = self.settings.model_dump(mode="json") if self.settings is not None else {}
        return data


def format_validation_error(exc: ValidationError, where: str) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field; check its spelling or remove it"
    elif first["type"] in ("less_than_equal", "less_than") and "ctx" in first:
        bound = next(iter(first["ctx"].values()))
        limit = "at most" if first["type"] == "less_than_equal" else "below"
        message = (
            f"{first.get('input')!r} is too large: it must be {limit} {bound} (a guard against typos and runaway bills)"
        )
    extra = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"{where}: field {loc}: {message}{extra}"


def parse_experiment(data: dict[str, Any], source: Path | None = None) -> Experiment:
    where = str(source) if source else "experiment"
    data = dict(data)
    probe_name = data.get("probe")
    if not isinstance(probe_name, str):
        raise ConfigError(f'{where}: field probe is missing; set probe = "wvs", "vsm" or "statements"')
    # Through the plugin registry, not the probes package: the probes layer sits above this one.
    probe = load_plugin(PROBES, probe_name, "probe")
    if not isinstance(getattr(probe, "settings_model", None), type):
        raise ConfigError(f"probe {probe_name!r}: its plugin entry point does not give a culturalign Probe")
    section = data.pop(probe_name, {})
    try:
        config = ExperimentConfig(**data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where)) from None
    try:
        settings = probe.settings_model(**section)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{where} [{probe_name}]")) from None
    return Experiment(config=config, settings=settings, source=source)


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a UTF-8 text file; save the experiment as UTF-8 TOML") from None
    return parse_experiment(data, source=path)
