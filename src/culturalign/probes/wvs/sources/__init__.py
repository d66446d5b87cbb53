"""The `wvs` ground truth: the codebook, survey files and the published tables."""
