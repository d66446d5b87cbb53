"""The import contracts cover the whole package: a new top-level module or package must take its
place in the layers of pyproject.toml (checked by `lint-imports`), in tests/test_layers.py and in
ARCHITECTURE.md, or the checks would not see it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from test_layers import LAYERS, _layer

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "culturalign"


def _contract_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return {m.strip() for layer in contract["layers"] for m in re.split(r"[|:]", layer)}


def _top_level() -> set[str]:
    present = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return present | {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def test_every_top_level_module_has_a_layer_in_the_contracts():
    named = {m.removeprefix("culturalign.").split(".")[0] for m in _contract_modules()}
    assert _top_level() - named == set(), "give these a layer in [tool.importlinter] of pyproject.toml"
    assert named - _top_level() == set(), "these layers name modules that do not exist"


def test_the_contracts_and_the_layer_test_agree_layer_by_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    lowest_first = list(reversed(contract["layers"]))
    assert len(lowest_first) == len(LAYERS)
    for index, layer in enumerate(lowest_first):
        for module in re.split(r"[|:]", layer):
            assert _layer(module.strip()) == index, module


def test_architecture_names_every_layer_module():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for module in _contract_modules():
        path = module.removeprefix("culturalign.").replace(".", "/")
        assert f"{path}/" in text or f"{path}.py" in text, module
