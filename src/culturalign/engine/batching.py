"""Exporting a stage's pending requests as a batch file instead of asking them.

`culturalign batch export` runs the experiment with an export target set: stages whose
requests are all answered run as usual; the first stage with requests pending for the
target model writes them to the file (recording them in the store) and stops the run. No
model is ever called in this mode: a stage that waits on another model's answers stops with
a one-line error naming it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from culturalign.engine import batch_files
from culturalign.errors import UserError
from culturalign.store import batches as stored
from culturalign.store.db import RunStore

if TYPE_CHECKING:
    from culturalign.engine.runner import Request


@dataclass
class ExportTarget:
    model_name: str
    path: Path
    written: int = 0
    stage: str | None = None
    batch_id: str | None = None


class BatchExported(Exception):  # noqa: N818 (a signal that stops the run, not a failure)
    """Raised once the export file is written: the run stops there, everything before kept."""

    def __init__(self, target: ExportTarget) -> None:
        super().__init__(f"{target.written} requests of {target.model_name} exported to {target.path}")
        self.target = target


_TARGET: ContextVar[ExportTarget | None] = ContextVar("culturalign_batch_export", default=None)


@contextmanager
def exporting(target: ExportTarget) -> Iterator[ExportTarget]:
    token = _TARGET.set(target)
    try:
        yield target
    finally:
        _TARGET.reset(token)


def current_export() -> ExportTarget | None:
    return _TARGET.get()


def export_pending(
    store: RunStore, stage: str, pending: dict[str, list[tuple[str, Request]]], target: ExportTarget
) -> None:
    """Write the target model's pending requests of this stage and stop the run (BatchExported).

    Called only when the stage has pending requests; if none are the target's, the run cannot
    reach the target's requests without asking another model first."""
    items = pending.get(target.model_name)
    if not items:
        waiting = ", ".join(sorted(pending))
        raise UserError(
            f"stage {stage!r} needs answers from {waiting} before {target.model_name!r} has anything to ask;"
            " run `culturalign run` for them (or export them) first"
        )
    write_export(store, stage, items, target)
    raise BatchExported(target)


def write_export(store: RunStore, stage: str, items: Sequence[tuple[str, Request]], target: ExportTarget) -> None:
    lines, records = batch_files.batch_contents(items)
    batch_id = "file-" + batch_files.batch_id_for(lines)
    stored.record_batch(store, batch_id, "file", target.model_name, records, status=stored.UPLOADED)
    batch_files.write_lines(target.path, lines)
    target.written, target.stage, target.batch_id = len(lines), stage, batch_id
