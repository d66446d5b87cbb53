"""How good the judges of one `wvs` run were: measured agreement, failures, inter-judge agreement.

Per judge: its measured quality (judge.quality.quality_for: by identity, from the run store,
the user cache or the shipped measurements), and how often it failed to label a response it
was asked about (after its retries). A response settled without any judge (an empty answer, a
refusal, stated totals) is nobody's failure and is not counted. With several judges, Fleiss'
kappa over the interviewees every judge labelled. The result is the `judge_validation` of the
analysis manifest: {"quality": [one entry per judge], "inter_judge_fleiss_kappa": k}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from culturalign.judge.aggregate import inter_judge_kappa
from culturalign.models.base import ModelSpec
from culturalign.models.registry import OFFLINE_JUDGE_BACKEND
from culturalign.probes.wvs.judge.quality import default_judge_name, quality_for
from culturalign.store.db import RunStore

FAILURE_WARNING_SHARE = 0.10  # a judge failing on more of its responses than this is a warning at the top


def run_judges(judges: Sequence[ModelSpec]) -> list[ModelSpec]:
    """The experiment's judges, or the offline default the judge stage uses when it names none."""
    return list(judges) or [ModelSpec(name=default_judge_name(), backend=OFFLINE_JUDGE_BACKEND)]


def judge_failures(payloads: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per judge: responses it was asked about, how many it could not label, and that share."""
    counts = {name: [0, 0] for name in names}
    for payload in payloads:
        if payload.get("settled"):
            continue
        per_judge = payload.get("per_judge")
        for name in names:
            if isinstance(per_judge, Mapping):
                own = per_judge.get(name)
                failed = own is None or bool(own.get("failure"))
            else:
                failed = bool(payload.get("failure"))
            counts[name][0] += 1
            counts[name][1] += int(failed)
    return {name: {"judged": n, "failed": f, "failure_rate": (f / n) if n else None} for name, (n, f) in counts.items()}


def fleiss_kappa(payloads: Sequence[Mapping[str, Any]]) -> float | None:
    per_response = [
        {name: own.get("labels") or None for name, own in payload["per_judge"].items()}
        for payload in payloads
        if isinstance(payload.get("per_judge"), Mapping)
    ]
    return inter_judge_kappa(per_response) if per_response else None


def call_failures(store: RunStore | None, run_id: str | None) -> dict[str, dict[str, Any]]:
    """Per judge model: its calls in the run's judge stage (retries included) and how many failed."""
    if store is None or run_id is None:
        return {}
    usage = store.usage(run_id)
    if usage.is_empty():
        return {}  # no call made yet (the columns of an empty table have no type to compare)
    out = {}
    for row in usage.filter(usage["stage"] == "judge").iter_rows(named=True):
        calls, failed = int(row["calls"] or 0), int(row["failed"] or 0)
        out[row["model"]] = {
            "calls": calls,
            "failed_calls": failed,
            "call_failure_rate": failed / calls if calls else None,
        }
    return out


def judges_quality(
    judges: Sequence[ModelSpec],
    payloads: Sequence[Mapping[str, Any]],
    store: RunStore | None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The manifest's `judge_validation` for a run judged by `judges` with these stored payloads."""
    judges = run_judges(judges)
    failures = judge_failures(payloads, [j.name for j in judges])
    calls = call_failures(store, run_id)
    quality = [
        {**quality_for(spec, store).summary(), **failures[spec.name], **calls.get(spec.name, {})} for spec in judges
    ]
    out: dict[str, Any] = {"quality": quality}
    if len(judges) > 1:
        out["inter_judge_fleiss_kappa"] = fleiss_kappa(payloads)
    return out


def quality_of_stored_run(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """The same, read back from a run store (the run's recorded judges and its judge results)."""
    run = store.run(run_id)
    results = store.results(run.run_id, "judge")
    if results.is_empty() or "judge" not in results.columns:
        return None
    specs = [_spec(j) for j in run.config.get("judges") or [] if isinstance(j, Mapping)]
    return judges_quality(specs, results.drop("key").to_dicts(), store, run.run_id)


def _spec(recorded: Mapping[str, Any]) -> ModelSpec:
    """A judge as the run recorded it; a record an older or newer culturalign wrote keeps at least its name."""
    try:
        return ModelSpec.model_validate(dict(recorded))
    except ValueError:
        return ModelSpec(name=str(recorded.get("name")), backend=str(recorded.get("backend")))


def newer_validations(recorded: Mapping[str, Any] | None, current: Mapping[str, Any] | None) -> list[str]:
    """Judges validated (again) after the analysis was made: the report says so and how to use it."""
    before = {e.get("judge"): e.get("source") for e in (recorded or {}).get("quality") or [] if isinstance(e, Mapping)}
    notes = []
    for entry in (current or {}).get("quality") or []:
        name, source = entry.get("judge"), entry.get("source")
        if entry.get("validated") and source and before.get(name) != source:
            notes.append(
                f"The judge {name} has a newer validation than this analysis used ({source}); analyse the run "
                "again to use it (rerun the experiment, which asks nothing already answered, or `culturalign analyze "
                "--store`)."
            )
    return notes


def failure_warnings(judge_validation: Mapping[str, Any] | None) -> list[str]:
    """One sentence per judge that failed on more than 10% of its calls, or of the responses it was asked about."""
    warnings = []
    for entry in (judge_validation or {}).get("quality") or []:
        if not isinstance(entry, Mapping):
            continue
        rate, call_rate = entry.get("failure_rate"), entry.get("call_failure_rate")
        if isinstance(rate, int | float) and rate > FAILURE_WARNING_SHARE:
            warnings.append(
                f"The judge {entry.get('judge')} could not label {entry.get('failed')} of the "
                f"{entry.get('judged')} responses it was asked about ({rate:.0%}, more than "
                f"{FAILURE_WARNING_SHARE:.0%}), even after retries: check that model's answers and the run summary."
            )
        elif isinstance(call_rate, int | float) and call_rate > FAILURE_WARNING_SHARE:
            warnings.append(
                f"{entry.get('failed_calls')} of the judge {entry.get('judge')}'s {entry.get('calls')} calls failed "
                f"({call_rate:.0%}, more than {FAILURE_WARNING_SHARE:.0%}); retries recovered the responses, "
                "but the server or the model is unreliable: check the run summary's failures by reason."
            )
    return warnings
