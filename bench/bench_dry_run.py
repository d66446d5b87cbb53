"""How long `culturalign run --dry-run` takes to count a large `wvs` plan.

The experiment: PROMPTS prompts per language in 4 languages, 3 mock models and one mock judge
(PROMPTS = 100,000 gives 1.2 million generation calls and 1.2 million judge calls). The figure
is the wall time of `run_experiment(..., dry_run=True)` in this process (imports excluded),
best of REPEATS, and the counts it printed.

    python bench/bench_dry_run.py [--prompts 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from culturalign.run import run_experiment

EXPERIMENT = """
probe = "wvs"
name = "bench-dry-run"
languages = ["da", "en", "nl", "pt"]
store = "bench.sqlite"
output = "bench"

[[models]]
name = "chat"
backend = "mock"
[[models]]
name = "base"
backend = "mock"
prompt_style = "completion"
[[models]]
name = "priced"
backend = "mock"
price_input_per_mtok = 0.4
price_output_per_mtok = 1.6

[[judges]]
name = "judge"
backend = "mock"
price_input_per_mtok = 0.4
price_output_per_mtok = 1.6

[wvs]
prompts_per_language = {prompts}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.toml"
        path.write_text(EXPERIMENT.format(prompts=args.prompts), encoding="utf-8")
        started = time.perf_counter()
        run_experiment(path, dry_run=True)  # cold: the probe's modules, codebook and templates load once
        cold = time.perf_counter() - started
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = run_experiment(path, dry_run=True)
            times.append(time.perf_counter() - started)
    calls = result.estimate.group_by("stage").agg(pl.col("calls").sum()).sort("stage")
    counted = ", ".join(f"{stage} {n:,}" for stage, n in calls.iter_rows())
    print(f"planned calls: {counted}; estimated cost ${result.estimated_cost_usd:,.2f}")
    print(
        f"dry run: first (cold) {cold:.3f} s; then best {min(times):.3f} s, worst {max(times):.3f} s of {args.repeats}"
    )


if __name__ == "__main__":
    main()
