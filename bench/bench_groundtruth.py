"""Benchmark: ground truth from a full-size synthetic joint EVS/WVS file.

Writes a synthetic respondent file (default 157,000 respondents x 300 columns, as CSV and
SPSS .sav) to a temp folder, then, each in a fresh subprocess so peak memory is its own:
builds the ground truth for every country, interview language and global (and once with
human self-consistency), and beside it reads every column with pandas, the naive way.
Prints wall time and peak resident memory of each.

    python bench/bench_groundtruth.py [--rows 157000] [--columns 300] [--formats csv,sav]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

CHILD = r"""
import json, resource, sys, time
task, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if task == "build" or task == "build+consistency":
    from culturalign.probes.wvs.sources.codebook import load_codebook
    from culturalign.probes.wvs.sources.survey import build_ground_truth
    result = build_ground_truth(path, load_codebook(), consistency=task != "build")
    rows = result.vps.height
elif path.endswith(".csv"):
    import pandas as pd
    rows = len(pd.read_csv(path))
else:
    import pyreadstat
    rows = len(pyreadstat.read_sav(path)[0])
elapsed = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM is this process's own peak: ru_maxrss would carry over the parent's peak across fork+exec
with open("/proc/self/status") as status:
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": elapsed, "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_mib": hwm_kib / 1024, "rows": rows}))
"""


def synthetic_survey(rows: int, columns: int, seed: int = 0) -> pl.DataFrame:
    """Countries, languages, weights, the 37 codebook items on their scales with negative
    missing codes, and filler answer columns up to `columns`."""
    from culturalign.probes.wvs.sources.codebook import load_codebook

    rng = np.random.default_rng(seed)
    countries = [f"C{i:02d}" for i in range(90)]
    languages = [f"l{i:02d}" for i in range(40)]
    data: dict[str, np.ndarray] = {
        "cntry_AN": rng.choice(countries, rows),
        "lnge_iso": rng.choice(languages, rows),
        "gwght": rng.uniform(0.3, 3.0, rows),
        "pwght": rng.uniform(0.1, 2.0, rows),
    }
    for item in load_codebook().items():
        answers = rng.integers(item.scale.min, item.scale.max + 1, rows)
        missing = rng.random(rows) < 0.05
        answers[missing] = rng.choice([-1, -2, -4, -5], int(missing.sum()))
        data[item.survey_column] = answers
    for i in range(columns - len(data)):
        data[f"X{i:03d}"] = rng.integers(-2, 11, rows)
    return pl.DataFrame(data)


def run_child(task: str, path: Path) -> dict:
    """Run one task in a fresh interpreter (imports included in its time, its own peak memory)."""
    out = subprocess.run([sys.executable, "-c", CHILD, task, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=157_000)
    parser.add_argument("--columns", type=int, default=300)
    parser.add_argument("--formats", default="csv,sav")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="culturalign-bench-") as tmp:
        start = time.perf_counter()
        df = synthetic_survey(args.rows, args.columns)
        files = {}
        for fmt in args.formats.split(","):
            path = Path(tmp) / f"joint.{fmt}"
            if fmt == "csv":
                df.write_csv(path)
            else:
                import pyreadstat

                pyreadstat.write_sav(df.to_pandas(), str(path))
            files[fmt] = path
        print(
            f"synthetic file: {args.rows:,} respondents x {df.width} columns, written in {time.perf_counter() - start:.1f} s"
        )
        del df
        print(
            f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall time counts waiting for the CPU)"
        )
        print(f"{'format':<6} {'size MiB':>9} {'task':<20} {'wall s':>8} {'CPU s':>7} {'peak MiB':>9}")
        for fmt, path in files.items():
            size = path.stat().st_size / 2**20
            for task in ("build", "build+consistency", "pandas read all"):
                result = run_child(task, path)
                print(
                    f"{fmt:<6} {size:>9.0f} {task:<20} {result['seconds']:>8.2f} {result['cpu_seconds']:>7.2f} {result['peak_mib']:>9.0f}"
                )


if __name__ == "__main__":
    main()
