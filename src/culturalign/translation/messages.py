"""The translation prompt and the clean-up of its answer, shared by every probe.

The instructions go in the system message and the text alone in the user message, so a
model answers with the translation only (and the mock backend's echo mode returns the text
unchanged, which is what the tests rely on).
"""

from __future__ import annotations

from culturalign.languages import language_name
from culturalign.models.base import ChatMessage

_INSTRUCTIONS = (
    "You translate survey materials from English into {language}. Translate the user's text faithfully and "
    "naturally, as a native speaker would write it. Keep every placeholder in curly braces, such as {{n}} and "
    "{{topic}}, exactly as it is, and keep line breaks and numbering. Answer with the translation only."
)


def translation_messages(text: str, language: str) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=_INSTRUCTIONS.format(language=language_name(language))),
        ChatMessage(role="user", content=text),
    ]


def clean_translation(text: str) -> str:
    """Strip what chat models wrap around a translation: whitespace and enclosing quotes."""
    text = text.strip()
    for left, right in (('"', '"'), ("“", "”"), ("«", "»"), ("'", "'")):
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            text = text[1:-1].strip()
    return text
