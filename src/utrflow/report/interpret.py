"""The report's "What the model learned" section: filter logos and mutagenesis maps."""

from __future__ import annotations

from typing import Any

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utrflow.report.figures import Png, figure_to_data_uri

LOGOS = 8  # most informative filters drawn
PER_ROW = 50  # positions per row of a mutagenesis map
BASES = "ACGT"


def information_matrix(probabilities: np.ndarray) -> pd.DataFrame:
    """Letter heights in bits (probability x information of the position), as logos draw."""
    p = np.clip(probabilities, 1e-9, 1.0)
    information = 2 + (p * np.log2(p)).sum(axis=1, keepdims=True)
    return pd.DataFrame(p * information, columns=list(BASES))


def filter_logos(filters: list[dict[str, Any]]) -> Png:
    """Sequence logos of the most informative first-layer filters."""
    shown = filters[:LOGOS]
    cols = 4
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, item in zip(axes.flat, shown, strict=False):
        ax.axis("on")
        logomaker.Logo(information_matrix(np.array(item["probabilities"])), ax=ax,
                       color_scheme="classic", show_spines=False)  # fmt: skip
        ax.set_ylim(0, 2)
        ax.set_title(f"filter {item['filter']}: {item['consensus']}\n({item['sites']} sites)",
                     fontweight="normal")  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([0, 1, 2])
    axes[0][0].set_ylabel("bits")
    fig.tight_layout()
    return figure_to_data_uri(fig)


def mutagenesis_map(item: dict[str, Any], title: str) -> Png:
    """Change of the prediction for every single-base substitution of one sequence."""
    deltas = np.array(item["deltas"])
    seq = item["sequence"]
    limit = float(np.abs(deltas).max()) or 1.0
    # one letter per position at the smallest legible size: about 0.16 in each, so a sequence
    # longer than PER_ROW nt is drawn in rows of PER_ROW
    rows = -(-len(seq) // PER_ROW)
    width = min(len(seq), PER_ROW)
    fig, axes = plt.subplots(rows, 1, figsize=(0.16 * width + 2.2, 1.7 * rows + 0.3),
                             squeeze=False)  # fmt: skip
    for r, ax in enumerate(axes[:, 0]):
        part = slice(r * PER_ROW, min((r + 1) * PER_ROW, len(seq)))
        image = ax.imshow(deltas[part].T, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_yticks(range(4), list(BASES))
        ax.set_xticks(range(part.stop - part.start), list(seq[part]), family="monospace")
        ax.grid(False)
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylabel(f"{part.start + 1}–{part.stop}")
    axes[-1, 0].set_xlabel("position (5' → 3', the start codon follows)")
    axes[0, 0].set_title(f"{title}: predicted {item['prediction']:.2f}")
    bar = fig.colorbar(image, ax=axes[:, 0].tolist(), pad=0.01)
    bar.set_label("Δ prediction")
    return figure_to_data_uri(fig)


def section(
    interpretation: dict[str, Any] | None, trusted: tuple[bool, str] = (True, "")
) -> dict[str, Any] | None:
    """What the template's interpretation section shows; None when it was not computed.
    `trusted`: whether claims of what the model learned may stand, and if not, why."""
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
        "trusted": trusted[0],
        "distrust": trusted[1],
    }
