"""One look for every figure: a colour-blind-safe palette, fonts readable at paper size, and
atomic PNG + SVG output.

The palette is Okabe and Ito's eight colours, which stay distinct under the common forms of
colour blindness. Families keep the hues the paper's readers know (OpenAI blue, OLMo red,
Gemma green); any other family takes the next free colour, always the same one for the same
name, so a family looks alike in every figure of a report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (servers, CI)

from matplotlib.figure import Figure as MplFigure  # noqa: E402

from culturalign.tables import atomic_target  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
NEUTRAL_GREY = "#8C8C8C"
BAND_GREY = "#D9D9D9"

_KNOWN_FAMILIES = {
    "openai": OKABE_ITO["blue"],
    "olmo": OKABE_ITO["vermillion"],
    "gemma": OKABE_ITO["bluish_green"],
    "baseline": NEUTRAL_GREY,
}
_SPARE_COLOURS = [OKABE_ITO[k] for k in ("orange", "reddish_purple", "sky_blue", "black", "yellow")]
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")

# Paper size: a two-column article's full width is about 7 inches, one column about 3.4.
FULL_WIDTH_IN = 7.0
COLUMN_WIDTH_IN = 3.4
PNG_DPI = 200

_RC: dict[RcKeyType, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E5E5E5",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "svg.fonttype": "path",  # the SVG looks the same on machines without the font
    "svg.hashsalt": "culturalign",  # stable element ids: the same data gives the same file
}


@contextmanager
def figure_style() -> Iterator[None]:
    """The house style for the figures drawn inside the block."""
    with matplotlib.rc_context(_RC):
        yield


def new_figure(width_in: float, height_in: float) -> MplFigure:
    """A figure that is not registered with pyplot, so nothing leaks between calls."""
    with figure_style():
        return MplFigure(figsize=(width_in, height_in), layout="constrained")


def family_colours(families: Sequence[str]) -> dict[str, str]:
    """A colour per family: the known ones fixed, others from the spare colours in sorted order."""
    colours: dict[str, str] = {}
    spare = iter(_SPARE_COLOURS * 4)
    for family in sorted(set(families)):
        key = family.lower()
        colours[family] = next((c for name, c in _KNOWN_FAMILIES.items() if key.startswith(name)), None) or next(spare)
    return colours


def family_colour(family: str) -> str:
    return family_colours([family])[family]


def significance_mark(p: float | None) -> str:
    """Stars as in most papers; an empty string for p >= 0.05 or an unknown p."""
    if p is None or p != p:  # NaN
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""


def save_figure(fig: MplFigure, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write `stem`.png and `stem`.svg; each appears whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with figure_style():
        for suffix in (".png", ".svg"):
            target = directory / f"{stem}{suffix}"
            with atomic_target(target) as tmp:
                # No creation date in the SVG: the same data gives the same bytes.
                metadata = {"Date": None} if suffix == ".svg" else None
                fig.savefig(tmp, format=suffix[1:], metadata=metadata)
            paths.append(target)
    return paths[0], paths[1]
