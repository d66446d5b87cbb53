"""Prompt templates and deterministic sampling from the seed (translations: culturalign.translation)."""
