"""Translations for human review, for every probe: export them, edit the `text` column, import.

With an experiment, the texts are those its probe needs translated, and the machine
translations come from its run store (a run makes them); without one, the wvs prompt texts
of the shipped codebook, all items. A gap is exported with an empty text for a person to
fill in. Imported translations are kept in the user cache and win over every other source
of that text while its source is unchanged (culturalign.translation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from culturalign.config import load_experiment
from culturalign.errors import UserError
from culturalign.languages import check_language
from culturalign.probes.registry import get_probe
from culturalign.probes.wvs.translations import load_default_codebook, prompt_texts
from culturalign.store.db import RunStore
from culturalign.tables import read_table, require_columns
from culturalign.translation.review import export_review_file, import_review_file
from culturalign.translation.stage import TranslationJob, stored_translations
from culturalign.translation.texts import Resolved, TextId, origin_counts, resolve


def _job(experiment_path: str | Path | None, languages: Sequence[str]) -> tuple[TranslationJob, Path | None]:
    if experiment_path is None:
        codebook = load_default_codebook()
        items = list(codebook.keys())
        return TranslationJob(None, [t for lang in languages for t in prompt_texts(lang, codebook, items)]), None
    experiment = load_experiment(experiment_path)
    probe = get_probe(experiment.config.probe)
    if probe.translations is None:
        raise UserError(f"the {probe.name} probe has no texts to translate")
    job = probe.translations(experiment)
    if languages:
        job = TranslationJob(job.translator, [t for t in job.texts if t.language in languages])
    return job, experiment.store_path


def current_translations(experiment_path: str | Path | None, languages: Sequence[str]) -> list[Resolved]:
    """Each text's translation as a run would use it now, with its origin."""
    languages = [check_language(lang) for lang in languages]
    job, store_path = _job(experiment_path, languages)
    machine: dict[TextId, str] = {}
    if job.translator is not None and store_path is not None and store_path.is_file():
        with RunStore(store_path) as store:
            machine, _ = stored_translations(store, job.translator, job.texts)
    return resolve(job.texts, machine)


def export_for_review(
    output: str | Path, *, language: str | None = None, experiment_path: str | Path | None = None
) -> tuple[Path, dict[str, int]]:
    """Write the review file; returns its path and how many texts come from each origin."""
    if language is None and experiment_path is None:
        raise UserError("name a language (--language) or an experiment (--experiment) to export translations for")
    resolved = current_translations(experiment_path, [language] if language else [])
    return export_review_file(resolved, output), origin_counts(resolved)


def import_reviewed(file: str | Path, experiment_path: str | Path | None = None) -> dict[str, int]:
    """Store the texts a person changed (or marked reviewed); returns how many per language."""
    languages: list[str] = []
    if experiment_path is None:
        frame = read_table(file)
        require_columns(frame, ["language", "key", "text"], Path(file).name)
        languages = sorted({str(v) for v in frame["language"].drop_nulls()})
    return import_review_file(file, current_translations(experiment_path, languages))
