"""The `wvs` probe: hypothetical surveys, judged per interviewee, compared with the World Values Survey.

The probe itself (`probe.PROBE`) is registered by `culturalign.probes.wvs.probe`; this package
imports nothing, so its light parts (the codebook, the ground-truth readers) load alone.
"""
