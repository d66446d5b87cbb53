"""Splitting a response into its numbered interviewee summaries, numbered as the response does.

The wvs parse stage has its own splitter for the pipeline; this small one lets the judge's
validation line its labels up with hand labels that name interviewees by the response's
own numbers ("3." is interviewee 3), whatever markdown surrounds the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "1." / "1)" at the start of a line, optionally inside bullets, headings or bold markers.
_ITEM_START = re.compile(r"^[ \t]*(?:[-*#>]+[ \t]*)?(?:\*\*|__)?[ \t]*(\d{1,2})[ \t]*[.)](?!\d)", re.MULTILINE)


@dataclass(frozen=True)
class Summary:
    number: int
    text: str


def numbered_items(response: str) -> list[Summary]:
    """The numbered list items of a response, in order; empty when the response has none."""
    starts = list(_ITEM_START.finditer(response))
    summaries: list[Summary] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(response)
        body = response[match.end() : end]
        if index + 1 == len(starts):
            body = _drop_closing_remarks(body)
        text = _clean(body)
        if text:
            summaries.append(Summary(number=int(match.group(1)), text=text))
    return summaries


def _drop_closing_remarks(body: str) -> str:
    """The last item ends where the response's closing paragraph begins."""
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    if not paragraphs:
        return ""
    if _is_heading(paragraphs[0]) and len(paragraphs) > 1:
        return "\n".join(paragraphs[:2])
    return paragraphs[0]


def _is_heading(paragraph: str) -> bool:
    """A heading such as "**Maria, 28, teacher:**" whose text follows in the next paragraph."""
    stripped = paragraph.strip()
    bolded = stripped.startswith(("**", "__")) and stripped.endswith(("**", "__"))
    return bolded or _clean(stripped).endswith(":") or not _clean(stripped)


def _clean(text: str) -> str:
    text = re.sub(r"(\*\*|__)", "", text)
    return " ".join(text.split()).strip(" \"'“”")
