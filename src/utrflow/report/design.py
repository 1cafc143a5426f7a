"""The report's "Next library" section: where the designs sit against the measured library."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utrflow.report.figures import PALETTE, Png, figure_to_data_uri, style

SHOWN_DESIGNS = 12  # rows of the designs table in the report; the CSV holds all


def design_histogram(
    measured: np.ndarray, designs: pd.DataFrame, truth: dict[str, Any] | None
) -> Png:
    """Predicted expression of the measured library and of each bin's designs (and, on
    simulated data, the designs' true expression)."""
    fig, ax = plt.subplots(figsize=(7.4, 3.8))
    values = np.concatenate([measured, designs["predicted"].to_numpy()])
    bins = np.histogram_bin_edges(values, bins=50).tolist()
    heights, _, _ = ax.hist(measured, bins=bins, color="#cbd5e0", label="measured library")
    top = float(np.max(heights)) if len(heights) else 1.0
    rng = np.random.default_rng(0)
    groups = designs.groupby("target_bin", sort=False)
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, max(len(groups), 1)))
    for color, (name, part) in zip(colors, groups, strict=False):
        y = top * (1.08 + 0.12 * rng.random(len(part)))
        ax.scatter(part["predicted"], y, s=18, color=color, lw=0, label=f"designs, bin {name}")
    if truth:
        ax.axvline(truth["measured_top5_true_mean"], color=PALETTE["ceiling"], ls="--", lw=1.4,
                   label="true mean of the measured top 5 %")  # fmt: skip
    style(ax, "Designs (dots) against the measured library (bars)",
          "predicted label (log2 expression)", "measured sequences")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_to_data_uri(fig)


def section(
    designs: pd.DataFrame | None, summary: dict[str, Any] | None, predictions: pd.DataFrame
) -> dict[str, Any] | None:
    """What the template's design section shows; None when no design step ran."""
    if designs is None or summary is None:
        return None
    truth = summary.get("simulated_truth")
    measured = predictions["prediction"].to_numpy()
    bins = []
    for b in summary["bins"]:
        row = {
            "bin": b["label"],
            "designed": f"{b['designed']} of {b['requested']}",
            "predicted": b["predicted_mean"],
        }
        if truth:
            row["true"] = truth["design_true_mean"].get(b["label"])
        bins.append(row)
    shown = designs.head(SHOWN_DESIGNS)
    return {
        "summary": summary,
        "bins": bins,
        "truth": truth,
        "rows": shown.to_dict("records"),
        "hidden": len(designs) - len(shown),
        "figure": design_histogram(measured, designs, truth) if len(designs) else None,
    }
