"""Prompt templates and their translations (shipped, machine, reviewed), and the translation request."""
