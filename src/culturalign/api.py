"""The Python API: the same functions the command line calls, for notebooks and scripts.

    import culturalign.api as ca
    truth = ca.load_ground_truth()                      # published tables (fetched once, checksummed)
    result = ca.run_experiment("examples/quickstart.toml")
    ca.analyze(responses="responses.csv", output="analysis/")
    ca.build_report("analysis/", "report/")
    ca.compare(["run_a/analysis", "run_b/analysis"], output="comparison/")   # paired tests, leaderboard

Tables come back as polars DataFrames. Every function raises a culturalign.errors.UserError
subclass, with a one-line message, for input a user can fix.
"""

from __future__ import annotations

from culturalign.batch_jobs import export_batch, import_batch
from culturalign.compare.run import compare
from culturalign.config import load_experiment
from culturalign.engine.summary import export_run, list_runs
from culturalign.probes.wvs.analysis.run_analysis import analyze, reproduce
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.probes.wvs.sources.groundtruth import load_ground_truth, load_human_consistency
from culturalign.probes.wvs.sources.published import fetch_published
from culturalign.probes.wvs.sources.survey import build_ground_truth
from culturalign.reports import build_report
from culturalign.run import run_experiment
from culturalign.store.db import RunStore

__all__ = [
    "RunStore",
    "analyze",
    "build_ground_truth",
    "build_report",
    "compare",
    "export_batch",
    "export_run",
    "fetch_published",
    "import_batch",
    "list_runs",
    "load_codebook",
    "load_experiment",
    "load_ground_truth",
    "load_human_consistency",
    "reproduce",
    "run_experiment",
]
