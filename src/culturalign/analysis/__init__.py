"""Statistics: alignment, self-consistency, bootstrap, regressions, reproduction."""
