"""Asking the translator model, through the engine and the run store like any other call.

A translation request is an ordinary `Request`: its key hashes the translator's identity,
its parameters and the messages (which hold the target language and the text), so a changed
translator or parameter means new calls, a resumed run asks only what has no stored answer,
and the same text asked by two probes or two runs is asked once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from culturalign.engine.runner import Request, run_requests
from culturalign.models.base import GenerateConfig, ModelSpec
from culturalign.store.db import RunStore
from culturalign.translation.messages import clean_translation, translation_messages
from culturalign.translation.texts import Resolved, SourceText, TextId, lost_placeholders, resolve

STAGE = "translate"


@dataclass(frozen=True)
class Translator:
    """The model that translates, and the answer length a probe allows it."""

    model: ModelSpec
    max_tokens: int | None = None

    def params(self) -> GenerateConfig:
        return GenerateConfig(temperature=0.0, max_tokens=self.max_tokens).merged(self.model.params)

    def request(self, text: SourceText) -> Request:
        meta = {"probe": text.probe, "language": text.language, "key": text.key}
        return Request(self.model, tuple(translation_messages(text.source, text.language)), self.params(), 0, meta)


@dataclass(frozen=True)
class TranslationJob:
    """What a probe needs translated for an experiment, and by which model (None: no translator)."""

    translator: Translator | None
    texts: list[SourceText]


@dataclass
class Translated:
    resolved: list[Resolved]
    failed: list[str] = field(default_factory=list)  # "language key: reason"
    counts: dict[str, int] = field(default_factory=dict)  # the engine's, when anything was asked

    def by_id(self) -> dict[TextId, Resolved]:
        return {r.text.id: r for r in self.resolved}


def pending_requests(job: TranslationJob) -> list[Request]:
    """The translator's requests for the texts that no reviewed or given translation covers
    (what a run asks unless the store already holds the answers; also what a dry run counts)."""
    if job.translator is None:
        return []
    return [job.translator.request(r.text) for r in resolve(job.texts) if r.origin == "missing"]


def translate(
    store: RunStore,
    run_id: str,
    translator: Translator | None,
    texts: Sequence[SourceText],
    *,
    ask: bool = True,
    show_progress: bool = True,
) -> Translated:
    """Resolve every text; ask the translator (with `ask`) for those nothing else provides."""
    first = resolve(texts)
    wanted = [r.text for r in first if r.origin == "missing"]
    if translator is None or not wanted:
        return Translated(first)
    counts: dict[str, int] = {}
    if ask:
        requests = pending_requests(TranslationJob(translator, list(texts)))
        counts = run_requests(store, run_id, STAGE, requests, show_progress=show_progress)
    machine, failed = stored_translations(store, translator, wanted)
    return Translated(resolve(texts, machine), failed, counts)


def stored_translations(
    store: RunStore, translator: Translator, texts: Sequence[SourceText]
) -> tuple[dict[TextId, str], list[str]]:
    """The translator's usable stored answers for these texts, and why the others are unusable."""
    keys = {t.id: translator.request(t).key for t in texts}
    calls = store.get_calls(sorted(set(keys.values())))
    machine: dict[TextId, str] = {}
    failed: list[str] = []
    for text in texts:
        call = calls.get(keys[text.id])
        if call is None:
            continue
        answer = clean_translation(call.response or "") if call.ok else ""
        lost = lost_placeholders(text, answer)
        if not call.ok:
            failed.append(f"{text.language} {text.key}: {call.error}")
        elif lost or not answer:
            failed.append(f"{text.language} {text.key}: the translation lost {' and '.join(lost) or 'its text'}")
        else:
            machine[text.id] = answer
    return machine, failed
