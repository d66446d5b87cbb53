"""The floor every real judge must beat: one label for every interviewee."""

from __future__ import annotations

from collections.abc import Sequence

from culturalign.judge.stance import JudgeVerdict, StanceTask


class ConstantJudge:
    def __init__(self, label: str) -> None:
        self.label = label
        self.name = f"always-{label}"

    def judge_tasks(self, tasks: Sequence[StanceTask]) -> list[JudgeVerdict]:
        return [
            JudgeVerdict(labels=(self.label,) * len(t.summaries))
            if t.summaries
            else JudgeVerdict(failure="no summaries")
            for t in tasks
        ]
