"""A rich progress bar per stage: done/total, rate and ETA, failures counted beside.

Rate and ETA come from the stage's own pace (answers this session / time since it started),
not only from rich's estimate over its last 30 seconds, which goes blank when a slow local
server answers minutes apart: exactly when the user most wants to know how long is left.
"""

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
)
from rich.text import Text

console = Console(stderr=True)


def _answered_here(task: Task) -> float:
    """Answers that arrived since this bar started (stored answers it began with do not count)."""
    return task.completed - task.fields.get("start_done", 0)


def session_rate(task: Task) -> float | None:
    """Answers per second: rich's recent estimate, else the average since the stage started."""
    if task.finished_speed or task.speed:
        return task.finished_speed or task.speed
    answered, elapsed = _answered_here(task), task.elapsed
    return answered / elapsed if answered > 0 and elapsed else None


def format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class RateColumn(ProgressColumn):
    """Answers per second (per minute when slower), computed when the bar is drawn, not per answer."""

    def render(self, task: Task) -> Text:
        rate = session_rate(task)
        if not rate:
            return Text("")
        return Text(f"{rate:.1f}/s" if rate >= 0.1 else f"{rate * 60:.1f}/min")


class EtaColumn(ProgressColumn):
    """Time left at the stage's own average pace; before the first answer, says it is waiting."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("ETA 0:00:00")
        answered, elapsed, remaining = _answered_here(task), task.elapsed, task.remaining
        if answered <= 0 or not elapsed or remaining is None:
            return Text("ETA: waiting for the first answer")
        return Text(f"ETA {format_eta(elapsed / answered * remaining)}")


class StageProgress:
    def __init__(self, stage: str, total: int, done: int = 0, enabled: bool = True) -> None:
        self.stage = stage
        self.failed = 0
        self.done = done
        self.total = total
        self.enabled = enabled
        self._stored = done
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            EtaColumn(),
            console=console,
            disable=not enabled,
            # Keep a final line in logs (CI, redirected output) rather than redrawing.
            transient=False,
            refresh_per_second=4 if sys.stderr.isatty() else 0.2,
        )
        self._task = self._progress.add_task(stage, total=total, completed=done, failed=0, start_done=done)

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def grow(self, total: int, done: int) -> None:
        """More requests became known (they stream in), `done` of them already answered."""
        self.total += total
        self.done += done
        self._stored += done  # answers found in the store are not this session's pace
        if self.enabled:
            self._progress.update(self._task, total=self.total, completed=self.done, start_done=self._stored)

    def advance(self, failed: bool = False) -> None:
        self.failed += int(failed)
        self.done += 1
        if self.enabled:
            self._progress.update(self._task, advance=1, failed=self.failed)
