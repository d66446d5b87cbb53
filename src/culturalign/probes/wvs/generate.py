"""The generation stage: hypothetical-survey prompts for every model and language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from culturalign.engine.runner import Request, run_requests
from culturalign.errors import DataError
from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec
from culturalign.probes.registry import CallCounts
from culturalign.probes.wvs.sampling import PromptDraw, sample_prompts
from culturalign.probes.wvs.sources.codebook import load_codebook
from culturalign.prompts.translate import translate_missing
from culturalign.prompts.translations import (
    LanguagePrompts,
    language_prompts,
    missing_entries,
    source_fallback_prompts,
    translation_table,
)

if TYPE_CHECKING:
    from culturalign.config import Experiment
    from culturalign.probes.registry import RunContext

STAGE = "generate"


def load_experiment_codebook(experiment: Experiment) -> Any:
    path = experiment.settings.codebook
    if path is not None and not path.is_absolute() and experiment.source is not None:
        path = experiment.source.parent / path
    return load_codebook(path)


def experiment_items(experiment: Experiment, codebook: Any) -> list[str]:
    return [item.key for item in codebook.select(experiment.settings.items)]


def check_languages(experiment: Experiment, codebook: Any, items: list[str]) -> None:
    """Stop before any model call when a language cannot be asked or judged: the codebook lacks
    its texts (and no translator is set) or the offline judge has no cue list for it."""
    from culturalign.probes.wvs.judge.candidates.lexicon import require_cue_lists
    from culturalign.probes.wvs.judge.quality import default_judge_name

    if experiment.settings.translator is None:
        for language in experiment.config.languages:
            codebook.require_language(language, items)
    judges = list(experiment.config.judges)
    offline = [j.model or j.name for j in judges if j.backend == "embedded"] if judges else [default_judge_name()]
    if "lexicon" in offline:
        require_cue_lists(list(experiment.config.languages))


def prepare_languages(experiment: Experiment, *, translate: bool) -> dict[str, LanguagePrompts]:
    """Each language's templates and topics; translates what is missing when `translate` is set.

    Without `translate` (plans, dry runs) English stands in for what the translator would
    translate, which is good enough for counting requests and tokens."""
    codebook = load_experiment_codebook(experiment)
    items = experiment_items(experiment, codebook)
    check_languages(experiment, codebook, items)
    translator = experiment.settings.translator
    prepared: dict[str, LanguagePrompts] = {}
    for language in experiment.config.languages:
        if not translate:
            if translator is None:
                language_prompts(language, codebook, items)  # a gap nobody can fill stops the plan too
            prepared[language] = source_fallback_prompts(language, codebook, items)
            continue
        if translator is not None and missing_entries(translation_table(language, codebook, items)):
            report = translate_missing(language, translator, codebook, items)
            if report.failed:
                raise DataError(
                    f"{len(report.failed)} text(s) could not be translated into {language} "
                    f"(first: {report.failed[0]}); fill them in with `culturalign translations export "
                    f"--language {language}` and `culturalign translations import`"
                )
        prepared[language] = language_prompts(language, codebook, items)
    return prepared


def build_requests(experiment: Experiment, *, translate: bool = True) -> list[Request]:
    """Every generation request of the experiment, in an order that a --limit cuts fairly:
    prompt by prompt, each across languages and models."""
    settings = experiment.settings
    prepared = prepare_languages(experiment, translate=translate)
    draws: dict[str, list[PromptDraw]] = {}
    for language, prompts in prepared.items():
        draws[language] = sample_prompts(
            language=language,
            seed=experiment.config.seed,
            n_prompts=settings.prompts_per_language,
            paraphrase_counts={item: len(phrases) for item, phrases in prompts.topics.items()},
            n_templates=len(prompts.templates.chat),
        )
    requests: list[Request] = []
    for index in range(settings.prompts_per_language):
        for language, prompts in prepared.items():
            if index >= len(draws[language]):
                continue
            draw = draws[language][index]
            for model in experiment.config.models:
                requests.append(_request(draw, prompts, model, settings.interviewees, settings.generation))
    return requests


def _request(draw: PromptDraw, prompts: LanguagePrompts, model: ModelSpec, n: int, defaults: GenerateConfig) -> Request:
    kind = "completion" if model.prompt_style == "completion" else "chat"
    choices = prompts.templates.of_kind(kind)
    template = choices[draw.template_index % len(choices)]
    topic = prompts.templates.adapt_topic(prompts.topics[draw.item][draw.paraphrase_id])
    meta = {
        "item": draw.item,
        "language": draw.language,
        "template_id": template.key,
        "paraphrase_id": draw.paraphrase_id,
        "prompt_index": draw.prompt_index,
        "topic": topic,
        "model": model.name,
        "family": model.family,
        "prompt_style": model.prompt_style,
        "list_start": template.list_start,
        "interviewees": n,
    }
    messages = (ChatMessage(role="user", content=template.render(n=n, topic=topic)),)
    params = defaults.merged(model.params)
    if params.seed is not None and draw.repeat:
        # A fixed sampling seed would make every repeat of a prompt the same answer.
        params = params.model_copy(update={"seed": params.seed + draw.repeat})
    return Request(model, messages, params, draw.repeat, meta)


def limit_requests(requests: list[Request], limit: int | None) -> list[Request]:
    return requests if limit is None else requests[:limit]


def plan(experiment: Experiment) -> list[Request]:
    """The generation requests a run would send (for --dry-run), without translating anything."""
    return limit_requests(build_requests(experiment, translate=False), experiment.config.limit)


def generate_stage(ctx: RunContext) -> CallCounts:
    limit = ctx.limit if ctx.limit is not None else ctx.config.limit
    requests = limit_requests(build_requests(ctx.experiment, translate=True), limit)
    return CallCounts.of(run_requests(ctx.store, ctx.run_id, STAGE, requests, show_progress=ctx.show_progress))
