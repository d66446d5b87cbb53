"""Data sources: codebooks, survey files, published tables and their downloads."""
