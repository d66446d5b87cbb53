"""The item codebook: survey items with their scales, pro answers and texts per language.

The codebook is data (`data/codebooks/wvs.toml`, with the texts of every language but
English in `data/codebooks/wvs/<language>.toml`); users may load their own file with the
same layout (a folder beside the file, named after it, holds its per-language files). Two codings of "pro" exist: `explicit` uses each item's listed pro answers;
`released` applies the rule of the paper's released processing to the scale maximum seen
in the data, so the published tables can be rebuilt exactly.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from culturalign import paths
from culturalign.errors import ConfigError, UserError
from culturalign.probes.wvs.sources.codebook_texts import merge_language_files

Coding = Literal["explicit", "released"]
CODINGS: tuple[str, ...] = ("explicit", "released")
DEFAULT_CODEBOOK = "codebooks/wvs.toml"
_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class Scale(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = 1
    max: int
    low_label: str | None = Field(default=None, description="meaning of the answer `min`")
    high_label: str | None = Field(default=None, description="meaning of the answer `max`")

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min < 1 or self.max <= self.min:
            raise ValueError(f"needs 1 <= min < max, got {self.min}-{self.max}")
        return self


class ItemTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic: str = Field(min_length=2, description="two characters at least: a CJK topic can be one word of two")
    paraphrases: list[str] = Field(min_length=1)
    pro: str = Field(min_length=3, description="a statement a pro answer agrees with")
    con: str = Field(min_length=3, description="a statement a con answer agrees with")

    @field_validator("paraphrases")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if any(not p.strip() for p in value) or len(set(value)) != len(value):
            raise ValueError("paraphrases must be distinct and non-empty")
        return value


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    label: str = Field(min_length=3)
    column: str | None = Field(default=None, description="survey column; default: the key in upper case")
    scale: Scale
    pro_answers: list[int] = Field(min_length=1)
    missing_at_or_below: int = Field(default=0, description="answers at or below this are missing")
    missing_codes: list[int] = Field(default_factory=list, description="further answers treated as missing")
    released_reversed: bool = Field(default=False, description="the released rule counts the other side as pro")
    text: dict[str, ItemTexts]

    @field_validator("key")
    @classmethod
    def _key_format(cls, value: str) -> str:
        if not _KEY_PATTERN.match(value):
            raise ValueError(f"key {value!r} must be lower-case letters, digits and _")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        outside = [a for a in self.pro_answers if not self.scale.min <= a <= self.scale.max]
        if outside:
            raise ValueError(f"pro_answers: {outside} lie outside the scale {self.scale.min}-{self.scale.max}")
        if len(set(self.pro_answers)) == self.scale.max - self.scale.min + 1:
            raise ValueError("pro_answers: they cover every answer; leave at least one con answer")
        if "en" not in self.text:
            raise ValueError("text: needs at least an English [text.en] entry")
        return self

    @property
    def survey_column(self) -> str:
        return self.column or self.key.upper()

    def texts(self, lang: str) -> ItemTexts:
        found = self.text.get(lang.lower())
        if found is None:
            raise UserError(f"item {self.key} has no texts in language {lang!r}; it has {', '.join(sorted(self.text))}")
        return found

    def topic(self, lang: str = "en") -> str:
        return self.texts(lang).topic

    def paraphrases(self, lang: str = "en") -> list[str]:
        """Alternative phrasings of the topic (the topic itself not included)."""
        return list(self.texts(lang).paraphrases)

    def topic_variants(self, lang: str = "en") -> list[str]:
        """The topic followed by its paraphrases."""
        return [self.topic(lang), *self.paraphrases(lang)]

    def pro_statement(self, lang: str = "en") -> str:
        return self.texts(lang).pro

    def con_statement(self, lang: str = "en") -> str:
        return self.texts(lang).con

    def is_missing(self, answer: float | int | None) -> bool:
        return (
            answer is None
            or answer != answer
            or answer <= self.missing_at_or_below
            or int(answer) in self.missing_codes
        )

    def pro_answers_for(self, coding: Coding = "explicit", scale_max: int | None = None) -> frozenset[int]:
        """The answers counted as pro. `released` needs the scale maximum (read from the data;
        the codebook's maximum when not given) and returns the set among answers 1..max."""
        if coding == "explicit":
            return frozenset(self.pro_answers)
        if coding != "released":
            raise UserError(f"unknown coding {coding!r}; use one of {', '.join(CODINGS)}")
        top = int(scale_max if scale_max is not None else self.scale.max)
        answers = range(1, top + 1)
        pro = {a for a in answers if released_rule_is_pro(a, top)}
        if self.released_reversed:
            pro = set(answers) - pro
        return frozenset(pro)

    def is_pro(
        self, answer: float | int | None, coding: Coding = "explicit", scale_max: int | None = None
    ) -> bool | None:
        """True for a pro answer, False for a con answer, None for a missing one."""
        if answer is None or self.is_missing(answer):
            return None
        if coding == "explicit" and not self.scale.min <= answer <= self.scale.max:
            return None
        return int(answer) in self.pro_answers_for(coding, scale_max)


def released_rule_is_pro(answer: int, scale_max: int) -> bool:
    """The released processing: max 3 -> 1 is pro; max 10 -> above 5; otherwise up to max // 2."""
    if scale_max == 3:
        return answer == 1
    if scale_max == 10:
        return answer > 5
    return answer <= scale_max // 2


class LanguageMeta(BaseModel):
    """How one language's texts were produced and reviewed (shown in the README and reports)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    produced_by: str = Field(min_length=3)
    reviewed_by: str = Field(min_length=3, description="who checked the texts; 'not yet reviewed' when nobody has")
    review_notes: str = ""

    @property
    def reviewed(self) -> bool:
        return not self.reviewed_by.lower().startswith("not yet")


class CodebookFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    languages: dict[str, LanguageMeta] = Field(default_factory=dict)
    items: dict[str, Item] = Field(min_length=1)


class Codebook:
    """A validated codebook. Items keep the file's order."""

    def __init__(self, data: CodebookFile, source: Path | None = None) -> None:
        self.name = data.name
        self.description = data.description
        self.source = source
        self._items = dict(data.items)
        self._meta = dict(data.languages)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[Item]:
        return list(self._items.values())

    def item(self, key: str) -> Item:
        found = self._items.get(key.strip().lower())
        if found is None:
            raise UserError(f"unknown item {key!r}; the codebook {self.name} has: {', '.join(self._items)}")
        return found

    def select(self, keys: list[str] | None) -> list[Item]:
        """The named items (all when None); an unknown key is a one-line error."""
        return self.items() if not keys else [self.item(k) for k in keys]

    def languages(self) -> list[str]:
        """Languages in which every item has its texts."""
        shared = set.intersection(*(set(i.text) for i in self._items.values()))
        return sorted(shared)

    def language_meta(self, language: str) -> LanguageMeta | None:
        """How a language's texts were produced and reviewed (None when the codebook does not say)."""
        return self._meta.get(language.lower())

    def require_language(self, language: str, keys: list[str] | None = None) -> None:
        """A one-line error naming the language and the first item that lacks its texts."""
        lacking = [item.key for item in self.select(keys) if language.lower() not in item.text]
        if lacking:
            raise UserError(
                f"the codebook {self.name} has no {language} texts for item {lacking[0]}"
                f"{f' (nor for {len(lacking) - 1} more)' if len(lacking) > 1 else ''}; "
                f"add them (see docs/adding-a-language.md) or set a translator model in the [wvs] section"
            )

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items


def _with_keys(raw: dict) -> dict:
    """Items are tables keyed by their key; copy the key into each entry for validation."""
    items = raw.get("items")
    if isinstance(items, dict):
        raw = {**raw, "items": {k: ({**v, "key": k} if isinstance(v, dict) else v) for k, v in items.items()}}
    return raw


def _one_line(exc: ValidationError, source: str) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "items":
        field = ".".join(loc[2:])
        if not field:
            # item-level checks put the field name in front of their message
            named = re.match(r"^([a-z_.]+): (.*)$", message)
            field, message = (named.group(1), named.group(2)) if named else ("(the item as a whole)", message)
        return f"codebook {source}: item {loc[1]}, field {field}: {message}"
    return f"codebook {source}: field {'.'.join(loc) or '(top level)'}: {message}"


def load_codebook(path: Path | str | None = None) -> Codebook:
    """Load and validate a codebook TOML file (the shipped WVS codebook when None)."""
    path = Path(path) if path is not None else paths.package_data(DEFAULT_CODEBOOK)
    if not path.is_file():
        raise ConfigError(f"codebook not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"codebook {path.name} is not valid TOML: {str(exc).splitlines()[0]}") from None
    raw = merge_language_files(raw, path)
    try:
        data = CodebookFile.model_validate(_with_keys(raw))
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, path.name)) from None
    return Codebook(data, path)
