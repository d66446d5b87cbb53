"""Speed of `culturalign compare` on the paper's nine released models x 4 languages.

Times the paired bootstrap (every pair of models in every language, 1,000 rounds by default),
the tables built from it and, separately, writing the folder (tables, figures, compare.html).
Then the same with 27 models (each released model three times, the copies' scores jittered
by noise and clipped to [0, 1]) to show how the cost grows with the number of models.

    python bench/bench_compare.py [--data ../shared/data/paper] [--rounds 1000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from culturalign.compare.run import compare  # noqa: E402


def with_copies(path: Path, copies: int, seed: int, out: Path) -> Path:
    """The released table with each model `copies` times; copies' scores get noise (sd 0.1) and are
    snapped back to the nearest score the released table has, so a copy has as many distinct
    values as a real model (the cost of the bootstrap grows with distinct values, not only rows)."""
    table = pl.read_csv(path)
    rng = np.random.default_rng(seed)
    grid = np.unique(table["response_pro_score"].drop_nulls().to_numpy())
    frames = [table]
    for k in range(1, copies):
        noisy = np.clip(table["response_pro_score"].to_numpy() + rng.normal(0, 0.1, table.height), 0, 1)
        at = np.clip(np.searchsorted(grid, noisy), 1, len(grid) - 1)
        snapped = np.where(noisy - grid[at - 1] < grid[at] - noisy, grid[at - 1], grid[at])
        frames.append(
            table.with_columns(
                (pl.col("model_name") + f"-copy{k}").alias("model_name"),
                pl.Series("response_pro_score", snapped),
            )
        )
    pl.concat(frames).write_csv(out)
    return out


def timed(inputs: list[Path], data: Path, rounds: int, output: Path | None) -> tuple[float, object]:
    start = time.perf_counter()
    result = compare(inputs, ground_truth=data, rounds=rounds, output=output)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "paper")
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    released = args.data / "all_lang_model_responses_with_scores.csv"
    print(f"load average at start: {os.getloadavg()[0]:.2f} (shared machine: other work slows these figures)")
    timed([released], args.data, 100, None)  # warm-up: imports and the ground-truth read
    with tempfile.TemporaryDirectory() as tmp:
        many = with_copies(released, 3, 0, Path(tmp) / "copies.csv")
        for label, path in (("9 models", released), ("27 models", many)):
            seconds, result = timed([path], args.data, args.rounds, None)
            pairs = result.pairs.height
            print(
                f"{label} x 4 languages, {args.rounds} paired rounds: {seconds:.2f} s "
                f"({pairs} paired comparisons, {pairs / seconds:.0f} per second)"
            )
            seconds, _ = timed([path], args.data, args.rounds, Path(tmp) / f"out-{label[:2].strip()}")
            print(f"{label}: with writing tables, figures and compare.html: {seconds:.2f} s")


if __name__ == "__main__":
    main()
