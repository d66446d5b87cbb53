"""One translation stage: asked through the engine and the run store, reviewed by export/import."""

from __future__ import annotations

import polars as pl
import pytest

from culturalign.cli.main import main
from culturalign.errors import UserError
from culturalign.models.base import ModelSpec
from culturalign.probes import registry
from culturalign.probes.registry import Probe
from culturalign.probes.wvs.probe import PROBE as WVS
from culturalign.probes.wvs.translations import (
    language_prompts,
    load_default_codebook,
    prompt_texts,
    prompts_from_table,
    translation_table,
)
from culturalign.review import export_for_review, import_reviewed
from culturalign.run import run_experiment
from culturalign.store.db import RunStore
from culturalign.translation.messages import clean_translation
from culturalign.translation.stage import STAGE, Translator, translate
from culturalign.translation.texts import origin_counts

ITEMS = ["d059", "f118"]
ECHO = ModelSpec(name="echo-translator", backend="mock", options={"mode": "echo"})
# Another translator that happens to answer the same: only its identity differs.
OTHER = ModelSpec(name="other-translator", backend="mock", model="another-model", options={"mode": "echo"})


@pytest.fixture(scope="module")
def codebook():
    return load_default_codebook()


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as opened:
        yield opened


def _calls(store: RunStore) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]


def test_a_new_language_is_translated_through_the_run_store(store, codebook):
    texts = prompt_texts("it", codebook, ITEMS)
    assert set(origin_counts(translation_table("it", codebook, ITEMS).values())) == {"missing"}
    run = store.start_run("t", "wvs", {})
    done = translate(store, run, Translator(ECHO), texts, show_progress=False)
    assert done.failed == [] and done.counts["asked"] == len(texts) == _calls(store)
    assert {r.origin for r in done.resolved} == {"machine"}
    # Echo returns the user message: the text alone, never the instructions.
    assert all(r.translation == r.text.source for r in done.resolved)
    assert set(store.requests_with_meta(run, STAGE)["probe"]) == {"wvs"}


def test_switching_translator_asks_again_and_returns_its_own_translations(store, codebook):
    texts = prompt_texts("it", codebook, ITEMS)
    run = store.start_run("t", "wvs", {})
    first = translate(store, run, Translator(ECHO), texts, show_progress=False)
    second = translate(store, run, Translator(OTHER), texts, show_progress=False)
    assert second.counts["asked"] == len(texts) and second.counts["cached"] == 0
    assert _calls(store) == 2 * len(texts)
    # Same translator, other parameters: new calls too (the key holds the parameters).
    longer = translate(store, run, Translator(ECHO, max_tokens=99), texts, show_progress=False)
    assert longer.counts["asked"] == len(texts)
    again = translate(store, run, Translator(ECHO), texts, show_progress=False)
    assert again.counts["asked"] == 0 and again.by_id().keys() == first.by_id().keys()


def test_a_resumed_translation_asks_only_what_is_missing_and_then_nothing(store, codebook):
    texts = prompt_texts("it", codebook, ITEMS)
    run = store.start_run("t", "wvs", {})
    # A run stopped after a third of its translations...
    translate(store, run, Translator(ECHO), texts[: len(texts) // 3], show_progress=False)
    resumed = translate(store, run, Translator(ECHO), texts, show_progress=False)
    assert resumed.counts["cached"] == len(texts) // 3
    assert resumed.counts["asked"] == len(texts) - len(texts) // 3
    assert translate(store, run, Translator(ECHO), texts, show_progress=False).counts["asked"] == 0
    assert _calls(store) == len(texts)


def test_a_translation_that_loses_a_placeholder_is_not_used(store, codebook):
    # The mock's list mode answers with words from the prompt, without the braces.
    mangler = ModelSpec(name="mangler", backend="mock", options={"mode": "list", "items": 1})
    run = store.start_run("t", "wvs", {})
    done = translate(store, run, Translator(mangler), prompt_texts("pl", codebook, ITEMS), show_progress=False)
    assert any(" chat/" in f and "{topic}" in f for f in done.failed)
    by_key = {r.text.key: r for r in done.resolved}
    assert all(by_key[f.split(" ")[1].rstrip(":")].origin == "missing" for f in done.failed)


def test_shipped_languages_need_no_translator(codebook):
    table = translation_table("da", codebook, ITEMS)
    assert set(origin_counts(table.values())) == {"shipped", "codebook"}


def test_a_reviewed_translation_wins_over_shipped_and_machine_texts(store, codebook, tmp_path):
    run = store.start_run("t", "wvs", {})
    translate(store, run, Translator(ECHO), prompt_texts("it", codebook, ITEMS), show_progress=False)
    out, counts = export_for_review(tmp_path / "da.csv", language="da")
    frame = pl.read_csv(out)
    assert frame.columns == ["probe", "language", "key", "source", "text", "origin"]
    assert frame.filter(pl.col("key") == "chat/t01")["source"].item().startswith("A researcher")
    fixed = "Gennemgået skabelon: {n} borgere om {topic}."
    frame = frame.with_columns(
        pl.when(pl.col("key") == "chat/t01").then(pl.lit(fixed)).otherwise(pl.col("text")).alias("text")
    )
    frame.write_csv(tmp_path / "da-reviewed.csv")
    assert import_reviewed(tmp_path / "da-reviewed.csv") == {"da": 1}  # only the changed row
    table = translation_table("da", codebook, ITEMS)
    assert table["chat/t01"].origin == "reviewed" and table["chat/t01"].translation == fixed
    assert table["chat/t02"].origin == "shipped"
    assert prompts_from_table("da", table, ITEMS).templates.chat[0].text == fixed
    # A reviewed text is never asked, and wins over a stored machine translation.
    de = prompt_texts("it", codebook, ITEMS)
    reviewed_de = pl.DataFrame(
        {"probe": ["wvs"], "language": ["it"], "key": ["chat/t01"], "text": ["Rivisto: {n} cittadini su {topic}."]}
    )
    reviewed_de.write_csv(tmp_path / "it.csv")
    assert import_reviewed(tmp_path / "it.csv") == {"it": 1}
    again = translate(store, run, Translator(OTHER), de, show_progress=False)
    assert again.counts["total"] == len(de) - 1
    assert again.by_id()[("wvs", "it", "chat/t01")].translation.startswith("Rivisto")


def test_export_then_import_then_export_is_byte_for_byte_the_same(tmp_path):
    first, _ = export_for_review(tmp_path / "pt.csv", language="pt")
    assert import_reviewed(first) == {}  # nothing changed, nothing stored
    second, _ = export_for_review(tmp_path / "pt-again.csv", language="pt")
    assert second.read_bytes() == first.read_bytes()
    # An edited file, imported, exports as itself (its rows now reviewed), and again.
    edited = pl.read_csv(first).with_columns(
        pl.when(pl.col("key") == "completion/c02")
        .then(pl.lit("Relatório revisto\n\n{n} cidadãos sobre {topic}:\n\n1."))
        .otherwise(pl.col("text"))
        .alias("text"),
        pl.when(pl.col("key") == "completion/c02").then(pl.lit("reviewed")).otherwise(pl.col("origin")).alias("origin"),
    )
    edited.write_csv(tmp_path / "edited.csv")
    assert import_reviewed(tmp_path / "edited.csv") == {"pt": 1}
    third, _ = export_for_review(tmp_path / "pt-third.csv", language="pt")
    assert third.read_bytes() == (tmp_path / "edited.csv").read_bytes()
    assert import_reviewed(third) == {"pt": 1}  # marked reviewed: stored again, unchanged
    fourth, _ = export_for_review(tmp_path / "pt-fourth.csv", language="pt")
    assert fourth.read_bytes() == third.read_bytes()


def test_import_rejects_lost_placeholders_and_unknown_keys(codebook, tmp_path):
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"language": ["nl"], "key": ["chat/t03"], "text": ["zonder onderwerp, {n} burgers"]}).write_csv(bad)
    with pytest.raises(UserError, match=r"lacks \{topic\}"):
        import_reviewed(bad)
    pl.DataFrame({"language": ["nl"], "key": ["chat/t99"], "text": ["{n} {topic}"]}).write_csv(bad)
    with pytest.raises(UserError, match="unknown text"):
        import_reviewed(bad)
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
    codebook = load_default_codebook()
    table = translation_table("pt", codebook, codebook.keys())
    assert table["completion/c02"].translation.startswith("Relatório revisto")


