"""Shared look of the report's figures: colours, axis style, and PNG embedding as a data URI
(so the HTML needs nothing from the network)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PALETTE = {"model": "#2b6cb0", "ridge_kmer": "#dd6b20", "mean": "#718096", "ceiling": "#2f855a"}
SPLIT_COLORS = {"train": "#a0aec0", "validation": "#dd6b20", "test": "#2b6cb0"}


def figure_to_data_uri(fig: Figure) -> str:
    """The figure as an embedded PNG; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=144, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def style(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title left and bold, light grid, no top/right spines."""
    ax.set_title(title, fontsize=11, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.25, linewidth=0.6)


def corner_note(ax: Axes, text: str) -> None:
    """A boxed note in the top-left corner of the axes (n, r², ...)."""
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=9,
        bbox={"facecolor": "white", "edgecolor": "#cbd5e0", "boxstyle": "round"},
    )
