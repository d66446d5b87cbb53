"""One translation stage for every probe.

A probe lists the texts it needs in each language (`SourceText`); the stage asks the
configured translator model for those no person has reviewed, through the engine and the
run store like any other model call (exactly once, resumable, with progress, cached under a
request key that holds the translator and its parameters). One export/import serves human
review; a reviewed translation always wins over the machine's.
"""
