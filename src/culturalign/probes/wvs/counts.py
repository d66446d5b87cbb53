"""Every call a `wvs` run will make, counted for `--dry-run`: translation, generation, judging.

Small plans are built for real (exact tokens, answers already in the store counted as cached).
Large ones are counted by arithmetic, the same order as the generate stage cuts with a limit
(prompt by prompt, each across languages and models), with tokens measured on a sample of
real prompts: a plan of a million calls is counted without building a million requests.

Judge calls are an upper bound: one per generated response and model judge, as if every
response were kept and every judge reply valid at the first attempt (an invalid reply is asked
again, up to twice more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from culturalign.estimate import PlannedCalls, planned_from_requests
from culturalign.models.ratelimit import DEFAULT_OUTPUT_TOKENS, approx_tokens
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND
from culturalign.translation.stage import pending_requests

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.engine.runner import Request
    from culturalign.store.db import RunStore

# Up to this many generation calls the plan is built request by request.
EXACT_UP_TO = 20_000
# Prompts per language built to measure prompt lengths in a large plan.
SAMPLE_PROMPTS = 24


def count(experiment: Experiment, limit: int | None, store: RunStore | None) -> list[PlannedCalls]:
    from culturalign.probes.wvs.generate import build_requests, limit_requests

    limit = limit if limit is not None else experiment.config.limit
    settings, models = experiment.settings, experiment.config.models
    per_prompt = len(experiment.config.languages) * len(models)
    total = settings.prompts_per_language * per_prompt
    planned = min(total, limit) if limit is not None else total
    if planned <= EXACT_UP_TO:
        requests = limit_requests(build_requests(experiment, translate=False), limit)
        generation = planned_from_requests("generate", requests, store)
    else:
        sample_size = min(settings.prompts_per_language, SAMPLE_PROMPTS)
        sample = experiment.model_copy(
            update={"settings": settings.model_copy(update={"prompts_per_language": sample_size})}
        )
        requests = build_requests(sample, translate=False)
        generation = _scaled(requests, _calls_per_model(planned, per_prompt, len(models)), models)
    calls = translation_calls(experiment, store) + generation
    return calls + judge_calls(experiment, requests, sum(p.requests for p in generation), store)


def _calls_per_model(planned: int, per_prompt: int, n_models: int) -> list[int]:
    """How many of the first `planned` requests belong to each model (languages outer, models inner)."""
    full, rest = divmod(planned, per_prompt)
    return [full * (per_prompt // n_models) + sum(1 for j in range(rest) if j % n_models == m) for m in range(n_models)]


def _scaled(sample: list[Request], counts: list[int], models: list) -> list[PlannedCalls]:
    rows = []
    for spec, n in zip(models, counts, strict=True):
        if n == 0:
            continue  # a limit that ends before this model's first request
        mine = [r for r in sample if r.model.name == spec.name]
        mean_in = sum(sum(approx_tokens(m.content) for m in r.messages) for r in mine) / max(len(mine), 1)
        out = (mine[0].params.max_tokens if mine else None) or DEFAULT_OUTPUT_TOKENS
        rows.append(PlannedCalls("generate", spec, n, 0, round(mean_in * n), out * n))
    return rows


def judge_calls(
    experiment: Experiment, sample: list[Request], responses: int, store: RunStore | None = None
) -> list[PlannedCalls]:
    """One call per response and model judge (offline judges call nothing), sized by a real judge prompt.

    When the store holds this experiment's run, what it already parsed is known: dropped and
    settled responses need no judge, and judgements already stored count as cached."""
    from culturalign.judge.stance import StanceTask, build_messages
    from culturalign.probes.wvs.judge.run import judge_params

    judges = [j for j in experiment.config.judges if j.backend != OFFLINE_JUDGE_BACKEND]
    if not judges or responses == 0:
        return []
    n = experiment.settings.interviewees
    first = sample[0] if sample else None
    topic = str(first.meta.get("topic", "")) if first is not None else ""
    task = StanceTask(item="", language="en", topic=topic, pro_statement="", con_statement="", summaries=("",) * n)
    prompt = sum(approx_tokens(m.content) for m in build_messages(task, count_hint=n))
    answer = (first.params.max_tokens if first is not None else None) or DEFAULT_OUTPUT_TOKENS
    known = _judged_in_store(experiment, store, judges, responses) if store is not None else None
    rows = []
    for spec in judges:
        out = judge_params(spec, n, 0).max_tokens or DEFAULT_OUTPUT_TOKENS
        requests, cached = known[spec.name] if known is not None else (responses, 0)
        asked = requests - cached
        rows.append(PlannedCalls("judge", spec, requests, cached, asked * (prompt + answer), asked * out))
    return rows


def _judged_in_store(
    experiment: Experiment, store: RunStore, judges: list, responses: int
) -> dict[str, tuple[int, int]] | None:
    """(requests, cached) per judge from the store's run of this experiment, or None without one.

    Responses not parsed yet are counted as if kept (the upper bound); parsed ones are exact."""
    from culturalign.probes.registry import RunContext
    from culturalign.probes.wvs.judge.run import judge_request, prepare
    from culturalign.probes.wvs.judging import item_statements, kept_tasks

    runs = [r for r in store.runs() if r.name == experiment.config.name and r.probe == experiment.config.probe]
    if not runs:
        return None
    ctx = RunContext(experiment=experiment, store=store, run_id=runs[-1].run_id, output_dir=experiment.output_dir)
    parsed = store.results(ctx.run_id, "parse").height
    tasks = kept_tasks(ctx, item_statements(ctx))
    open_tasks = {key: p for key, task in tasks.items() if (p := prepare(task)).settled is None}
    unparsed = max(responses - parsed, 0)
    known = {}
    for spec in judges:
        keys = [judge_request(key, p, spec, 0, {}).key for key, p in open_tasks.items()]
        known[spec.name] = (len(keys) + unparsed, len(store.answered_keys(keys)))
    return known


def translation_calls(experiment: Experiment, store: RunStore | None) -> list[PlannedCalls]:
    """The translator's calls: one per template or topic text no shipped or reviewed translation
    covers, those already in the store counted as cached."""
    from culturalign.probes.wvs.generate import translation_job

    return planned_from_requests("translate", pending_requests(translation_job(experiment)), store)
