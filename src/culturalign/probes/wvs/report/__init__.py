"""The `wvs` report's figures and examples."""
