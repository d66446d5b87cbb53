"""Comparing models, runs and methods with inference that holds on noise.

- `inference`: bootstrap p-values, Holm's correction, the draw-free US-gap test and the
  capability regression on one row per model (what the default `analyze` concludes from);
- `paired`: paired bootstrap of two models over the units both were measured on;
- `leaderboard`, `methods`, `diff`: tables built from the paired draws;
- `inputs`: reading runs and analysis folders into per-unit tables.
"""
