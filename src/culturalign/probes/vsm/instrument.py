"""The VSM 2013 instrument: its structure (shipped) and its wording (never shipped).

Structure -- the 24 content items, five options each, and the six index formulas with the
manual's weights -- lives in `data/vsm/instrument.toml`. The wording is (c) Geert Hofstede BV,
so it comes at run time from one of two places:

1. `culturalign vsm fetch-instrument` downloads a public copy (pinned address and sha256)
   into the user cache. That file has no header and 7 columns per row: item text, the five
   option labels in answer order, and a placeholder; row i is item i. Some texts hold a
   literal backslash-n between the block instruction and the item, and some labels carry
   trailing spaces; both are cleaned when read.
2. A file of your own (Hofstede's questionnaire or an official translation), as CSV:

       item,text,option_1,option_2,option_3,option_4,option_5,language
       1,"<item text>","<label of answer 1>",...,"<label of answer 5>",en

   `item` is 1..24, `option_k` is the label of answer k, `language` (ISO 639-1, optional,
   default en) says which language the row is written in. One file may hold several
   languages; each language present must have all 24 items with five non-empty options.
   A language given this way is used as is; other prompt languages are translated.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from culturalign import paths
from culturalign.errors import ConfigError, DataError
from culturalign.languages import check_language
from culturalign.sources import download

INSTRUMENT_URL = (
    "https://raw.githubusercontent.com/flowersteam/value_stability/"
    "307a2ea9ad4e8cfb7148d9a97b9a75f6779ade74/data_hofstede/test/hofstede_test.csv"
)
INSTRUMENT_SHA256 = "1a39b540e5634479e6d7281cb29e01aeead5998824ee34d4ea131b5c9c6a4919"
INSTRUMENT_FILENAME = "vsm2013-items-en.csv"
CACHE_SUBDIR = "vsm"

NOTICE = (
    "The Values Survey Module 2013 is (c) Geert Hofstede BV (rights@geerthofstede.nl). Its manual "
    "states it may not be copied in whole or in part without the copyright holder's written permission; "
    "the official questionnaire, manual and translations are distributed at "
    "https://geerthofstede.com/research-and-vsm/vsm-2013/. The copy downloaded here is the English "
    "text as held in a public research repository (flowersteam/value_stability, MIT-licensed code; that "
    "license does not cover Hofstede's text). It is stored only in your user cache for your own research "
    "use; check the VSM 2013 conditions of use before publishing or redistributing it."
)

DOCUMENTED_COLUMNS = ("item", "text", "option_1", "option_2", "option_3", "option_4", "option_5")


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    column: str  # column of Hofstede's published table
    terms: tuple[tuple[float, int, int], ...]  # (weight, item added, item subtracted)

    @property
    def half_range(self) -> float:
        """Largest |index - C|: item means lie in 1..5, so each difference lies in -4..4."""
        return sum(abs(weight) * 4 for weight, _, _ in self.terms)


@dataclass(frozen=True)
class Structure:
    n_items: int
    n_options: int
    scales: dict[int, str]
    dimensions: tuple[Dimension, ...]
    default_constants: dict[str, float]

    @property
    def dimension_keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dimensions)

    @property
    def items(self) -> tuple[int, ...]:
        return tuple(range(1, self.n_items + 1))


@cache
def load_structure() -> Structure:
    data = tomllib.loads(paths.package_data("vsm", "instrument.toml").read_text(encoding="utf-8"))
    dimensions = tuple(
        Dimension(key, spec["label"], spec["column"], tuple((float(w), int(a), int(b)) for w, a, b in spec["terms"]))
        for key, spec in data["dimensions"].items()
    )
    return Structure(
        n_items=int(data["n_items"]),
        n_options=int(data["n_options"]),
        scales={int(k): v for k, v in data["items"].items()},
        dimensions=dimensions,
        default_constants={k: float(v) for k, v in data["default_constants"].items()},
    )


@dataclass(frozen=True)
class ItemText:
    item: int
    text: str
    options: tuple[str, ...]
    language: str


# language -> item -> wording
Wording = dict[str, dict[int, ItemText]]


def _clean(text: str) -> str:
    # The public copy writes line breaks as a literal backslash-n.
    return text.replace("\\n", "\n").strip()


def _parse_documented(rows: list[list[str]], name: str) -> list[ItemText]:
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in DOCUMENTED_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"instrument {name} misses the column(s) {', '.join(missing)}; "
            "expected item,text,option_1..option_5[,language]"
        )
    extra_options = [h for h in header if h.startswith("option_") and h not in DOCUMENTED_COLUMNS]
    if extra_options:
        raise DataError(f"instrument {name} has {5 + len(extra_options)} option columns; every item has exactly 5")
    at = {h: i for i, h in enumerate(header)}
    out = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise DataError(f"instrument {name} line {line_no} has {len(row)} fields, the header {len(header)}")
        try:
            item = int(row[at["item"]])
        except ValueError:
            raise DataError(
                f"instrument {name} line {line_no}: item {row[at['item']]!r} is not a number 1-24"
            ) from None
        language = row[at["language"]].strip() if "language" in at and row[at["language"]].strip() else "en"
        options = tuple(_clean(row[at[f"option_{k}"]]) for k in range(1, 6))
        out.append(ItemText(item, _clean(row[at["text"]]), options, _language(language, name)))
    return out


def _language(code: str, name: str) -> str:
    try:
        return check_language(code)
    except ConfigError as exc:
        raise DataError(f"instrument {name}: {exc}") from None


def _parse_public_copy(rows: list[list[str]], name: str, n_options: int) -> list[ItemText]:
    out = []
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    for number, row in enumerate(rows, start=1):
        # text, 5 labels, and an optional trailing placeholder column
        if len(row) not in (n_options + 1, n_options + 2):
            raise DataError(
                f"instrument {name} row {number} has {len(row) - 1} option fields; "
                f"every item needs exactly {n_options} options (text, then option 1..{n_options})"
            )
        options = tuple(_clean(cell) for cell in row[1 : n_options + 1])
        out.append(ItemText(number, _clean(row[0]), options, "en"))
    return out


def read_instrument_file(path: str | Path) -> Wording:
    """Read a wording file (either layout, see the module docstring) and check it is complete."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"instrument file not found: {path}; pass a CSV as documented in `culturalign vsm fetch-instrument --help`"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"instrument {path.name} is not UTF-8 text; save it as UTF-8 CSV") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DataError(f"instrument {path.name} is empty")
    structure = load_structure()
    if rows[0] and rows[0][0].strip().lower() == "item":
        items = _parse_documented(rows, path.name)
    else:
        items = _parse_public_copy(rows, path.name, structure.n_options)
    return _check_complete(items, path.name, structure)


