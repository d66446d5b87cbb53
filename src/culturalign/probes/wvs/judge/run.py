"""Asking judge models through the engine, with validation and a small retry budget.

Every judge call is an ordinary request in the run store, so a judgement is cached like
any answer: re-running asks nothing again, and adding a judge model asks only that model.
An invalid reply is asked again under a new sample index (a new store key), up to
`max_attempts`; after that the response keeps a failure with the last reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from culturalign.engine.runner import Request, run_requests
from culturalign.judge.stance import (
    EXTRA_LABELS_ALLOWED,
    JudgeVerdict,
    StanceTask,
    build_messages,
    judge_schema,
    labels_from_counts,
    parse_reply,
)
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.probes.wvs.judge.totals import parse_totals
from culturalign.store.db import RunStore

DEFAULT_MAX_ATTEMPTS = 3
# Temperature for retries when the judge's own is 0 or unset: asking a deterministic
# model the same question again would only repeat the invalid reply.
RETRY_TEMPERATURE = 0.7


@dataclass(frozen=True)
class Prepared:
    """A task the judge must ask a model about, or its outcome already known without one."""

    task: StanceTask
    count: int  # N for the count rule
    settled: JudgeVerdict | None = None  # totals read directly, or a response with nothing to judge
    source: str | None = None  # "totals" when settled from stated totals


def prepare(task: StanceTask) -> Prepared:
    """Responses that need no judge model: empty ones fail, totals-only ones expand to labels."""
    if task.summaries:
        return Prepared(task=task, count=len(task.summaries))
    text = task.response_text.strip()
    if not text:
        return Prepared(task=task, count=0, settled=JudgeVerdict(failure="empty response"))
    totals = parse_totals(text, task.language)
    if totals is None or totals.total == 0:
        return Prepared(
            task=task, count=0, settled=JudgeVerdict(failure="no interviewee summaries or totals (refusal?)")
        )
    labels = labels_from_counts(totals.n_pro, totals.n_con, totals.n_null)
    return Prepared(task=task, count=len(labels), settled=JudgeVerdict(labels=labels), source="totals")


def judge_params(spec: ModelSpec, count: int, attempt: int) -> GenerateConfig:
    # Each label costs a few tokens ("pro", quotes, comma); leave room for the wrapper.
    budget = GenerateConfig(
        max_tokens=8 * (count + EXTRA_LABELS_ALLOWED) + 32,
        json_schema=judge_schema(count + EXTRA_LABELS_ALLOWED),
        temperature=0.0,
    )
    params = budget.merged(spec.params)
    params = params.merged(GenerateConfig(json_schema=budget.json_schema))
    if attempt > 0 and not params.temperature:
        params = params.merged(GenerateConfig(temperature=RETRY_TEMPERATURE, seed=attempt))
    return params


def judge_request(key: str, prepared: Prepared, spec: ModelSpec, attempt: int, meta: Mapping[str, object]) -> Request:
    return Request(
        model=spec,
        messages=build_messages(prepared.task, count_hint=prepared.count),
        params=judge_params(spec, prepared.count, attempt),
        sample_index=attempt,
        meta={**meta, "response_key": key, "judge": spec.name, "attempt": attempt},
    )


def run_model_judges(
    store: RunStore,
    run_id: str,
    stage: str,
    prepared: Mapping[str, Prepared],
    judges: Sequence[ModelSpec],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    metas: Mapping[str, Mapping[str, object]] | None = None,
    show_progress: bool = True,
) -> dict[str, dict[str, JudgeVerdict]]:
    """verdicts[response key][judge name] for every prepared response and judge."""
    verdicts: dict[str, dict[str, JudgeVerdict]] = {key: {} for key in prepared}
    pending = [(key, spec) for key, p in prepared.items() if p.settled is None for spec in judges]
    for key, p in prepared.items():
        if p.settled is not None:
            for spec in judges:
                verdicts[key][spec.name] = p.settled
    for attempt in range(max_attempts):
        if not pending:
            break
        requests = {
            (key, spec.name): judge_request(key, prepared[key], spec, attempt, (metas or {}).get(key, {}))
            for key, spec in pending
        }
        run_requests(store, run_id, stage, list(requests.values()), show_progress=show_progress)
        calls = store.get_calls([r.key for r in requests.values()])
        still: list[tuple[str, ModelSpec]] = []
        for (key, name), request in requests.items():
            call = calls.get(request.key)
            if call is None or not call.ok:
                reason = f"judge call failed: {call.error if call is not None else 'no answer'}"
                verdict = JudgeVerdict(failure=reason)
            else:
                verdict = parse_reply(call.response, prepared[key].count)
            if not verdict.ok and attempt + 1 < max_attempts:
                still.append((key, request.model))
            elif not verdict.ok:
                verdict = JudgeVerdict(failure=f"{verdict.failure} (after {attempt + 1} attempts)")
            verdicts[key][name] = verdict
        pending = still
    return verdicts
