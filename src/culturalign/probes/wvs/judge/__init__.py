"""The `wvs` stance judges: offline candidates, model judges, validation against the hand labels."""
