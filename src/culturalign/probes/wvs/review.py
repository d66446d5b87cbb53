"""Translations for human review: export a language's prompt texts, import the corrected file.

With an experiment, its codebook and items are used, and its translator fills the gaps
before the export; without one, the shipped codebook and all its items, and a gap is
exported with an empty text for a person to fill in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturalign.config import load_experiment
from culturalign.languages import check_language
from culturalign.probes.wvs.generate import experiment_items, load_experiment_codebook
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.prompts.translate import translate_missing
from culturalign.prompts.translations import export_translations, import_translations, origins, translation_table


def _codebook_and_items(experiment_path: str | Path | None) -> tuple[Any, list[str], Any]:
    if experiment_path is None:
        codebook = load_codebook()
        return codebook, list(codebook.keys()), None
    experiment = load_experiment(experiment_path)
    codebook = load_experiment_codebook(experiment)
    return codebook, experiment_items(experiment, codebook), getattr(experiment.settings, "translator", None)


def export_for_review(
    language: str, output: str | Path, experiment_path: str | Path | None = None
) -> tuple[Path, dict[str, int]]:
    """Write the review file; returns its path and how many texts come from each origin."""
    language = check_language(language)
    codebook, items, translator = _codebook_and_items(experiment_path)
    if translator is not None:
        translate_missing(language, translator, codebook, items)
    path = export_translations(language, output, codebook, items)
    return path, origins(translation_table(language, codebook, items))


def import_reviewed(file: str | Path, experiment_path: str | Path | None = None) -> dict[str, int]:
    codebook, items, _ = _codebook_and_items(experiment_path)
    return import_translations(file, codebook, items)
