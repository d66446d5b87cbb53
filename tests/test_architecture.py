"""The import contracts cover the whole package: a new top-level module or package must take its
place in the layers of pyproject.toml (and ARCHITECTURE.md), or `lint-imports` would not see it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "culturalign"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return contract["layers"]


def test_every_top_level_module_has_a_layer():
    named = {m.strip().removeprefix("culturalign.") for layer in _layers() for m in re.split(r"[|:]", layer)}
    present = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    present |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    # The package's own __init__ and the data folder (no code) need no layer.
    assert present - named == set(), "give these a layer in [tool.importlinter] of pyproject.toml"
    assert named - present == set(), "these layers name modules that do not exist"


def test_architecture_names_the_same_layers():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for layer in _layers():
        for module in re.split(r"[|:]", layer):
            assert f"`{module.strip().removeprefix('culturalign.')}`" in text
