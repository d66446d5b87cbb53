"""Translating prompts into a new language through a model, caching, and review by export/import."""

from __future__ import annotations

import polars as pl
import pytest

from culturalign.cli.main import main
from culturalign.errors import UserError
from culturalign.models.base import ModelSpec
from culturalign.paths import cache_subdir
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.prompts.translate import clean_translation, translate_missing
from culturalign.prompts.translations import (
    export_translations,
    import_translations,
    language_prompts,
    origins,
    translation_table,
)

ITEMS = ["d059", "f118"]
ECHO = ModelSpec(name="echo-translator", backend="mock", options={"mode": "echo"})


@pytest.fixture(scope="module")
def codebook():
    return load_codebook()


def test_a_new_language_is_missing_until_translated_then_cached(codebook):
    assert set(origins(translation_table("it", codebook, ITEMS))) == {"missing"}
    report = translate_missing("it", ECHO, codebook, ITEMS)
    table = translation_table("it", codebook, ITEMS)
    assert report.failed == [] and report.translated == len(table)
    assert set(origins(table)) == {"machine"}
    # Echo returns the user message: the text alone, never the instructions.
    assert all(entry.text == entry.source for entry in table.values())
    assert (cache_subdir("translations") / "it.machine.json").exists()
    # Cached: nothing is missing, so a translator that cannot even be built is never touched.
    broken = ModelSpec(name="gone", backend="no-such-backend")
    assert translate_missing("it", broken, codebook, ITEMS).translated == 0
    prompts = language_prompts("it", codebook, ITEMS)
    assert len(prompts.templates.chat) == 10 and set(prompts.topics) == set(ITEMS)


def test_a_translation_that_loses_a_placeholder_is_not_cached(codebook):
    # The mock's list mode answers with words from the prompt, without the braces.
    mangler = ModelSpec(name="mangler", backend="mock", options={"mode": "list", "items": 1})
    report = translate_missing("pl", mangler, codebook, ITEMS)
    assert any(f.startswith("chat/") and "{topic}" in f for f in report.failed)
    table = translation_table("pl", codebook, ITEMS)
    assert all(table[f.split(":")[0]].origin == "missing" for f in report.failed)


def test_shipped_languages_need_no_translator(codebook):
    table = translation_table("da", codebook, ITEMS)
    assert set(origins(table)) == {"shipped", "codebook"}


def test_reviewed_file_overrides_shipped_and_machine_texts(codebook, tmp_path):
    out = export_translations("da", tmp_path / "da.csv", codebook, ITEMS)
    frame = pl.read_csv(out)
    assert frame.columns == ["language", "key", "source", "text", "origin"]
    assert frame.filter(pl.col("key") == "chat/t01")["source"].item().startswith("A researcher")
    fixed = "Gennemgået skabelon: {n} borgere om {topic}."
    frame = frame.with_columns(
        pl.when(pl.col("key") == "chat/t01").then(pl.lit(fixed)).otherwise(pl.lit(None)).alias("text")
    )
    frame.write_csv(tmp_path / "da-reviewed.csv")
    assert import_translations(tmp_path / "da-reviewed.csv", codebook, ITEMS) == {"da": 1}
    table = translation_table("da", codebook, ITEMS)
    assert table["chat/t01"].origin == "reviewed" and table["chat/t01"].text == fixed
    assert table["chat/t02"].origin == "shipped"
    assert language_prompts("da", codebook, ITEMS).templates.chat[0].text == fixed


def test_import_rejects_lost_placeholders_and_unknown_keys(codebook, tmp_path):
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"language": ["nl"], "key": ["chat/t03"], "text": ["zonder onderwerp, {n} burgers"]}).write_csv(bad)
    with pytest.raises(UserError, match=r"lacks \{topic\}"):
        import_translations(bad, codebook, ITEMS)
    pl.DataFrame({"language": ["nl"], "key": ["chat/t99"], "text": ["{n} {topic}"]}).write_csv(bad)
    with pytest.raises(UserError, match="unknown key"):
        import_translations(bad, codebook, ITEMS)
    assert translation_table("nl", codebook, ITEMS)["chat/t03"].origin == "shipped"


def test_clean_translation_strips_wrapping_quotes():
    assert clean_translation('  "Hallo {topic}"\n') == "Hallo {topic}"
    assert clean_translation("“Olá {topic}”") == "Olá {topic}"
    assert clean_translation('Say "hi" to {topic}') == 'Say "hi" to {topic}'


def test_cli_export_and_import_round_trip(tmp_path, capsys):
    out = tmp_path / "pt.csv"
    with pytest.raises(SystemExit) as done:
        main(["translations", "export", "--language", "pt", "-o", str(out)])
    assert done.value.code == 0 and out.exists()
    frame = pl.read_csv(out)
    assert frame.height > 100 and set(frame["language"]) == {"pt"}
    edited = frame.with_columns(
        pl.when(pl.col("key") == "completion/c02")
        .then(pl.lit("Relatório revisto\n\n{n} cidadãos sobre {topic}:\n\n1."))
        .otherwise(pl.col("text"))
        .alias("text")
    )
    edited.write_csv(tmp_path / "pt-edited.csv")
    with pytest.raises(SystemExit) as done:
        main(["translations", "import", str(tmp_path / "pt-edited.csv")])
    assert done.value.code == 0
    codebook = load_codebook()
    assert translation_table("pt", codebook, codebook.keys())["completion/c02"].text.startswith("Relatório revisto")


def test_cli_export_of_an_unknown_language_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["translations", "export", "--language", "xx", "-o", str(tmp_path / "x.csv")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "unknown language" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_a_run_in_a_new_language_translates_once_through_the_configured_translator():
    from culturalign.config import parse_experiment
    from culturalign.probes.wvs.generate import build_requests

    experiment = parse_experiment(
        {
            "probe": "wvs",
            "name": "new-language",
            "languages": ["it"],
            "models": [{"name": "m", "backend": "mock"}],
            # The offline judge has no Italian cue list: a model judge labels Italian answers.
            "judges": [{"name": "j", "backend": "mock"}],
            "wvs": {"prompts_per_language": 5, "items": ITEMS, "translator": ECHO.model_dump()},
        }
    )
    requests = build_requests(experiment)
    assert len(requests) == 5 and {r.meta["language"] for r in requests} == {"it"}
    machine = cache_subdir("translations") / "it.machine.json"
    stamp = machine.stat().st_mtime_ns
    assert [r.key for r in build_requests(experiment)] == [r.key for r in requests]
    assert machine.stat().st_mtime_ns == stamp  # the second build translated nothing


def test_a_person_can_translate_a_new_language_by_hand(codebook, tmp_path):
    blank = pl.read_csv(export_translations("sv", tmp_path / "sv.csv", codebook, ITEMS))
    assert set(blank["origin"]) == {"missing"} and set(blank["text"].fill_null("")) == {""}
    with pytest.raises(UserError, match="translator"):
        language_prompts("sv", codebook, ITEMS)
    filled = blank.with_columns(pl.concat_str([pl.lit("[sv] "), pl.col("source")]).alias("text"))
    filled.write_csv(tmp_path / "sv-filled.csv")
    assert import_translations(tmp_path / "sv-filled.csv", codebook, ITEMS) == {"sv": blank.height}
    prompts = language_prompts("sv", codebook, ITEMS)
    assert all(t.text.startswith("[sv] ") for t in prompts.templates.chat)
    assert all(p.startswith("[sv] ") for phrases in prompts.topics.values() for p in phrases)
