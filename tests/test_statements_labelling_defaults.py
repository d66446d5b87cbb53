"""The labelling protocol a statements experiment gets when it says nothing: the paper's, five
answers per judge and language at temperature 1, the most frequent one being the vote."""

from __future__ import annotations

import polars as pl

from culturalign.config import parse_experiment
from culturalign.probes.statements.labelling import labelling_requests, voter_answers
from culturalign.probes.statements.statements import load_frames, load_statements


def _experiment():
    return parse_experiment(
        {
            "probe": "statements",
            "name": "defaults",
            "languages": ["en", "zh"],
            "models": [{"name": "m", "backend": "mock"}],
            "judges": [{"name": "j1", "backend": "mock"}, {"name": "j2", "backend": "mock"}],
            "statements": {"max_statements": 2, "dimensions": ["pdi"]},
        }
    )


def test_default_labelling_is_five_samples_at_temperature_one() -> None:
    experiment = _experiment()
    settings = experiment.settings
    assert settings.labelling_samples == 5
    assert settings.labelling.temperature == 1.0
    statements = load_statements(None).head(2)
    requests = labelling_requests(experiment, statements, load_frames(), "relevance")
    # 2 statements x 1 dimension x 2 languages x 2 judges x 5 samples, each its own store key
    assert len(requests) == 40
    assert len({r.key for r in requests}) == 40
    assert {r.params.temperature for r in requests} == {1.0}
    per_voter = pl.DataFrame([r.meta for r in requests]).group_by("statement_id", "judge", "language").len()
    assert per_voter["len"].unique().to_list() == [5]


def test_the_vote_is_the_most_frequent_of_the_samples() -> None:
    votes = pl.DataFrame(
        {
            "statement_id": ["s1"] * 5,
            "dimension": ["pdi"] * 5,
            "judge": ["j1"] * 5,
            "language": ["en"] * 5,
            "sample": list(range(5)),
            "answer": ["yes", "no", "yes", None, "yes"],
            "failure": [None, None, None, "no yes/no answer found", None],
        }
    )
    voters = voter_answers(votes)
    assert voters.height == 1 and voters["answer"][0] == "yes"
