"""Global registries are restored after every test (tests/conftest.py), so no test sees another's probes."""

from __future__ import annotations

from culturalign.probes.registry import Probe, get_probe, known_probes, register_probe


def test_a_test_may_register_a_probe() -> None:
    wvs = get_probe("wvs")
    register_probe(Probe("leaky-probe", "registered by a test", wvs.settings_model, wvs.stages[:1], wvs.plan))
    assert "leaky-probe" in known_probes()


def test_the_next_test_does_not_see_it_and_still_finds_the_built_ins() -> None:
    # Runs after the test above (file order): without the restoring fixture the probe would still be here.
    assert "leaky-probe" not in known_probes()
    assert get_probe("wvs").name == "wvs" and get_probe("vsm").name == "vsm"
