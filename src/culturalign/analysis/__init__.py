"""Statistics every probe shares: the bootstrap (resampling, percentile intervals, vectorised Spearman)."""
