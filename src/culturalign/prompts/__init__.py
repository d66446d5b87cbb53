"""Prompt templates, topic paraphrases, deterministic sampling and translations."""
