"""Which languages the wvs probe speaks, and how far each one's texts can be trusted.

One row per language: who wrote and who reviewed its codebook texts (the codebook's [meta]),
whether the offline judge has a cue list for it and whether that judge's agreement was
measured in it, and the countries whose respondents were interviewed in it. The report shows
the rows of the run's languages; the README lists them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from culturalign.report.sections import Section, Table


def language_status(languages: Sequence[str] | None = None) -> pl.DataFrame:
    """The status table for `languages` (every language of the shipped codebook when None)."""
    import tomllib

    from culturalign.languages import language_name
    from culturalign.paths import package_data
    from culturalign.probes.wvs.analysis.truth import native_countries
    from culturalign.probes.wvs.judge.candidates.lexicon import cue_languages
    from culturalign.probes.wvs.sources.codebook import load_codebook

    codebook = load_codebook()
    validated = tomllib.loads(package_data("judge", "validated.toml").read_text(encoding="utf-8"))
    measured = set(validated.get("reference_languages", {}))
    cues = set(cue_languages())
    native = native_countries()
    rows = []
    for language in languages if languages is not None else codebook.languages():
        meta = codebook.language_meta(language)
        rows.append(
            {
                "language": language,
                "name": language_name(language),
                "codebook texts": "yes" if language in codebook.languages() else "no (translated by a model)",
                "reviewed": "yes" if meta is not None and meta.reviewed else "no",
                "reviewed by": meta.reviewed_by if meta is not None else "",
                "offline judge cue list": (
                    "measured"
                    if language in measured and language in cues
                    else "yes, not measured"
                    if language in cues
                    else "no"
                ),
                "interview countries": ", ".join(native.get(language, [])),
            }
        )
    return pl.DataFrame(rows)


def languages_section(manifest: dict) -> Section | None:
    languages = manifest.get("languages")
    if not isinstance(languages, list) or not languages:
        return None
    section = Section(title="Languages")
    table = language_status([str(lang) for lang in languages])
    unreviewed = table.filter(pl.col("reviewed") == "no")["language"].to_list()
    if unreviewed:
        section.paragraphs.append(
            f"The prompt texts of {', '.join(unreviewed)} have not yet been checked by an independent second "
            "reader: a wording problem in them would show up as a difference between languages."
        )
    section.tables.append(
        Table(
            title="Languages of this run",
            data=table,
            caption="How each language's texts were produced and reviewed (codebook [meta]), the offline judge's "
            "cue list, and the countries whose respondents were interviewed in it.",
        )
    )
    return section
