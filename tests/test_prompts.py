"""Prompt templates, deterministic sampling and the generation requests of the `wvs` probe."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from culturalign.config import parse_experiment
from culturalign.probes.wvs.generate import build_requests, plan
from culturalign.probes.wvs.sampling import sample_prompts
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.probes.wvs.translations import language_prompts
from culturalign.prompts.templates import (
    SOURCE_LANGUAGE,
    shipped_languages,
    shipped_template_texts,
    source_templates,
)

# The wvs probe's languages: the paper's four and the vsm probe's twenty (en and pt in both).
SHIPPED = ["ar", "bn", "da", "de", "en", "es", "fa", "fr", "hi", "id", "ja"]
SHIPPED += ["ko", "nl", "pt", "ru", "sw", "th", "tl", "tr", "ur", "vi", "zh"]


def _experiment(**overrides):
    data = {
        "probe": "wvs",
        "name": "prompts-test",
        "seed": 3,
        "languages": ["da", "en"],
        "models": [
            {"name": "chatty", "backend": "mock", "family": "mockfam"},
            {"name": "basey", "backend": "mock", "prompt_style": "completion"},
        ],
        "wvs": {"prompts_per_language": 12, "interviewees": 10},
    }
    data.update(overrides)
    return parse_experiment(data)


def test_every_shipped_language_has_the_source_templates_with_their_placeholders():
    assert shipped_languages() == SHIPPED
    source = shipped_template_texts(SOURCE_LANGUAGE)
    assert sum(k.startswith("chat/") for k in source) == 10
    assert sum(k.startswith("completion/") for k in source) >= 3
    for language in SHIPPED:
        texts = shipped_template_texts(language)
        assert set(texts) == set(source), language
        for key, text in texts.items():
            assert "{topic}" in text and "{n}" in text, (language, key)
            # No country, no persona: the language is the only cultural cue.
            assert not re.search(r"\b(Denmark|Danmark|Nederland|Portugal|Brasil|American|dansk|Dutch)\b", text)
        assert len(set(texts.values())) == len(texts), f"{language} repeats a template"


def test_completion_frames_end_where_the_list_starts():
    for template in source_templates().completion:
        assert template.list_start == "1."
        assert template.text.endswith("\n1.")
    rendered = source_templates().chat[0].render(n=7, topic="a {braced} topic")
    assert "7 citizens" in rendered and "a {braced} topic" in rendered and "{n}" not in rendered


def test_sampling_is_deterministic_and_depends_on_seed_and_language():
    counts = {f"i{k:02d}": 5 for k in range(37)}
    a = sample_prompts(language="da", seed=1, n_prompts=300, paraphrase_counts=counts, n_templates=10)
    b = sample_prompts(language="da", seed=1, n_prompts=300, paraphrase_counts=counts, n_templates=10)
    c = sample_prompts(language="da", seed=2, n_prompts=300, paraphrase_counts=counts, n_templates=10)
    d = sample_prompts(language="nl", seed=1, n_prompts=300, paraphrase_counts=counts, n_templates=10)
    assert a == b
    assert a != c and a != d
    assert [p.prompt_index for p in a] == list(range(300))


def test_sampling_balances_items_paraphrases_and_templates():
    counts = {f"i{k:02d}": 1 + k % 6 for k in range(37)}
    draws = sample_prompts(language="en", seed=0, n_prompts=300, paraphrase_counts=counts, n_templates=10)
    per_item = Counter(d.item for d in draws)
    assert set(per_item) == set(counts)
    assert max(per_item.values()) - min(per_item.values()) <= 1
    per_template = Counter(d.template_index for d in draws)
    assert set(per_template) == set(range(10))
    assert max(per_template.values()) - min(per_template.values()) <= 1
    for item, n_phrases in counts.items():
        used = Counter(d.paraphrase_id for d in draws if d.item == item)
        assert all(0 <= p < n_phrases for p in used)
        assert max(used.values()) - min(used.values()) <= 1
    # Items are interleaved, so a --limit of the first draws spans many items.
    assert len({d.item for d in draws[:40]}) >= 20


def test_more_prompts_than_combinations_repeat_with_growing_sample_index():
    draws = sample_prompts(language="en", seed=0, n_prompts=9, paraphrase_counts={"only": 2}, n_templates=2)
    by_combo = Counter((d.paraphrase_id, d.template_index) for d in draws)
    assert sum(by_combo.values()) == 9
    for combo in by_combo:
        repeats = sorted(d.repeat for d in draws if (d.paraphrase_id, d.template_index) == combo)
        assert repeats == list(range(len(repeats)))


def test_shipped_languages_build_prompts_for_every_codebook_item():
    codebook = load_codebook()
    for language in SHIPPED:
        prompts = language_prompts(language, codebook, codebook.keys())
        assert set(prompts.topics) == set(codebook.keys())
        assert all(len(phrases) >= 2 for phrases in prompts.topics.values())


def test_danish_whether_clauses_are_fitted_into_the_templates():
    prompts = language_prompts("da", load_codebook(), ["d059"])
    assert prompts.templates.adapt_topic("om mænd er bedre ledere") == "spørgsmålet om mænd er bedre ledere"
    assert prompts.templates.adapt_topic("mænd som ledere") == "mænd som ledere"


def test_requests_carry_their_meta_and_match_the_prompt_style():
    requests = build_requests(_experiment())
    assert len(requests) == 12 * 2 * 2
    keys = {r.key for r in requests}
    assert len(keys) == len(requests)
    for request in requests:
        meta = request.meta
        assert set(meta) >= {"item", "language", "template_id", "paraphrase_id", "prompt_index", "model", "family"}
        text = request.messages[0].content
        if meta["model"] == "basey":
            assert meta["template_id"].startswith("completion/") and text.endswith("1.")
            assert meta["list_start"] == "1."
        else:
            assert meta["template_id"].startswith("chat/") and meta["family"] == "mockfam"
        assert meta["topic"] in text
        assert "10" in text
    # The same draw goes to every model of a language.
    by_prompt = {}
    for request in requests:
        by_prompt.setdefault((request.meta["language"], request.meta["prompt_index"]), set()).add(request.meta["item"])
    assert all(len(items) == 1 for items in by_prompt.values())


def test_the_same_seed_gives_the_same_requests_and_another_seed_others():
    first = [r.key for r in build_requests(_experiment())]
    again = [r.key for r in build_requests(_experiment())]
    other = [r.key for r in build_requests(_experiment(seed=4))]
    assert first == again
    assert set(first) != set(other)


def test_limit_keeps_the_first_prompts_across_languages_and_models():
    limited = plan(_experiment(limit=8))
    assert len(limited) == 8
    assert {r.meta["language"] for r in limited} == {"da", "en"}
    assert {r.meta["model"] for r in limited} == {"chatty", "basey"}
    assert max(r.meta["prompt_index"] for r in limited) == 1


def test_an_unknown_item_or_a_language_without_translator_is_a_one_line_error(tmp_path):
    from culturalign.errors import UserError

    with pytest.raises(UserError, match="unknown item"):
        build_requests(_experiment(wvs={"items": ["nope"]}))
    with pytest.raises(UserError, match="translator") as info:
        build_requests(_experiment(languages=["it"]))
    assert "\n" not in str(info.value)


def test_repeats_of_a_prompt_get_their_own_sampling_seed():
    """With a fixed seed in the model's parameters, a repeated prompt must not be the same request twice."""
    from culturalign.config import parse_experiment
    from culturalign.probes.wvs.generate import build_requests

    experiment = parse_experiment(
        {
            "probe": "wvs",
            "name": "seeds",
            "seed": 3,
            "languages": ["en"],
            "models": [{"name": "m", "backend": "mock", "params": {"seed": 7}}],
            "wvs": {"prompts_per_language": 200, "items": ["f118"]},
        }
    )
    requests = build_requests(experiment, translate=False)
    repeated = [r for r in requests if r.sample_index > 0]
    assert repeated, "200 prompts on one item must repeat some prompt"
    assert all(r.params.seed == 7 + r.sample_index for r in repeated)
    assert len({r.key for r in requests}) == len(requests)
