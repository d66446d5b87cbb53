"""Speed of the clean `wvs` analysis on the paper's 9,148 released responses.

Fast path: `analyze_responses` (all three levels, consistency, baselines, every bootstrap
round, RQ1 and RQ2). Reference: the straightforward way, a per-round polars loop (resample
the response rows, join the ground truth, group-by Spearman per group, self-join for
consistency), on fewer rounds and extrapolated per round. Both see the same draws, and the
bench asserts that they give the same numbers round by round.

    python bench/bench_analysis.py [--data ../shared/data/paper] [--rounds 1000] [--plain-rounds 20]
"""

from __future__ import annotations

import os

# One BLAS thread: on a shared 2-core machine OpenBLAS threads spin against each other and
# make the regressions' QR several times slower (measured: 0.39 s with 1 thread, 2.3 s with 2).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from culturalign.analysis.bootstrap import resample_indices  # noqa: E402
from culturalign.probes.wvs.analysis import baselines as bl  # noqa: E402
from culturalign.probes.wvs.analysis.capability import load_capability  # noqa: E402
from culturalign.probes.wvs.analysis.pipeline import analyze_responses  # noqa: E402
from culturalign.probes.wvs.analysis.responses import keep_prompt_language, load_response_table  # noqa: E402
from culturalign.probes.wvs.analysis.rq1 import fit_rq1_variants, rq1_rows  # noqa: E402
from culturalign.probes.wvs.analysis.rq2 import fit_rq2, rq2_rows  # noqa: E402
from culturalign.probes.wvs.analysis.truth import comparison_country, load_truth, native_countries  # noqa: E402
from culturalign.probes.wvs.judge.quality import PAPER_ERROR_RATE  # noqa: E402

KEYS = ["model", "family", "language", "population_kind", "population"]
ERROR = PAPER_ERROR_RATE


def plain_loop(
    responses: pl.DataFrame, truth: pl.DataFrame, seed: int, rounds: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per round: draw rows, join truth, group-by Spearman; self-join pairs of distinct responses."""
    seeds = np.random.SeedSequence(seed).spawn(2)
    rows = pl.concat([responses, bl.make_baselines(responses, np.random.default_rng(seeds[0]))]).with_row_index("unit")
    gt = truth.select("population_kind", "population", "item", pl.col("vps").alias("truth"))
    rng = np.random.default_rng(seeds[1])
    align, cons = [], []
    for b in range(rounds):
        sample = rows[resample_indices(rng, rows.height)]
        joined = bl.fill_perfect(sample.join(gt, on="item"))
        align.append(
            joined.group_by(KEYS)
            .agg(pl.corr("vps", "truth", method="spearman").alias("value"))
            .with_columns(pl.lit(b).alias("round"))
        )
        plain = sample.filter(pl.col("model") != bl.PERFECT).select(
            "unit", "model", "family", "language", "item", "vps"
        )
        pairs = plain.join(plain, on=["model", "family", "language", "item"], suffix="_b").filter(
            pl.col("unit") != pl.col("unit_b")
        )
        cons.append(
            pairs.group_by("model", "family", "language")
            .agg((pl.corr("vps", "vps_b", method="spearman") / (1 - ERROR)).alias("value"))
            .with_columns(pl.lit(b).alias("round"))
        )
    return pl.concat(align), pl.concat(cons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "paper")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--plain-rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    load = os.getloadavg()
    responses = load_response_table(args.data / "all_lang_model_responses_with_scores.csv")
    truth = load_truth(args.data)
    capability = load_capability(args.data / "multilingual_benchmarks.csv", responses["model"].unique().to_list())
    kept, _ = keep_prompt_language(responses)

    start, cpu = time.perf_counter(), time.process_time()
    result = analyze_responses(kept, truth, rounds=args.rounds, seed=args.seed, capability=capability)
    fast, fast_cpu = time.perf_counter() - start, time.process_time() - cpu

    start, cpu = time.perf_counter(), time.process_time()
    align, cons = plain_loop(kept, truth, args.seed, args.plain_rounds)
    loop_bootstrap, loop_cpu = time.perf_counter() - start, time.process_time() - cpu
    # the regressions are the same code on the same rows either way: timed once, added to both
    start = time.perf_counter()
    used_rounds = min(100, args.rounds)
    boot = result.bootstrap.filter(pl.col("round") < used_rounds)
    fit_rq1_variants(
        rq1_rows(
            boot.filter((pl.col("measure") == "alignment") & ~bl.is_baseline(pl.col("model"))),
            boot.filter(pl.col("measure") == "consistency"),
            capability,
        )
    )
    fit_rq2(
        rq2_rows(
            boot.filter(
                (pl.col("measure") == "alignment")
                & (~bl.is_baseline(pl.col("model")) | (pl.col("model") == bl.UNIFORM))
            ),
            native_countries(),
            comparison_country(),
        )
    )
    regressions = time.perf_counter() - start
    plain_estimate = loop_bootstrap / args.plain_rounds * args.rounds + regressions

    ours = result.bootstrap.filter(pl.col("round") < args.plain_rounds)
    checked = 0
    for measure, plain, keys in (("alignment", align, KEYS), ("consistency", cons, ["model", "family", "language"])):
        mine = ours.filter(pl.col("measure") == measure).select(*keys, pl.col("round").cast(pl.Int32), "value")
        both = mine.join(
            plain.with_columns(pl.col("round").cast(pl.Int32)),
            on=[*keys, "round"],
            how="full",
            suffix="_plain",
            coalesce=True,
        )
        a = both["value"].fill_null(np.nan).to_numpy()
        b = both["value_plain"].fill_null(np.nan).to_numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True, err_msg=measure)
        checked += len(a)

    print(
        f"responses: {kept.height}, groups: {result.alignment.height} alignment + {result.consistency.height} consistency"
    )
    print(f"load average at start: {load[0]:.1f} (2 cores shared: wall times inflate with it)")
    print(
        f"fast path, {args.rounds} rounds, all levels + consistency + baselines + RQ1 + RQ2: {fast:.2f} s wall, {fast_cpu:.2f} s CPU"
    )
    print(
        f"plain polars loop: {loop_bootstrap:.2f} s wall ({loop_cpu:.2f} s CPU) for {args.plain_rounds} rounds "
        f"-> {plain_estimate:.1f} s extrapolated to {args.rounds} rounds (+ regressions {regressions:.2f} s)"
    )
    print(f"speed-up: {plain_estimate / fast:.1f}x; {checked} round values identical within 1e-9")


if __name__ == "__main__":
    main()
