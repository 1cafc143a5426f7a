"""The report's "What the model learned" section: filter logos and mutagenesis maps."""

from __future__ import annotations

from typing import Any

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utrflow.report.figures import figure_to_data_uri

LOGOS = 8  # most informative filters drawn
BASES = "ACGT"


def information_matrix(probabilities: np.ndarray) -> pd.DataFrame:
    """Letter heights in bits (probability x information of the position), as logos draw."""
    p = np.clip(probabilities, 1e-9, 1.0)
    information = 2 + (p * np.log2(p)).sum(axis=1, keepdims=True)
    return pd.DataFrame(p * information, columns=list(BASES))


def filter_logos(filters: list[dict[str, Any]]) -> str:
    """Sequence logos of the most informative first-layer filters."""
    shown = filters[:LOGOS]
    cols = 4
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 1.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, item in zip(axes.flat, shown, strict=False):
        ax.axis("on")
        logomaker.Logo(information_matrix(np.array(item["probabilities"])), ax=ax,
                       color_scheme="classic", show_spines=False)  # fmt: skip
        ax.set_ylim(0, 2)
        ax.set_title(f"filter {item['filter']}: {item['consensus']} ({item['sites']} sites)",
                     fontsize=8, loc="left")  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([0, 1, 2])
        ax.tick_params(labelsize=6)
    axes[0][0].set_ylabel("bits", fontsize=7)
    fig.tight_layout()
    return figure_to_data_uri(fig)


def mutagenesis_map(item: dict[str, Any], title: str) -> str:
    """Change of the prediction for every single-base substitution of one sequence."""
    deltas = np.array(item["deltas"])
    seq = item["sequence"]
    limit = float(np.abs(deltas).max()) or 1.0
    fig, ax = plt.subplots(figsize=(min(0.16 * len(seq) + 1.8, 12), 2.0))
    image = ax.imshow(deltas.T, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks(range(4), list(BASES), fontsize=7)
    ax.set_xticks(range(len(seq)), list(seq), fontsize=6, family="monospace")
    ax.set_xlabel("position (5' → 3', the start codon follows)", fontsize=8)
    ax.set_title(f"{title}: predicted {item['prediction']:.2f}", fontsize=10, loc="left",
                 fontweight="bold")  # fmt: skip
    bar = fig.colorbar(image, ax=ax, pad=0.01)
    bar.set_label("Δ prediction", fontsize=7)
    return figure_to_data_uri(fig)


def section(interpretation: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the template's interpretation section shows; None when it was not computed."""
    if interpretation is None:
        return None
    filters = interpretation.get("filters", [])
    maps = []
    for item, title in zip(
        interpretation.get("mutagenesis", []),
        ("Highest predicted test sequence", "Lowest predicted test sequence"),
        strict=False,
    ):
        maps.append(mutagenesis_map(item, title))
    return {
        "summary": interpretation,
        "planted": interpretation.get("planted", {}),
        "logos": filter_logos(filters) if filters else None,
        "maps": maps,
    }
