"""Shared look of the report's figures, set once for all of them: fonts no smaller than
MIN_FONT_PT, colours that tell series apart, axis style, and PNG embedding as a data URI (so the
HTML needs nothing from the network).

Every figure is returned as a `Png`: its data URI, with the smallest text it holds in image
pixels, so the page (and the browser test) can check that text stays legible once the figure
is scaled to the page."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

DPI = 144
MIN_FONT_PT = 9.0  # the smallest text of any figure; the page scales figures down by <= 25 %
# Okabe & Ito's colour-blind-safe set: eight series told apart; more get small multiples.
SERIES = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "axes.prop_cycle": cycler(color=SERIES),
    "savefig.dpi": DPI,
}
plt.rcParams.update(STYLE)  # type: ignore[arg-type]

PALETTE = {"model": "#2b6cb0", "ridge_kmer": "#dd6b20", "mean": "#718096", "ceiling": "#2f855a"}
SPLIT_COLORS = {"train": "#a0aec0", "validation": "#dd6b20", "test": "#2b6cb0"}


SHOWN_SCALE = 0.625  # figures are shown at this share of their pixels (144 dpi -> 90 per inch)


class Png(str):
    """A figure's data URI (a str, so templates use it as `src`), with `font_px`, the smallest
    text of the figure in image pixels, and `width_px`, the image's width."""

    font_px: float
    width_px: int

    def __new__(cls, uri: str, font_px: float, width_px: int) -> Png:
        made = super().__new__(cls, uri)
        made.font_px = font_px
        made.width_px = width_px
        return made

    @property
    def shown_width(self) -> int:
        """The width the page gives the figure (CSS px), before a narrow page scales it down."""
        return round(self.width_px * SHOWN_SCALE)


def smallest_font_pt(fig: Figure) -> float:
    """The smallest visible, non-empty text of the figure, in points (MIN_FONT_PT if none)."""
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]
    return float(min(sizes, default=MIN_FONT_PT))


def figure_to_data_uri(fig: Figure) -> Png:
    """The figure as an embedded PNG; the figure is closed."""
    buffer = io.BytesIO()
    font_px = smallest_font_pt(fig) * DPI / 72
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the PNG header's IHDR width
    return Png("data:image/png;base64," + base64.b64encode(data).decode("ascii"), font_px, width)


def style(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title, axis labels; the rest of the look comes from STYLE."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def corner_note(ax: Axes, text: str) -> None:
    """A boxed note in the top-left corner of the axes (n, r², ...)."""
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=MIN_FONT_PT,
        bbox={"facecolor": "white", "edgecolor": "#cbd5e0", "boxstyle": "round"},
    )
