"""The parse stage: split each response into its interviewee summaries, identify its language,
and keep or drop it with a reason.

Reasons, checked in this order: error (the call failed), empty, not_a_list (no numbered
list), too_few_summaries (a list shorter than the settings allow), wrong_language (not in the
prompt's language). The judge stage reads the kept responses' summaries from the results.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from culturalign.probes.registry import ParseCounts

if TYPE_CHECKING:
    from culturalign.probes.registry import RunContext

STAGE = "parse"
SOURCE_STAGE = "generate"
REASONS = ("error", "empty", "not_a_list", "too_few_summaries", "wrong_language")

# A list marker at the start of a line: optional quote/HTML/bullet/heading marks and emphasis,
# an optional word such as "Interview" or "Respondent" (or a CJK word such as 受访者 with no
# space before the number), an optional opening bracket, then the number in any script's
# decimal digits (ASCII, full-width, Arabic-Indic, Persian, Devanagari, Bengali, Thai ...)
# and ".", ")", ":", their full-width forms, the ideographic comma 、 or Urdu's ۔ (or closing
# emphasis). Group "num" is the number; int() reads every script's digits.
_CJK_WORD = r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{1,10}"
_MARKER = re.compile(
    rf"""^[ \t]*(?:>[ \t]*)*(?:<[A-Za-z][A-Za-z0-9]{{0,3}}>[ \t]*)*(?:[-*+•][ \t]+)?(?:\#{{1,6}}[ \t]*)?(?:[*_]{{1,3}}[ \t]*)?
        (?:[^\W\d_]{{2,20}}[ \t]+(?:\#[ \t]*)?|{_CJK_WORD}[ \t]*)?
        [(（]?(?P<num>\d{{1,2}})[ \t]*(?:[.):．）：、۔]|[*_]{{1,3}}[.):．）：、]?|[ \t]+[-–—]|(?=\n|$))(?!\d)""",
    re.MULTILINE | re.VERBOSE,
)
# Direction marks that right-to-left answers put in front of list markers; invisible, so
# removing them changes no summary (the zero-width non-joiner of Persian is kept).
_BIDI_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
# Scripts written without spaces between words: a summary is counted by characters there.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]")
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,10}(?:\s[^<>]{0,80})?/?>")
_HEADING_MARKS = re.compile(r"^[ \t]*(?:>[ \t]*)*(?:\#{1,6}[ \t]*)?", re.MULTILINE)
_QUOTES = "\"“”„«»'"


@dataclass
class ParsedResponse:
    kept: bool
    reason: str | None
    response_language: str | None
    summaries: list[str] = field(default_factory=list)
    n_summaries: int = 0

    def payload(self) -> dict[str, Any]:
        return asdict(self)


# -- splitting -----------------------------------------------------------------------------
def split_summaries(text: str, *, list_start: str = "", max_items: int | None = None) -> list[str]:
    """The numbered interviewee summaries of a response, cleaned of markdown, in order.

    Finds the longest run of list markers numbered 1, 2, 3, ... and takes the text between
    them. Preambles are ignored; after the last item only its first paragraph (with its
    content paragraph when that first one is a heading) is kept, so closing remarks drop out.
    `list_start` is what a completion prompt already wrote (e.g. "1."): it is put back when
    the continuation does not repeat it."""
    text = _BIDI_MARKS.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    if list_start and not _starts_with_first_marker(text):
        text = f"{list_start} {text.lstrip()}"
    chain = _longest_chain(
        [(m.start(), m.end(), int(m.group("num")), _indent(m.group(0))) for m in _MARKER.finditer(text)]
    )
    if not chain:
        return []
    summaries: list[str] = []
    for i, (_, body_start, _, _) in enumerate(chain):
        body_end = chain[i + 1][0] if i + 1 < len(chain) else len(text)
        body = text[body_start:body_end]
        if i + 1 == len(chain):
            body = _first_content_paragraphs(body)
        cleaned = clean_summary(body)
        if _has_content(cleaned):
            summaries.append(cleaned)
        elif i + 1 < len(chain):
            summaries.append(cleaned or "")  # keep numbering honest; empty ones are dropped below
    summaries = [s for s in summaries if s]
    return summaries[:max_items] if max_items else summaries


def _indent(marker: str) -> int:
    return len(marker.expandtabs(4)) - len(marker.expandtabs(4).lstrip(" "))


def _starts_with_first_marker(text: str) -> bool:
    match = _MARKER.search(text)
    return bool(match and int(match.group("num")) == 1 and not text[: match.start()].strip())


def _longest_chain(markers: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The longest sequence of markers numbered 1, 2, 3, ... in text order (the first on ties).

    Markers are (start, end, number, indent). Only markers at the indentation of the chain's
    "1" count, so a nested list inside an interview does not break or extend the chain; a
    new "1" at that indentation ends it (a numbered preamble before the interviews)."""
    best: list[tuple[int, int, int, int]] = []
    for start_index, first in enumerate(markers):
        if first[2] != 1:
            continue
        chain = [first]
        for candidate in markers[start_index + 1 :]:
            if candidate[3] != first[3]:
                continue
            if candidate[2] == 1:
                break
            if candidate[2] == chain[-1][2] + 1:
                chain.append(candidate)
        if len(chain) > len(best):
            best = chain
    return best


def _first_content_paragraphs(body: str) -> str:
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", body) if p.strip()]
    if not paragraphs:
        return ""
    kept = [paragraphs[0]]
    if len(paragraphs) > 1 and _is_heading(paragraphs[0]):
        kept.append(paragraphs[1])
    return "\n".join(kept)


def _is_heading(paragraph: str) -> bool:
    line = paragraph.strip()
    if "\n" in line:
        return False
    if line.rstrip("*_ ").endswith((":", "：")):
        return True
    if _UNSPACED.search(line):
        return len(line) <= 15  # one "word" per sentence there: judge by length
    return len(line.split()) <= 6


def clean_summary(body: str) -> str:
    """One summary as plain text: no emphasis marks, heading marks or enclosing quotes."""
    text = _HEADING_MARKS.sub("", body)
    text = _HTML_TAG.sub(" ", text)  # small models sometimes write <h2>, <li>, <b>
    text = _EMPHASIS.sub("", text)
    text = re.sub(r"^[ \t]*[.):．）：、۔\-–—]+[ \t]*", "", text)  # what is left of the marker
    text = re.sub(r"[ \t]*\n[ \t]*", " ", text.strip())
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    text = re.sub(r"^(?:-{3,}|\*{3,}|_{3,})$", "", text)
    while len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def _has_content(summary: str) -> bool:
    """A heading alone ("Mette, 25, barista:") or a cut-off stub is not a summary."""
    if summary.rstrip().endswith((":", "：")):
        return False
    words = re.findall(r"[^\W_]+", summary)
    return len(words) >= 3 or len(_UNSPACED.findall(summary)) >= 6


# -- language identification --------------------------------------------------------------
class LanguageIdentifier:
    """lingua, built once, restricted to a fixed set of candidate languages (fast and less
    prone to exotic confusions than the full set)."""

    def __init__(self, languages: Iterable[str]) -> None:
        from lingua import Language, LanguageDetectorBuilder

        by_code = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
        wanted = {code.lower() for code in languages}
        chosen = sorted({by_code[c] for c in wanted if c in by_code}, key=lambda lang: lang.name)
        if len(chosen) < 2:  # lingua needs two candidates to choose between
            chosen = sorted({*chosen, by_code["en"], by_code["de"]}, key=lambda lang: lang.name)
        self.codes = sorted(lang.iso_code_639_1.name.lower() for lang in chosen)
        self._detector = LanguageDetectorBuilder.from_languages(*chosen).build()

    def identify(self, text: str) -> str | None:
        sample = text[:2000]
        if not re.search(r"[^\W\d_]{2,}", sample):
            return None
        found = self._detector.detect_language_of(sample)
        return found.iso_code_639_1.name.lower() if found is not None else None


@cache
def identifier_for(languages: tuple[str, ...]) -> LanguageIdentifier:
    return LanguageIdentifier(languages)


# -- one response -----------------------------------------------------------------------------
def parse_response(
    text: str | None,
    *,
    expected_language: str,
    identifier: LanguageIdentifier,
    min_summaries: int,
    max_summaries: int | None = None,
    error: str | None = None,
    list_start: str = "",
) -> ParsedResponse:
    if error is not None or text is None:
        return ParsedResponse(False, "error", None)
    if not text.strip():
        return ParsedResponse(False, "empty", None)
    summaries = split_summaries(text, list_start=list_start, max_items=max_summaries)
    language = identifier.identify(" ".join(summaries) if summaries else text)
    result = ParsedResponse(True, None, language, summaries, len(summaries))
    if not summaries:
        result.kept, result.reason = False, "not_a_list"
    elif len(summaries) < min_summaries:
        result.kept, result.reason = False, "too_few_summaries"
    elif language != expected_language:
        result.kept, result.reason = False, "wrong_language"
    return result


# -- the stage --------------------------------------------------------------------------------
def parse_stage(ctx: RunContext) -> ParseCounts:
    settings = ctx.settings
    rows = ctx.store.requests_with_meta(ctx.run_id, SOURCE_STAGE)
    candidates = tuple(sorted({*ctx.config.languages, *settings.detector_languages}))
    identifier = identifier_for(candidates)
    results: list[tuple[str, dict[str, Any]]] = []
    for row in rows.iter_rows(named=True):
        if row.get("response") is None and row.get("error") is None:
            continue  # never answered (e.g. the run was stopped): the next run parses it
        parsed = parse_response(
            row["response"],
            expected_language=row["language"],
            identifier=identifier,
            min_summaries=settings.fewest_summaries(),
            max_summaries=int(row.get("interviewees") or settings.interviewees),
            error=row["error"],
            list_start=row.get("list_start") or "",
        )
        results.append((row["key"], parsed.payload()))
    ctx.store.save_results(ctx.run_id, STAGE, results)
    return summarize_reasons(payload for _, payload in results)


def summarize_reasons(payloads: Iterable[dict[str, Any]]) -> ParseCounts:
    """kept, dropped and the count per drop reason."""
    counts: Counter[str] = Counter()
    for payload in payloads:
        counts["parsed"] += 1
        counts["kept" if payload["kept"] else "dropped"] += 1
        if not payload["kept"]:
            counts[f"dropped_{payload['reason']}"] += 1
    return ParseCounts(
        parsed=counts["parsed"],
        kept=counts["kept"],
        dropped=counts["dropped"],
        dropped_by_reason={r: counts[f"dropped_{r}"] for r in REASONS},
    )
