"""What a run will ask, before it asks anything: calls, tokens and cost per stage and model.

A probe can count its own calls (`Probe.count`): every stage that calls a model, judges and
translators included, by arithmetic on its settings, so that a plan of millions of calls is
counted in well under a second without building the requests. A probe without a counter is
estimated from its plan (`Probe.plan`, the generation requests, materialised) plus
`followup_calls_per_request` per judge.

Input tokens are estimated at four characters per token; output tokens are each call's
max_tokens, so they are an upper bound; cost is null for a model without prices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from culturalign.models.base import ModelSpec
from culturalign.models.ratelimit import DEFAULT_OUTPUT_TOKENS, approx_tokens
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.probes.registry import Probe
    from culturalign.store.db import RunStore

# A judge's reply (a short JSON list of labels) and its prompt beyond the response itself,
# for probes that do not count their judge calls themselves.
JUDGE_OUTPUT_TOKENS = 60
JUDGE_PROMPT_OVERHEAD_TOKENS = 250

SCHEMA = {
    "stage": pl.Utf8,
    "model": pl.Utf8,
    "backend": pl.Utf8,
    "requests": pl.Int64,
    "cached": pl.Int64,
    "calls": pl.Int64,
    "input_tokens_est": pl.Int64,
    "output_tokens_max": pl.Int64,
    "cost_usd_est": pl.Float64,
    "cost_usd_batch_est": pl.Float64,
}


@dataclass
class PlannedCalls:
    """The calls one stage will make to one model."""

    stage: str
    model: ModelSpec
    requests: int  # distinct requests the stage registers
    cached: int  # of those, answered already in the store
    input_tokens: int  # of the calls still to make
    output_tokens: int  # upper bound, of the calls still to make

    @property
    def calls(self) -> int:
        return self.requests - self.cached


def cost_usd(spec: ModelSpec, tokens_in: int, tokens_out: int) -> float | None:
    if spec.price_input_per_mtok is None and spec.price_output_per_mtok is None:
        return None
    return (tokens_in * (spec.price_input_per_mtok or 0) + tokens_out * (spec.price_output_per_mtok or 0)) / 1e6


def batch_cost_usd(spec: ModelSpec, tokens_in: int, tokens_out: int) -> float | None:
    """The same calls through a provider's Batch API (backend openai only): a share of the price."""
    cost = cost_usd(spec, tokens_in, tokens_out)
    return None if cost is None or spec.backend != "openai" else cost * spec.batch_price_factor


def planned_from_requests(stage: str, requests: Sequence[Request], store: RunStore | None = None) -> list[PlannedCalls]:
    """Exact counts for materialised requests: distinct keys, cached ones looked up in the store."""
    unique = {r.key: r for r in requests}
    cached = store.answered_keys(list(unique)) if store is not None else set()
    rows: dict[str, PlannedCalls] = {}
    for key, request in unique.items():
        row = rows.setdefault(request.model.name, PlannedCalls(stage, request.model, 0, 0, 0, 0))
        row.requests += 1
        if key in cached:
            row.cached += 1
            continue
        row.input_tokens += sum(approx_tokens(m.content) for m in request.messages)
        row.output_tokens += request.params.max_tokens or DEFAULT_OUTPUT_TOKENS
    return list(rows.values())


def frame(planned: Sequence[PlannedCalls]) -> pl.DataFrame:
    records = [
        {
            "stage": p.stage,
            "model": p.model.name,
            "backend": p.model.backend,
            "requests": p.requests,
            "cached": p.cached,
            "calls": p.calls,
            "input_tokens_est": p.input_tokens,
            "output_tokens_max": p.output_tokens,
            "cost_usd_est": cost_usd(p.model, p.input_tokens, p.output_tokens),
            "cost_usd_batch_est": batch_cost_usd(p.model, p.input_tokens, p.output_tokens),
        }
        for p in planned
    ]
    return pl.DataFrame(records, schema=SCHEMA)


def estimate_run(experiment: Experiment, probe: Probe, limit: int | None = None) -> pl.DataFrame:
    """Calls, tokens and (where prices are set) cost per stage and model, before anything is asked."""
    from culturalign.store.db import RunStore

    store = RunStore(experiment.store_path) if experiment.store_path.is_file() else None
    try:
        counter = getattr(probe, "count", None)
        if counter is not None:
            return frame(counter(experiment, limit, store))
        return frame(_from_plan(experiment, probe, limit, store))
    finally:
        if store is not None:
            store.close()


def _from_plan(experiment: Experiment, probe: Probe, limit: int | None, store: RunStore | None) -> list[PlannedCalls]:
    requests = probe.plan(experiment)
    if limit is not None:
        requests = requests[:limit]
    generation = planned_from_requests("generate", requests, store)
    asked = sum(p.calls for p in generation)
    output_bound = sum(p.output_tokens for p in generation)
    judges = []
    for judge in experiment.config.judges:
        if judge.backend == OFFLINE_JUDGE_BACKEND:
            continue  # no model call
        calls = round(asked * probe.followup_calls_per_request)
        judges.append(
            PlannedCalls(
                "judge",
                judge,
                calls,
                0,
                output_bound + calls * JUDGE_PROMPT_OVERHEAD_TOKENS,
                calls * (judge.params.max_tokens or JUDGE_OUTPUT_TOKENS),
            )
        )
    return generation + judges