def _check_complete(items: list[ItemText], name: str, structure: Structure) -> Wording:
    wording: Wording = {}
    for it in items:
        if it.item not in structure.items:
            raise DataError(f"instrument {name}: item {it.item} is not a VSM 2013 content item (1-{structure.n_items})")
        if not it.text:
            raise DataError(f"instrument {name}: item {it.item} ({it.language}) has no text")
        empty = [k for k, label in enumerate(it.options, start=1) if not label]
        if len(it.options) != structure.n_options or empty:
            raise DataError(
                f"instrument {name}: item {it.item} ({it.language}) needs {structure.n_options} non-empty options; "
                f"option(s) {', '.join(map(str, empty))} are empty"
            )
        per_language = wording.setdefault(it.language, {})
        if it.item in per_language:
            raise DataError(f"instrument {name}: item {it.item} ({it.language}) appears twice")
        per_language[it.item] = it
    for language, per_language in wording.items():
        missing = [i for i in structure.items if i not in per_language]
        if missing:
            raise DataError(
                f"instrument {name}: language {language} misses item(s) {', '.join(map(str, missing))}; "
                f"all {structure.n_items} content items are needed"
            )
    return wording


def merge_wordings(wordings: list[Wording]) -> Wording:
    """Later files win for a language they both give (an official translation over a fetched copy)."""
    merged: Wording = {}
    for wording in wordings:
        merged.update(wording)
    return merged


def fetched_instrument_path() -> Path:
    return paths.cache_subdir(CACHE_SUBDIR) / INSTRUMENT_FILENAME


def fetch_instrument(url: str | None = None, *, force: bool = False) -> Path:
    """Download the pinned public copy into the user cache (checked against its sha256)."""
    return download.fetch_pinned(
        url or INSTRUMENT_URL, INSTRUMENT_SHA256, INSTRUMENT_FILENAME, CACHE_SUBDIR, force=force
    )


def load_wording(files: Sequence[str | Path]) -> Wording:
    """The wording a run uses: the given files, or else the fetched copy in the user cache."""
    if files:
        return merge_wordings([read_instrument_file(f) for f in files])
    fetched = fetched_instrument_path()
    if not fetched.is_file():
        raise DataError(
            "the VSM 2013 wording is not available: run `culturalign vsm fetch-instrument` once, "
            "or list your own wording files under instrument in the vsm section of the experiment"
        )
    return read_instrument_file(fetched)


def wording_rows(wording: Wording) -> list[dict[str, object]]:
    """Rows in the documented CSV layout, for export and review."""
    rows = []
    for language in sorted(wording):
        for item in sorted(wording[language]):
            it = wording[language][item]
            row: dict[str, object] = {"item": it.item, "text": it.text}
            row.update({f"option_{k}": label for k, label in enumerate(it.options, start=1)})
            row["language"] = language
            rows.append(row)
    return rows
