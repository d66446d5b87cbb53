"""Splitting responses into interviewee summaries, identifying their language, keeping or dropping them."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from culturalign.probes.wvs.parse import REASONS, identifier_for, parse_response, split_summaries

CANDIDATES = ("da", "de", "en", "es", "fr", "it", "nb", "nl", "pt", "sv")

PEOPLE = [
    "Anna thinks the state should stay out of private messages entirely.",
    "Ben accepts some monitoring if a judge approves each case first.",
    "Chloe worries that data collected today will be misused tomorrow.",
]


def _numbered(fmt: str, people=PEOPLE) -> str:
    return "\n".join(fmt.format(i=i + 1, text=text) for i, text in enumerate(people))


@pytest.mark.parametrize(
    "fmt",
    [
        "{i}. {text}",
        "{i}) {text}",
        "  {i}.  {text}",
        "**{i}.** {text}",
        "{i}. **Person {i}:** {text}",
        "**{i}. Person {i}, 40, nurse:** {text}",
        '{i}. "{text}"',
        '{i}. **"{text}"**',
        "**Interview {i}:** {text}",
        "### Interview {i}\n{text}",
        "- {i}. {text}",
        "> {i}. {text}",
        "{i}: {text}",
    ],
)
def test_numbered_formats_split_into_clean_summaries(fmt):
    text = "Here are the interviews:\n\n" + _numbered(fmt) + "\n\nThese views show a divided public."
    summaries = split_summaries(text)
    assert len(summaries) == 3, summaries
    for summary, person in zip(summaries, PEOPLE, strict=True):
        assert person.rstrip(".") in summary
        assert "*" not in summary and "#" not in summary and not summary.startswith('"')
    assert "divided public" not in summaries[-1]


def test_headings_on_their_own_line_keep_their_content_paragraph():
    text = (
        "## Summaries\n\n**1. Maria, 28, teacher:**\n\nMaria finds the idea troubling.\n\n"
        "**2. Peter, 45, engineer:**\n\nPeter is unsure about it.\n\n"
        "Overall, opinions differ widely across the group."
    )
    assert split_summaries(text) == [
        "Maria, 28, teacher: Maria finds the idea troubling.",
        "Peter, 45, engineer: Peter is unsure about it.",
    ]


def test_numbers_inside_text_and_preambles_do_not_start_a_list():
    text = "In 2019, 10 people were asked.\nThe 3 main results follow.\n1. First view here.\n2. Second view here."
    assert split_summaries(text) == ["First view here.", "Second view here."]
    assert split_summaries("We surveyed 10 citizens about 3 topics; no list followed.") == []


def test_the_longest_run_from_one_wins_over_a_nested_or_restarted_list():
    text = "1. Intro point\n2. Another intro\n\n1. Alpha says yes.\n2. Beta says no.\n3. Gamma is unsure."
    assert split_summaries(text) == ["Alpha says yes.", "Beta says no.", "Gamma is unsure."]


def test_a_cut_off_last_item_without_content_is_dropped():
    text = _numbered("{i}. {text}") + "\n4. **Dora, 25, barista:**"
    assert len(split_summaries(text)) == 3
    assert len(split_summaries(_numbered("{i}. {text}") + "\n4. Dora")) == 3


def test_completion_continuations_get_their_list_start_back():
    continuation = " Anna is against it.\n2. Ben is in favour.\n3. Chloe is unsure."
    expected = ["Anna is against it.", "Ben is in favour.", "Chloe is unsure."]
    assert split_summaries(continuation, list_start="1.") == expected
    # When the model repeats the marker itself, nothing is added twice.
    assert len(split_summaries("1. Anna is against it.\n2. Ben is for it.", list_start="1.")) == 2


def test_html_markup_is_stripped_and_a_bare_number_is_no_summary():
    assert split_summaries("<h2>2.  </h2>\n*\n*\n*", list_start="1.") == []
    html = "<ol>\n<li>1. <b>Anna</b> is against it.</li>\n<li>2. Ben is in favour of it.</li>\n</ol>"
    assert split_summaries("1. <b>Anna</b> is against it.\n2. Ben is <i>in favour</i> of it.") == [
        "Anna is against it.",
        "Ben is in favour of it.",
    ]
    assert split_summaries(html) == ["Anna is against it.", "Ben is in favour of it."]


def test_max_items_caps_an_overlong_list():
    long = "\n".join(f"{i}. Person number {i} has a view." for i in range(1, 15))
    assert len(split_summaries(long, max_items=10)) == 10


# -- keep / drop -------------------------------------------------------------------------------
DANISH = "\n".join(
    f"{i}. Borgeren mener, at staten ikke bør læse folks private beskeder, fordi det krænker privatlivets fred."
    for i in range(1, 11)
)
ENGLISH = "\n".join(
    f"{i}. This citizen believes the state should not read private messages at all." for i in range(1, 11)
)


@pytest.fixture(scope="module")
def identifier():
    return identifier_for(CANDIDATES)


def _parse(text, identifier, language="da", **kwargs):
    return parse_response(text, expected_language=language, identifier=identifier, min_summaries=5, **kwargs)


def test_keep_and_drop_reasons(identifier):
    kept = _parse(DANISH, identifier)
    assert kept.kept and kept.reason is None and kept.response_language == "da" and kept.n_summaries == 10
    wrong = _parse(ENGLISH, identifier)
    assert not wrong.kept and wrong.reason == "wrong_language" and wrong.response_language == "en"
    assert _parse(ENGLISH, identifier, language="en").kept
    assert _parse("Jeg vil ikke skrive sådan en liste.", identifier).reason == "not_a_list"
    short = "1. Borgeren er imod det.\n2. Borgeren er for det, men med forbehold."
    assert _parse(short, identifier).reason == "too_few_summaries"
    assert _parse("   ", identifier).reason == "empty"
    failed = _parse(None, identifier, error="timeout")
    assert failed.reason == "error" and failed.summaries == []
    assert set(REASONS) == {"error", "empty", "not_a_list", "too_few_summaries", "wrong_language"}


# -- the 200 real responses of gemma-2-27b-it ---------------------------------------------------
# Inspected by hand: 20 responses were cut off by the generation length limit (their last
# interview is incomplete, so 6-9 full summaries remain) and one (index 155) refuses the task.
REFUSAL = 155


@pytest.fixture(scope="module")
def real_responses(paper_data: Path) -> list[dict]:
    path = paper_data / "example_responses_gemma-2-27b-it.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_real_responses_split_into_ten_summaries(real_responses):
    counts = [len(split_summaries(r["response"], max_items=10)) for r in real_responses]
    assert len(counts) == 200
    assert Counter(counts)[10] >= 175
    assert counts[REFUSAL] == 0
    others = [c for i, c in enumerate(counts) if i != REFUSAL]
    assert min(others) >= 6
    # No summary keeps list markup or an enclosing quote.
    for response in real_responses[:50]:
        for summary in split_summaries(response["response"]):
            assert "**" not in summary and not re.match(r"\d+[.)]", summary)


def test_real_responses_keep_their_preambles_and_closings_out(real_responses):
    first = split_summaries(real_responses[0]["response"])
    assert first[0].startswith("Borger 1 ser FN")
    assert first[-1].startswith("Borger 10") and first[-1].endswith("arbejde.")
    for response in real_responses:
        summaries = split_summaries(response["response"])
        if summaries:
            assert not summaries[0].startswith(("Here are", "Her er", "Hier zijn", "Aqui estão"))


def test_real_responses_language_filter(real_responses, identifier):
    kept = Counter()
    for response in real_responses:
        summaries = split_summaries(response["response"])
        language = identifier.identify(" ".join(summaries) or response["response"])
        assert language in {"da", "en", "nl", "pt"}
        result = _parse(response["response"], identifier, language=language, max_summaries=10)
        kept[result.reason] += 1
        # The same response asked for in another language is dropped as such.
        other = "en" if language != "en" else "da"
        assert _parse(response["response"], identifier, language=other).reason in {
            "wrong_language",
            "not_a_list",
            "too_few_summaries",
        }
    assert kept[None] == 199 and kept["not_a_list"] == 1


def test_parse_stage_stores_a_verdict_for_every_answered_request(tmp_path):
    from culturalign.config import parse_experiment
    from culturalign.engine import run_requests
    from culturalign.probes.registry import RunContext
    from culturalign.probes.wvs.generate import build_requests
    from culturalign.probes.wvs.parse import parse_stage
    from culturalign.store import RunStore

    experiment = parse_experiment(
        {
            "probe": "wvs",
            "name": "parse-stage",
            "languages": ["nl"],
            "models": [
                {"name": "flaky", "backend": "mock", "options": {"fail_rate": 0.5}},
                {"name": "terse", "backend": "mock", "options": {"items": 2}},
                {"name": "echo", "backend": "mock", "options": {"mode": "echo"}},
            ],
            "wvs": {"prompts_per_language": 6},
        }
    )
    with RunStore(tmp_path / "s.sqlite") as store:
        run_id = store.start_run("parse-stage", "wvs", experiment.as_dict())
        run_requests(store, run_id, "generate", build_requests(experiment), show_progress=False)
        ctx = RunContext(experiment=experiment, store=store, run_id=run_id, output_dir=tmp_path)
        parsed = parse_stage(ctx)
        results = store.results(run_id, "parse")
        generated = store.requests_with_meta(run_id, "generate")
    verdicts = generated.select("key", "model").join(results, on="key")
    assert verdicts.height == 18
    by_model = {m: set(verdicts.filter(verdicts["model"] == m)["reason"].to_list()) for m in ("flaky", "terse", "echo")}
    assert "error" in by_model["flaky"] and None in by_model["flaky"]
    assert by_model["terse"] == {"too_few_summaries"}
    assert by_model["echo"] == {"not_a_list"}  # the prompt itself is no list
    assert parsed.parsed == 18
    assert parsed.kept + parsed.dropped == 18
