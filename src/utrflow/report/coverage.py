"""The report's prediction-interval part: what the intervals promise and how often they keep it.

An interval is only worth showing if its labels fall inside as often as it says. metrics.json
`intervals` holds the nominal level and the empirical coverage per split (the test split's is
the honest one; train rows were fitted, and calibration read validation or out-of-fold rows),
and for intervals of per-sequence width the test coverage in thirds of the widths (narrow
intervals must cover as often as wide ones). The figure sets each beside the nominal level with
its 95 % binomial interval, so a few dozen rows are not read as a failure, nor as a success.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from markupsafe import Markup, escape

from utrflow.report.figures import SPLIT_COLORS, Png, figure_to_data_uri, style
from utrflow.stats import share_interval

SPLITS = ("train", "validation", "test")
THIRDS = {"narrow": "test, narrowest third", "middle": "test, middle third",
          "wide": "test, widest third"}  # fmt: skip


def bars(intervals: dict[str, Any]) -> list[tuple[str, float, int, str]]:
    """(label, empirical coverage, rows, colour) per split, then per third of the test widths."""
    coverage, n = intervals.get("coverage") or {}, intervals.get("n") or {}
    out = [(s, float(coverage[s]), int(n.get(s, 0)), SPLIT_COLORS[s]) for s in SPLITS
           if coverage.get(s) is not None]  # fmt: skip
    thirds = intervals.get("test_coverage_by_width") or {}
    per_third = int(n.get("test", 0)) // 3
    out += [(THIRDS[k], float(v), per_third, "#90cdf4") for k, v in thirds.items() if k in THIRDS]
    return out


def figure(intervals: dict[str, Any]) -> Png:
    """Empirical coverage per split (and per third of the test widths) against the nominal
    level, with each share's 95 % interval and the 85-95 % band of a 90 % target."""
    shown = bars(intervals)
    level = float(intervals["level"])
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(shown) + 1.6))
    y = np.arange(len(shown))[::-1]
    values = [b[1] for b in shown]
    ranges = [share_interval(round(v * rows), rows) for _, v, rows, _ in shown]
    # Each bar's value is a rounded share: an end never crosses it (a negative error bar made
    # matplotlib refuse the whole report once).
    errors = np.array(
        [
            [max(v - lo, 0.0) for v, (lo, _) in zip(values, ranges, strict=True)],
            [max(hi - v, 0.0) for v, (_, hi) in zip(values, ranges, strict=True)],
        ]
    )
    ax.barh(y, values, color=[b[3] for b in shown], height=0.6, xerr=errors, capsize=3)
    ax.axvspan(level - 0.05, min(level + 0.05, 1.0), color="#c6f6d5", alpha=0.5, lw=0,
               label="within 5 points")  # fmt: skip
    ax.axvline(level, color="#2f855a", ls="--", lw=1.5, label=f"nominal {level:.0%}")
    for yi, (_, v, rows, _) in zip(y, shown, strict=True):
        ax.text(0.02, yi, f"{v:.1%} of {rows}", va="center", color="white")
    ax.set_yticks(y, [b[0] for b in shown])
    ax.set_xlim(0, 1.05)
    ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.14), ncol=2)
    style(ax, "Prediction interval coverage", "share of labels inside their interval", "")
    return figure_to_data_uri(fig)


def section(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """What the report says of the intervals (`text`) and the coverage figure (`figure`);
    None without calibrated intervals."""
    intervals = metrics.get("intervals") or {}
    if intervals.get("halfwidth") is None or not intervals.get("coverage"):
        return None
    level = round(100 * float(intervals["level"]))
    if intervals.get("normalized"):
        width = (f"as wide as {escape(intervals.get('scale_from') or 'the spread')} asks, per "
                 f"sequence ({float(intervals['halfwidth']):.2f} × (spread + "
                 f"{float(intervals.get('floor') or 0):.3f}))")  # fmt: skip
    else:
        width = f"± {float(intervals['halfwidth']):.2f} around each prediction"
    test = intervals["coverage"].get("test")
    said = f"{100 * test:.1f} %" if test is not None else "–"
    text = Markup(
        f"<p><b>Prediction intervals:</b> {level} % nominal, {width} (conformal, from "
        f"{escape(intervals.get('source', ''))}); the test split's labels fall inside {said} of "
        "the time. Train rows were fitted and cover more than they will on new sequences.</p>"
    )
    return {"text": text, "figure": figure(intervals)}
