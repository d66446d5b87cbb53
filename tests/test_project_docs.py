"""The project stands on its own: it cites its own method pages (not files users do not have),
every cited section exists, and the licence pyproject declares is there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"docs/methods/(\w+)\.md §(\w+)")
SEARCHED = ("src", "tests", "docs", "bench", "examples")


def _texts():
    for folder in SEARCHED:
        for path in sorted((PROJECT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".md", ".toml", ".j2"}:
                yield path, path.read_text(encoding="utf-8")
    for name in ("README.md", "ARCHITECTURE.md"):
        yield PROJECT / name, (PROJECT / name).read_text(encoding="utf-8")


def test_nothing_cites_a_file_users_do_not_have():
    offending = [
        f"{path.relative_to(PROJECT)}: {match.group(0)}"
        for path, text in _texts()
        if path.name != "test_project_docs.py"
        for match in re.finditer(r"METHOD(\.md)?\b|\bseeds/", text)
    ]
    assert offending == []


def test_every_cited_method_section_exists():
    sections = {
        page.stem: set(re.findall(r"^## §(\w+) ", page.read_text(encoding="utf-8"), flags=re.M))
        for page in (PROJECT / "docs" / "methods").glob("*.md")
    }
    assert set(sections) >= {"wvs", "vsm", "statements"}
    cited = [(path, m.group(1), m.group(2)) for path, text in _texts() for m in CITATION.finditer(text)]
    assert len(cited) >= 10  # the code does cite them
    missing = [f"{p.relative_to(PROJECT)}: {page} §{s}" for p, page, s in cited if s not in sections.get(page, set())]
    assert missing == []


def test_the_licence_pyproject_declares_is_there():
    declared = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert declared in ({"text": "MIT"}, "MIT")  # the older table form or an SPDX expression
    text = (PROJECT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 the culturalign authors" in text
    assert "WITHOUT WARRANTY OF ANY KIND" in text
