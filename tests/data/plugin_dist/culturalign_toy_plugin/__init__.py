"""A third-party plugin: a backend that answers by counting words, and a probe that asks it.

It uses only culturalign's public contracts (ModelBackend, Probe, Stage, run_requests and
the run store), as a package installed beside culturalign would.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import ChatMessage, GenerateConfig, ModelBackend, ModelOutput
from culturalign.probes.registry import CallCounts, Probe, RunContext, Stage, StageResult

QUESTIONS = ("How many words are in this question?", "And in this one, which is longer?")


class ToyBackend(ModelBackend):
    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        return ModelOutput(text=str(len(messages[-1].content.split())))


class ToySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repeats: int = 1


def plan(experiment) -> list[Request]:
    return [
        Request(model, (ChatMessage(role="user", content=q),), GenerateConfig(temperature=0.0), r, {"question": q})
        for model in experiment.config.models
        for q in QUESTIONS
        for r in range(experiment.settings.repeats)
    ]


def ask(ctx: RunContext) -> CallCounts:
    return CallCounts.of(run_requests(ctx.store, ctx.run_id, "ask", plan(ctx.experiment), show_progress=False))


def score(ctx: RunContext) -> StageResult:
    answers = ctx.store.requests_with_meta(ctx.run_id, "ask")
    ctx.store.save_results(
        ctx.run_id,
        "score",
        [(row["key"], {"words": int(row["response"])}) for row in answers.iter_rows(named=True)],
    )
    return StageResult()


PROBE = Probe(
    name="toy",
    description="counts the words of two questions",
    settings_model=ToySettings,
    stages=(Stage("ask", ask), Stage("score", score)),
    plan=plan,
)
