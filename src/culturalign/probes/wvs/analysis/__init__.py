"""The `wvs` analysis: alignment with the survey, self-consistency, regressions, the paper's reproduction."""
