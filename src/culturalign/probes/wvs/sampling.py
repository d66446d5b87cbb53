"""Which (item, topic paraphrase, template) combinations a language is asked, drawn from the seed.

The draw depends only on the seed, the language, the items and how many paraphrases and
templates there are, so the same experiment always asks the same prompts, and every model
of a language gets the same ones. Balance: items differ in count by at most one, each
item's paraphrases by at most one, and templates overall by at most one.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptDraw:
    language: str
    prompt_index: int  # position in the language's sample: --limit keeps the first ones
    item: str
    paraphrase_id: int
    template_index: int  # index into the language's chat templates (completion frames wrap around)
    repeat: int  # how many identical draws came before this one: the request's sample index


def sample_prompts(
    *,
    language: str,
    seed: int,
    n_prompts: int,
    paraphrase_counts: Mapping[str, int],
    n_templates: int,
) -> list[PromptDraw]:
    """Draw `n_prompts` prompts for one language, balanced over items, paraphrases and templates."""
    items = sorted(paraphrase_counts)
    if not items or n_templates < 1 or n_prompts < 1:
        return []
    if any(count < 1 for count in paraphrase_counts.values()):
        raise ValueError("every item needs at least one topic phrase")
    rng = random.Random(f"culturalign-wvs-prompts:{seed}:{language}")
    per_item = _allocate(items, n_prompts, rng)
    template_order = list(range(n_templates))
    rng.shuffle(template_order)

    draws: list[tuple[str, int, int]] = []
    drawn = 0
    for item in items:
        phrase_order = list(range(paraphrase_counts[item]))
        rng.shuffle(phrase_order)
        for k in range(per_item[item]):
            phrase = phrase_order[k % len(phrase_order)]
            template = template_order[drawn % n_templates]
            draws.append((item, phrase, template))
            drawn += 1
    rng.shuffle(draws)  # interleave items, so that a limited run still spans many of them

    seen: Counter[tuple[str, int, int]] = Counter()
    result = []
    for index, combo in enumerate(draws):
        result.append(PromptDraw(language, index, combo[0], combo[1], combo[2], seen[combo]))
        seen[combo] += 1
    return result


def _allocate(items: Sequence[str], n_prompts: int, rng: random.Random) -> dict[str, int]:
    base, extra = divmod(n_prompts, len(items))
    lucky = set(rng.sample(list(items), extra))
    return {item: base + (item in lucky) for item in items}
