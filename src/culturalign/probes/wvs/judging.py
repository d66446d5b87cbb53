"""The judge stage of the `wvs` probe: label every kept response's interviewees, score it.

Reads the parse stage's results (kept responses and their summaries) and the generate
requests' metadata (item, language, model, topic), asks every judge of the experiment
(or, when it names none, the embedded default judge) and stores one result per response:
labels, n_pro, n_con, n_null, vps, judge, failure. With several judges the labels are the
per-interviewee majority vote (ties count as null) or, with the setting
`judge_aggregation = "median"`, the VPS is the median of the judges' VPS.

A judge spec with `backend = "offline"` names an offline candidate in `model`
(e.g. "lexicon"); every other spec is asked through the engine and cached in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from culturalign.judge.aggregate import combine_judges, inter_judge_kappa
from culturalign.judge.stance import JudgeVerdict, StanceTask
from culturalign.judge.vps import score_labels
from culturalign.models.base import ModelSpec
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND
from culturalign.probes.registry import StageResult
from culturalign.probes.wvs.generate import load_experiment_codebook
from culturalign.probes.wvs.judge.candidates import get_candidate
from culturalign.probes.wvs.judge.quality import default_judge_name, judge_quality
from culturalign.probes.wvs.judge.run import Prepared, prepare, run_model_judges

if TYPE_CHECKING:
    from culturalign.probes.registry import RunContext

STAGE = "judge"

Statements = Callable[[str], tuple[str, str]]


class JudgeResult(StageResult):
    judged: int
    failed: int
    undefined_vps: int
    judges: list[str]
    quality: list[dict[str, Any]]  # judge.quality.JudgeQuality.summary() per judge
    inter_judge_fleiss_kappa: float | None = None


def judge_stage(ctx: RunContext) -> JudgeResult:
    tasks = kept_tasks(ctx, item_statements(ctx))
    judges = list(ctx.config.judges) or [ModelSpec(name=default_judge_name(), backend=OFFLINE_JUDGE_BACKEND)]
    # Every kept response is judged on every run: model calls come from the store's cache,
    # so only new responses, new judges and earlier failures cost anything.
    verdicts = judge_all(ctx, tasks, judges)
    method = ctx.settings.judge_aggregation
    results = [(key, response_payload(tasks[key], verdicts[key], method)) for key in tasks]
    ctx.store.save_results(ctx.run_id, STAGE, results)
    return judged_summary(results, verdicts, judges)


def item_statements(ctx: RunContext) -> Statements:
    codebook = load_experiment_codebook(ctx.experiment)

    def statements(item: str) -> tuple[str, str]:
        entry = codebook.item(item)
        return entry.pro_statement("en"), entry.con_statement("en")

    return statements


def kept_tasks(ctx: RunContext, statements: Statements) -> dict[str, StanceTask]:
    """One StanceTask per kept response, keyed by the generate request's key."""
    parsed = ctx.store.results(ctx.run_id, "parse")
    if parsed.is_empty() or "kept" not in parsed.columns:
        return {}
    generated = {row["key"]: row for row in ctx.store.requests_with_meta(ctx.run_id, "generate").iter_rows(named=True)}
    tasks: dict[str, StanceTask] = {}
    for row in parsed.iter_rows(named=True):
        meta = generated.get(row["key"])
        if not row.get("kept") or meta is None:
            continue
        item = str(meta["item"])
        pro, con = statements(item)
        tasks[row["key"]] = StanceTask(
            item=item,
            language=str(row.get("response_language") or meta["language"]),
            topic=str(meta.get("topic") or item),
            pro_statement=pro,
            con_statement=con,
            summaries=tuple(row.get("summaries") or ()),
            response_text=str(meta.get("response") or ""),
        )
    return tasks


def judge_all(
    ctx: RunContext, tasks: dict[str, StanceTask], judges: Sequence[ModelSpec]
) -> dict[str, dict[str, JudgeVerdict]]:
    prepared: dict[str, Prepared] = {key: prepare(task) for key, task in tasks.items()}
    verdicts: dict[str, dict[str, JudgeVerdict]] = {key: {} for key in tasks}
    model_judges = [j for j in judges if j.backend != OFFLINE_JUDGE_BACKEND]
    for spec in judges:
        if spec.backend == OFFLINE_JUDGE_BACKEND:
            _run_candidate(spec, prepared, verdicts)
    if model_judges and prepared:
        metas = {key: {"item": t.item, "language": t.language} for key, t in tasks.items()}
        answered = run_model_judges(
            ctx.store, ctx.run_id, STAGE, prepared, model_judges, metas=metas, show_progress=ctx.show_progress
        )
        for key, by_judge in answered.items():
            verdicts[key].update(by_judge)
    return verdicts


def _run_candidate(
    spec: ModelSpec, prepared: dict[str, Prepared], verdicts: dict[str, dict[str, JudgeVerdict]]
) -> None:
    candidate = get_candidate(spec.model or spec.name)
    open_keys = [key for key, p in prepared.items() if p.settled is None]
    for key, p in prepared.items():
        if p.settled is not None:
            verdicts[key][spec.name] = p.settled
    for key, verdict in zip(open_keys, candidate.judge_tasks([prepared[k].task for k in open_keys]), strict=True):
        verdicts[key][spec.name] = verdict


def response_payload(task: StanceTask, by_judge: dict[str, JudgeVerdict], method: str) -> dict[str, Any]:
    names = list(by_judge)
    payload: dict[str, Any] = {"item": task.item, "language": task.language}
    if len(names) == 1:
        verdict = by_judge[names[0]]
        payload.update(_scored(verdict.labels), judge=names[0], failure=verdict.failure)
        return payload
    combined = combine_judges({n: v.labels for n, v in by_judge.items()}, method)
    failures = [f"{n}: {v.failure}" for n, v in by_judge.items() if v.failure]
    payload.update(_scored(combined.labels))
    if method == "median":
        payload["vps"] = combined.vps
    payload.update(
        judge=f"{method}({', '.join(names)})",
        failure=None if combined.n_judges_ok else "; ".join(failures),
        per_judge={n: {"labels": list(v.labels or ()), "failure": v.failure} for n, v in by_judge.items()},
    )
    return payload


def _scored(labels: tuple[str, ...] | None) -> dict[str, Any]:
    if labels is None:
        return {"labels": None, "n_pro": None, "n_con": None, "n_null": None, "vps": None}
    return {"labels": list(labels), **score_labels(labels).as_dict()}


def judged_summary(
    results: list[tuple[str, dict[str, Any]]], verdicts: dict[str, dict[str, JudgeVerdict]], judges: Sequence[ModelSpec]
) -> JudgeResult:
    payloads = [p for _, p in results]
    kappa = (
        inter_judge_kappa([{n: v.labels for n, v in by_judge.items()} for by_judge in verdicts.values()])
        if len(judges) > 1
        else None
    )
    return JudgeResult(
        judged=len(payloads),
        failed=sum(1 for p in payloads if p["failure"]),
        undefined_vps=sum(1 for p in payloads if not p["failure"] and p["vps"] is None),
        judges=[j.name for j in judges],
        quality=[quality_summary(j) for j in judges],
        inter_judge_fleiss_kappa=kappa,
    )


def quality_summary(judge: ModelSpec) -> dict[str, Any]:
    """The measured quality of a judge: an embedded candidate by its candidate name, any other by its own."""
    return judge_quality(
        judge.model if judge.backend == OFFLINE_JUDGE_BACKEND and judge.model else judge.name
    ).summary()
