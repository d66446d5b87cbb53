"""A rich progress bar per stage: done/total, rate and ETA, failures counted beside."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Answers per second, computed when the bar is drawn (a few times a second), not per answer."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "")


class StageProgress:
    def __init__(self, stage: str, total: int, done: int = 0, enabled: bool = True) -> None:
        self.stage = stage
        self.failed = 0
        self.done = done
        self.total = total
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            # Keep a final line in logs (CI, redirected output) rather than redrawing.
            transient=False,
            refresh_per_second=4 if sys.stderr.isatty() else 0.2,
        )
        self._task = self._progress.add_task(stage, total=total, completed=done, failed=0)

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def grow(self, total: int, done: int) -> None:
        """More requests became known (they stream in), `done` of them already answered."""
        self.total += total
        self.done += done
        if self.enabled:
            self._progress.update(self._task, total=self.total, completed=self.done)

    def advance(self, failed: bool = False) -> None:
        self.failed += int(failed)
        self.done += 1
        if self.enabled:
            self._progress.update(self._task, advance=1, failed=self.failed)
