"""Translating the instrument's wording into prompt languages that no instrument file covers.

The prompt and the clean-up are the shared ones (culturalign.prompts.translate). The asking
goes through the run engine: every distinct text (item texts and option labels) is asked
once per language of the configured `translator` model, so answers are cached in the run
store and a rerun asks only what failed. The finished translation is also kept in the user
cache as a CSV in the documented instrument layout (`vsm-<lang>-<hash>.csv` under
translations/), which `culturalign vsm export-translations` copies out for review; a
reviewed file can be passed back as an instrument file, and is then used as is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

from culturalign import paths, tables
from culturalign.engine.runner import Request, run_requests
from culturalign.errors import ConfigError, DataError
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.probes.vsm.instrument import ItemText, Wording, read_instrument_file, wording_rows
from culturalign.prompts.translate import clean_translation, translation_messages

STAGE = "translate"
SOURCE_LANGUAGE = "en"


def translation_dir() -> Path:
    return paths.cache_subdir("translations") / "vsm"


def _fingerprint(translator: ModelSpec, source: dict[int, ItemText]) -> str:
    payload = json.dumps(
        [translator.identity(), [[i.item, i.text, list(i.options)] for _, i in sorted(source.items())]],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def cached_translation_path(language: str, translator: ModelSpec, source: dict[int, ItemText]) -> Path:
    return translation_dir() / f"vsm-{language}-{_fingerprint(translator, source)}.csv"


def translation_requests(translator: ModelSpec, source: dict[int, ItemText], languages: list[str]) -> list[Request]:
    texts = sorted({t for item in source.values() for t in (item.text, *item.options)})
    params = GenerateConfig(temperature=0.0, max_tokens=512).merged(translator.params)
    return [
        Request(translator, tuple(translation_messages(text, lang)), params, 0, {"language": lang, "source": text})
        for lang in languages
        for text in texts
    ]


def source_wording(wording: Wording) -> dict[int, ItemText]:
    if SOURCE_LANGUAGE in wording:
        return wording[SOURCE_LANGUAGE]
    raise DataError(
        "the instrument files give no English wording to translate from; add the English file or every prompt language"
    )


def complete_wording(
    wording: Wording,
    languages: list[str],
    translator: ModelSpec | None,
    store=None,
    run_id: str | None = None,
    *,
    show_progress: bool = True,
    ask: bool = True,
) -> Wording:
    """The wording in every prompt language: given files first, then cached or fresh translations."""
    missing = [lang for lang in languages if lang not in wording]
    if not missing:
        return wording
    if translator is None:
        raise ConfigError(
            f"no instrument wording in {', '.join(missing)}: set translator (a model) in the vsm section of the experiment "
            "or add an instrument file for each of these languages"
        )
    source = source_wording(wording)
    done = dict(wording)
    to_ask = []
    for lang in missing:
        cached = cached_translation_path(lang, translator, source)
        if cached.is_file():
            done.update(read_instrument_file(cached))
        else:
            to_ask.append(lang)
    if not to_ask or not ask:
        return done
    if store is None or run_id is None:
        raise ConfigError(f"the wording in {', '.join(to_ask)} is not translated yet; start the run to translate it")
    run_requests(store, run_id, STAGE, translation_requests(translator, source, to_ask), show_progress=show_progress)
    answers = store.requests_with_meta(run_id, STAGE)
    for lang in to_ask:
        done[lang] = _assemble(answers, lang, source)
        _save(done[lang], lang, cached_translation_path(lang, translator, source))
    return done


def _assemble(answers: pl.DataFrame, language: str, source: dict[int, ItemText]) -> dict[int, ItemText]:
    rows = answers.filter(pl.col("language") == language)
    failed = rows.filter(pl.col("response").is_null() | (pl.col("response").str.strip_chars() == ""))
    if failed.height:
        first = failed["error"].drop_nulls().head(1).to_list()
        reason = f" (first error: {first[0]})" if first else ""
        raise DataError(
            f"{failed.height} of {rows.height} translations into {language} failed{reason}; run again to retry them"
        )
    lookup = {src: clean_translation(text) for src, text in zip(rows["source"], rows["response"], strict=True)}
    return {
        n: ItemText(n, lookup[item.text], tuple(lookup[o] for o in item.options), language)
        for n, item in source.items()
    }


def _save(items: dict[int, ItemText], language: str, path: Path) -> None:
    tables.write_table(pl.DataFrame(wording_rows({language: items})), path)


def export_translations(out_dir: str | Path) -> list[Path]:
    """Copy every cached translation into `out_dir` for review (documented instrument layout)."""
    out_dir = Path(out_dir)
    written = []
    for path in sorted(translation_dir().glob("vsm-*.csv")):
        wording = read_instrument_file(path)
        written.append(tables.write_table(pl.DataFrame(wording_rows(wording)), out_dir / path.name))
    return written
