"""Probes: prompts + parser + scorer + analysis, registered by name (wvs, vsm, statements)."""

from culturalign.probes.registry import Probe, RunContext, Stage, get_probe, known_probes, register_probe

__all__ = ["Probe", "RunContext", "Stage", "get_probe", "known_probes", "register_probe"]