def test_cli_export_of_an_unknown_language_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["translations", "export", "--language", "xx", "-o", str(tmp_path / "x.csv")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "unknown language" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def _generate_only(monkeypatch) -> str:
    probe = Probe(
        "wvs-generate", "generate only", WVS.settings_model, WVS.stages[:1], WVS.plan, translations=WVS.translations
    )
    monkeypatch.setitem(registry._PROBES, probe.name, probe)
    return probe.name


def test_a_run_in_a_new_language_translates_once_through_the_run_store(tmp_path, monkeypatch):
    probe = _generate_only(monkeypatch)

    def experiment(translator: ModelSpec, name: str):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'''probe = "{probe}"
name = "new-language"
languages = ["it"]
store = "runs.sqlite"
output = "out"

[[models]]
name = "m"
backend = "mock"

[[judges]]
name = "j"
backend = "mock"

[{probe}]
prompts_per_language = 5
items = {ITEMS!r}
translator = {{ name = "{translator.name}", backend = "mock", model = "{translator.model_id}", options = {{ mode = "echo" }} }}
''',
            encoding="utf-8",
        )
        return path

    first = run_experiment(experiment(ECHO, "echo"), show_progress=False)
    asked = first.results["translate"].asked
    assert asked > 0 and first.results["generate"].total == 5
    again = run_experiment(experiment(ECHO, "echo"), show_progress=False)
    assert again.results["translate"].asked == 0 and again.results["translate"].cached == asked
    assert again.results["generate"].asked == 0
    # The review export of the experiment reads its machine translations from the store.
    _, counts = export_for_review(tmp_path / "review.csv", experiment_path=experiment(ECHO, "echo"))
    assert counts == {"machine": asked}
    other = run_experiment(experiment(OTHER, "other"), show_progress=False)
    assert other.results["translate"].asked == asked  # a changed translator means new translations
    with RunStore(tmp_path / "runs.sqlite") as store:
        assert set(store.requests_with_meta(first.run_id, STAGE)["language"]) == {"it"}


def test_a_person_can_translate_a_new_language_by_hand(codebook, tmp_path):
    blank = pl.read_csv(export_for_review(tmp_path / "sv.csv", language="sv")[0])
    assert set(blank["origin"]) == {"missing"} and set(blank["text"].fill_null("")) == {""}
    with pytest.raises(UserError, match="translator"):
        language_prompts("sv", codebook, ITEMS)
    filled = blank.with_columns(pl.concat_str([pl.lit("[sv] "), pl.col("source")]).alias("text"))
    filled.write_csv(tmp_path / "sv-filled.csv")
    assert import_reviewed(tmp_path / "sv-filled.csv") == {"sv": blank.height}
    prompts = language_prompts("sv", codebook, ITEMS)
    assert all(t.text.startswith("[sv] ") for t in prompts.templates.chat)
    assert all(p.startswith("[sv] ") for phrases in prompts.topics.values() for p in phrases)
