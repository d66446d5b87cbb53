"""The judge's reply validation, totals-only responses and the summary splitter."""

from __future__ import annotations

import json

import pytest

from culturalign.judge.stance import (
    StanceTask,
    build_messages,
    judge_schema,
    labels_from_counts,
    parse_reply,
)
from culturalign.probes.wvs.judge.run import prepare
from culturalign.probes.wvs.judge.summaries import numbered_items
from culturalign.probes.wvs.judge.totals import parse_totals


def _task(summaries: tuple[str, ...] = ("a", "b", "c"), text: str = "", language: str = "en") -> StanceTask:
    return StanceTask(
        item="f144_02",
        language=language,
        topic="Death penalty",
        pro_statement="The death penalty can be justified.",
        con_statement="The death penalty can never be justified.",
        summaries=summaries,
        response_text=text,
    )


# -- well-formed replies -------------------------------------------------------------------
def test_plain_reply_is_accepted() -> None:
    verdict = parse_reply('{"labels": ["pro", "con", "null"]}', 3)
    assert verdict.ok and verdict.labels == ("pro", "con", "null")


def test_code_fence_and_trailing_text_are_tolerated_but_content_is_checked() -> None:
    fenced = '```json\n{"labels": ["pro", "pro"]}\n```'
    assert parse_reply(fenced, 2).labels == ("pro", "pro")
    trailing = '{"labels": ["con"]} I hope this helps!'
    assert parse_reply(trailing, 1).labels == ("con",)
    assert not parse_reply('```json\n{"labels": ["maybe"]}\n```', 1).ok


def test_case_and_json_null_are_normalised() -> None:
    assert parse_reply('{"labels": ["PRO", " Con ", null]}', 3).labels == ("pro", "con", "null")


# -- malformed replies -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("pro, con, null", "no JSON"),
        ('{"labels": ["pro", "con"', "not valid JSON"),
        ('["pro", "con"]', "expected an object"),
        ('{"stances": ["pro"]}', "no 'labels' key"),
        ('{"labels": "pro"}', "not a list"),
        ('{"labels": ["pro", "maybe"]}', "unknown label"),
        ('{"labels": ["pro", 1]}', "unknown label"),
        ('{"labels": []}', "no labels"),
        ('{"labels": ["pro", "pro", "pro", "pro", "pro", "pro"]}', "6 labels for 3"),
    ],
)
def test_malformed_replies_fail_with_reason(reply: str | None, reason: str) -> None:
    verdict = parse_reply(reply, 3)
    assert not verdict.ok and verdict.labels is None
    assert reason in (verdict.failure or "")


def test_count_rule_allows_n_plus_two_and_fewer_than_n() -> None:
    assert parse_reply(json.dumps({"labels": ["pro"] * 5}), 3).ok
    assert not parse_reply(json.dumps({"labels": ["pro"] * 6}), 3).ok
    assert parse_reply(json.dumps({"labels": ["con"]}), 3).ok


def test_schema_limits_labels_and_messages_carry_the_item() -> None:
    schema = judge_schema(12)
    assert schema["properties"]["labels"]["maxItems"] == 12
    assert schema["properties"]["labels"]["items"]["enum"] == ["pro", "con", "null"]
    messages = build_messages(_task())
    user = messages[-1].content
    assert "The death penalty can never be justified." in user and "1. a\n2. b\n3. c" in user


# -- totals-only responses ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Three were in favour, one against.", "en", (3, 1, 0)),
        ("Of the ten citizens, six supported it; 4 opposed it.", "en", (6, 4, 0)),
        ("Two were undecided, seven agreed and one disagreed.", "en", (7, 1, 2)),
        ("Sete foram a favor, três contra.", "pt", (7, 3, 0)),
        ("Fem var imod, fire var for.", "da", (4, 5, 0)),
        ("Zes waren voor, vier tegen.", "nl", (6, 4, 0)),
    ],
)
def test_totals_are_read(text: str, language: str, expected: tuple[int, int, int]) -> None:
    totals = parse_totals(text, language)
    assert totals is not None and (totals.n_pro, totals.n_con, totals.n_null) == expected


def test_no_totals_in_ordinary_prose() -> None:
    assert parse_totals("Sarah, 32, teacher, thinks it is a good idea in 2024.", "en") is None


def test_totals_only_response_expands_to_labels_without_a_model() -> None:
    prepared = prepare(_task(summaries=(), text="Overall, three were in favour and one against."))
    assert prepared.source == "totals"
    assert prepared.settled is not None and prepared.settled.labels == ("pro", "pro", "pro", "con")
    assert labels_from_counts(1, 0, 2) == ("pro", "null", "null")


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_response_is_a_failure(text: str) -> None:
    prepared = prepare(_task(summaries=(), text=text))
    assert prepared.settled is not None and prepared.settled.failure == "empty response"


def test_refusal_is_a_failure_not_a_guess() -> None:
    prepared = prepare(_task(summaries=(), text="I cannot write interviews that normalise discrimination."))
    assert prepared.settled is not None and not prepared.settled.ok
    assert "no interviewee summaries" in (prepared.settled.failure or "")


def test_response_with_summaries_goes_to_the_judge() -> None:
    prepared = prepare(_task())
    assert prepared.settled is None and prepared.count == 3


# -- splitting ------------------------------------------------------------------------------
def test_split_keeps_the_responses_own_numbers_and_drops_closing_remarks() -> None:
    text = (
        "Here are the summaries:\n\n**1. Ana, 30:** Ana supports it.\n\n2. **Bo, 40:**\n\nBo is against it and says so "
        "at length, with reasons that take up most of a line of text.\n\n4. Cy has no view.\n\n"
        "These summaries show a range of views."
    )
    summaries = numbered_items(text)
    assert [s.number for s in summaries] == [1, 2, 4]
    assert summaries[0].text == "Ana, 30: Ana supports it."
    assert summaries[1].text.startswith("Bo, 40: Bo is against it")
    assert summaries[2].text == "Cy has no view."
    assert numbered_items("No list here at all.") == []
