"""What an empty part of the wvs report says: what is missing and why, not which file is absent."""

from __future__ import annotations

from pathlib import Path

from culturalign.errors import DataError
from culturalign.report.provenance import load_manifest
from culturalign.report.sections import Section

# What each part needs, in the reader's terms, and the prefix of the analysis note that says why it is absent.
_NEEDS = {
    "us_gap": (
        "US-minus-native gap",
        "the US-minus-native gap needs alignment estimates with the US and with a country where a prompt "
        "language is native, which needs judged responses and country-level ground truth for both",
    ),
    "consistency": ("", "self-consistency needs at least two judged responses of a model to the same item"),
    "ground_truth": ("", "no survey ground truth was available to this analysis"),
    "alignment": ("", "alignment needs judged responses and survey ground truth for their items"),
}


def missing_part(section: Section, analysis_dir: Path, part: str) -> None:
    """Say what is missing and why, from the analysis's own notes when it left one."""
    prefix, need = _NEEDS[part]
    try:
        notes = [str(n) for n in load_manifest(analysis_dir).get("notes") or []]
    except DataError:
        notes = []
    reason = next((n for n in notes if prefix and n.startswith(prefix)), None)
    if reason is None and any(n.startswith("no alignment") for n in notes):
        reason = "no survey ground truth was available to this analysis (the summary's notes say how to add it)"
    section.paragraphs.append(f"Not computed: {reason or need}.")
