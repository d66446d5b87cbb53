"""Judging every probe can share: stance labels and verdicts, per-response VPS, multi-judge aggregation and agreement."""
