"""The layers of ARCHITECTURE.md hold: no import reaches up a layer, no probe imports another,
no analysis or report module imports a backend, and no two modules import each other.

The graph is read from the source (ast), runtime imports only: imports under TYPE_CHECKING
name types, not dependencies."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first; a module belongs to the longest prefix that names it.
LAYERS: list[tuple[str, ...]] = [
    # redact.py imports nothing of the package: errors.py masks every message with it.
    # plugins.py reads entry points: config.py finds a probe's settings through it.
    (
        "culturalign",
        "culturalign.errors",
        "culturalign.paths",
        "culturalign.tables",
        "culturalign.languages",
        "culturalign.redact",
        "culturalign.plugins",
    ),
    ("culturalign.models", "culturalign.store"),
    ("culturalign.engine", "culturalign.estimate"),
    ("culturalign.probes", "culturalign.probes.registry", "culturalign.config"),
    (
        "culturalign.analysis",
        "culturalign.judge",
        "culturalign.prompts",
        "culturalign.sources",
        "culturalign.report",
        "culturalign.translation",
    ),
    ("culturalign.probes.wvs", "culturalign.probes.vsm", "culturalign.probes.statements"),
    (
        "culturalign.run",
        "culturalign.reports",
        "culturalign.compare",
        "culturalign.batch_jobs",
        "culturalign.api",
        "culturalign.review",
    ),
    ("culturalign.cli",),
]
RUN_LAYER = next(i for i, layer in enumerate(LAYERS) if "culturalign.run" in layer)
PROBES = ("wvs", "vsm", "statements")
BACKENDS = (
    "culturalign.models.registry",
    "culturalign.models.mock",
    "culturalign.models.openai_backend",
    "culturalign.models.llamacpp_backend",
    "culturalign.models.vllm_backend",
)
ANALYSIS_PARTS = ("analysis", "report", "figures", "profiles", "metrics", "scores", "qc")
# No circle is known; nothing may join this list.
KNOWN_CYCLES: list[set[str]] = []


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "culturalign").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {_resolve(n) for n in _imports(path) if n.startswith("culturalign")}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def _layer(module: str) -> int:
    best = max(
        ((len(prefix), index) for index, prefixes in enumerate(LAYERS) for prefix in prefixes
         if module == prefix or module.startswith(prefix + ".")),
    )  # fmt: skip
    return best[1]


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_import_reaches_up_a_layer_or_across_probes() -> None:
    graph = _graph()
    upward = [(m, t) for m, targets in graph.items() for t in targets if _layer(t) > _layer(m)]
    across = [
        (m, t)
        for m, targets in graph.items()
        for t in targets
        for p in PROBES
        for q in PROBES
        if p != q and m.startswith(f"culturalign.probes.{p}") and t.startswith(f"culturalign.probes.{q}")
    ]
    assert upward == [] and across == []


def test_analysis_and_report_modules_import_no_backend() -> None:
    graph = _graph()
    offenders = [
        (m, t)
        for m, targets in graph.items()
        if _layer(m) < RUN_LAYER  # run.py, reports.py and the like put the layers together
        and any(segment.startswith(part) for segment in m.split(".")[1:] for part in ANALYSIS_PARTS)
        for t in targets
        if t in BACKENDS or t.startswith("culturalign.engine")
    ]
    assert offenders == []


def test_no_import_circles() -> None:
    assert [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES] == []
