"""The store key: a hash of exactly what changes a model's output."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from culturalign.models.base import ChatMessage, GenerateConfig, ModelSpec


def request_key(model: ModelSpec, messages: Sequence[ChatMessage], params: GenerateConfig, sample_index: int) -> str:
    """sha256 over model identity, parameters, messages and sample index (language and persona
    live in the messages). Labels, limits and prices are left out: they never change a reply."""
    payload = {
        "model": model.identity(),
        "params": params.model_dump(exclude_none=True),
        "messages": [[m.role, m.content] for m in messages],
        "sample": sample_index,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
