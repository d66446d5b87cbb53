"""Stance judges: labelling interviewees, per-response scores, validation and agreement."""
