"""Model backends behind one async contract: messages and parameters in; text, usage and error out."""

from culturalign.models.base import (
    ChatMessage,
    GenerateConfig,
    ModelBackend,
    ModelOutput,
    ModelSpec,
)
from culturalign.models.registry import get_backend, register_backend

__all__ = [
    "ChatMessage",
    "GenerateConfig",
    "ModelBackend",
    "ModelOutput",
    "ModelSpec",
    "get_backend",
    "register_backend",
]
