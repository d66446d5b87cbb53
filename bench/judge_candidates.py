"""Measure every offline stance-judge candidate on the hand-labelled reference set.

    python bench/judge_candidates.py --responses PATH/example_responses_gemma-2-27b-it.jsonl \
        [--labels tests/data/judge_reference_labels.csv] [--candidates lexicon,always-con,...] \
        [--output bench-results/judge] [--rounds 1000] [--write-default] [--reuse]

Prints agreement, Cohen's kappa and per-response VPS error (with bootstrap intervals over
responses) per candidate, writes each candidate's JSON summary and aligned labels, and with
--write-default records the numbers in src/culturalign/data/judge/validated.toml, choosing
as default the candidate with the highest kappa (ties: higher agreement, then lower VPS error).
--reuse takes a candidate's figures from its JSON summary already in --output instead of
judging again (the small models take many minutes on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from culturalign.paths import package_data
from culturalign.probes.wvs.judge.benchmark import validate_judge
from culturalign.probes.wvs.judge.candidates import known_candidates
from culturalign.tables import write_table

PROJECT = Path(__file__).resolve().parents[1]


def main() -> None:
    args = _arguments()
    names = args.candidates.split(",") if args.candidates else known_candidates()
    labels = subset_labels(args.labels, args.every, args.output) if args.every > 1 else args.labels
    reports: dict[str, dict] = {}
    for name in names:
        started = time.perf_counter()
        saved = args.output / f"judge-validation-{name}.json"
        if args.reuse and saved.exists():
            reports[name] = json.loads(saved.read_text(encoding="utf-8"))
        else:
            reports[name] = validate_judge(
                labels,
                args.responses,
                name,
                output_dir=args.output,
                rounds=args.rounds,
                seed=args.seed,
                show_progress=False,
            ).report.as_dict()
        r = reports[name]
        print(
            f"{name:24s} agreement {_ci(r['agreement'])}  kappa {_ci(r['cohen_kappa'])}  VPS MAE {_ci(r['vps_mae'])}"
            f"  coverage {r['coverage']:.2f}  ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    first = next(iter(reports.values()))
    print(
        f"reference: {first['n_summaries']} summaries, {first['n_responses']} responses, languages {first['languages']}"
    )
    if args.write_default:
        path = write_validated(reports, args.labels)
        print(f"wrote {path}")


def subset_labels(path: Path, every: int, output: Path) -> Path:
    """Every `every`-th labelled response (by line), all its summaries: for the slow candidates."""
    labels = pl.read_csv(path)
    lines = sorted(labels["line"].unique().to_list())[::every]
    target = output / f"reference-labels-every-{every}.csv"
    write_table(labels.filter(pl.col("line").is_in(lines)), target)
    return target


def choose_default(reports: dict[str, dict]) -> str:
    """Highest kappa; ties broken by agreement, then by lower VPS error. Constant judges never win."""
    eligible = {n: r for n, r in reports.items() if not n.startswith("always-")} or reports

    def rank(name: str) -> tuple[float, float, float]:
        r = eligible[name]
        kappa, agree, mae = r["cohen_kappa"]["estimate"], r["agreement"]["estimate"], r["vps_mae"]["estimate"]
        return (kappa if kappa is not None else -1.0, agree or 0.0, -(mae if mae is not None else 1.0))

    return max(eligible, key=rank)


def write_validated(reports: dict[str, dict], labels: Path) -> Path:
    default = choose_default(reports)
    first = next(iter(reports.values()))
    try:
        reference = str(labels.resolve().relative_to(PROJECT))
    except ValueError:
        reference = labels.name
    lines = [
        "# Judges measured against the hand-labelled reference set with bench/judge_candidates.py",
        "# (written by its --write-default option; see docs/judge.md). `default` is the embedded",
        "# offline judge a run uses when the experiment names no judge: the highest kappa.",
        "# A judge whose n_summaries is below reference_summaries was measured on a subset",
        "# (bench --every K: every K-th labelled response) because it is slow on a shared CPU.",
        "",
        f'default = "{default}"',
        "kappa_threshold = 0.6",
        f'reference = "{reference}"',
        f'measured_on = "{datetime.now(UTC):%Y-%m-%d}"',
        f"reference_summaries = {first['n_summaries']}",
        f"reference_responses = {first['n_responses']}",
        f"reference_languages = {_toml_table(first['languages'])}",
        "",
    ]
    for name, r in reports.items():
        lines += [f'[judges."{name}"]']
        for key, field in (("agreement", "agreement"), ("kappa", "cohen_kappa"), ("vps_mae", "vps_mae")):
            value = r[field]
            lines += [f"{key} = {_num(value['estimate'])}", f"{key}_ci = [{_num(value['low'])}, {_num(value['high'])}]"]
        lines += [
            f"coverage = {r['coverage']:.4f}",
            f"n_summaries = {r['n_summaries']}",
            f"n_responses = {r['n_responses']}",
            f"n_responses_with_vps = {r['n_responses_with_vps']}",
            f"bootstrap_rounds = {r['bootstrap']['rounds']}",
            "",
        ]
    path = package_data("judge", "validated.toml")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path


def _num(value: float | None) -> str:
    return "nan" if value is None else f"{value:.4f}"


def _toml_table(values: dict[str, int]) -> str:
    return "{ " + ", ".join(f"{k} = {v}" for k, v in values.items()) + " }"


def _ci(interval: dict) -> str:
    est, low, high = interval["estimate"], interval["low"], interval["high"]
    if est is None:
        return "n/a"
    return f"{est:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{est:.3f}"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=Path, required=True, help="JSONL of responses the labels refer to")
    parser.add_argument("--labels", type=Path, default=PROJECT / "tests" / "data" / "judge_reference_labels.csv")
    parser.add_argument("--candidates", default="", help="comma-separated; default all")
    parser.add_argument("--output", type=Path, default=PROJECT / "bench-results" / "judge")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-default", action="store_true")
    parser.add_argument("--every", type=int, default=1, help="judge only every k-th labelled response")
    parser.add_argument("--reuse", action="store_true", help="reuse JSON summaries already in --output")
    return parser.parse_args()


if __name__ == "__main__":
    main()
