"""Comparing models, runs and methods with inference that holds on noise.

- the tests it shares with the default `analyze` (bootstrap p-values, Holm's correction, the
  US-gap test, the capability regression on one row per model) live in `analysis.inference`,
  below the probes, since the wvs analysis uses them too;
- `paired`: paired bootstrap of two models over the units both were measured on;
- `leaderboard`, `methods`, `diff`: tables built from the paired draws;
- `inputs`: reading runs and analysis folders into per-unit tables.
"""
