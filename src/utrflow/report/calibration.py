"""The report's calibration part: what the labels count, and each plate's standard fits.

When the wells sheet gives calibrants, labels are log2 MEFL per particle, comparable across
readers and labs, but only as good as the fits behind them: so the fit (units per reader unit),
its linear range, every standard's residual and every standard dropped (saturated, at the blank,
off the line) are shown per plate, read from the link stage's summary (`calibration`).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

STANDARDS = {"fluorescein": "MEFL", "microspheres": "particles"}


def _amount(text: str) -> str:
    return f"{float(text):.3g}"


def fit_rows(plate: str, fits: dict[str, Any]) -> list[list[str]]:
    """One row per plate and standard: unit per reader unit, range, residuals, dropped."""
    rows = []
    for standard in STANDARDS:
        fit = fits.get(standard)
        if not fit:
            continue
        low, high = fit["linear_range"]
        residuals = ", ".join(
            f"{_amount(a)}: {100 * float(r):+.1f} %" for a, r in fit["residuals"].items()
        )
        dropped = "; ".join(f"{_amount(a)}: {why}" for a, why in fit["dropped"].items())
        rows.append(
            [
                plate,
                standard,
                f"{float(fit['per_signal']):.4g} {fit['unit']} per reader unit",
                f"{float(low):.3g} – {float(high):.3g} {fit['unit']}",
                residuals,
                dropped or "none",
            ]
        )
    return rows


COLUMNS = ["plate", "standard", "fit", "linear range", "residuals (amount: off the fit)", "dropped"]


def section(summary: dict[str, Any] | None) -> Markup | None:
    """The HTML of the calibration part (None when no plate was calibrated)."""
    fits = (summary or {}).get("calibration") or {}
    if not fits:
        return None
    rows = [row for plate, found in fits.items() for row in fit_rows(str(plate), found)]
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    unit = escape(summary.get("label_unit", "") if summary else "")
    return Markup(
        "<h3>Calibration</h3>"
        f"<p>Labels are <b>{unit}</b>, from standards on each plate: fluorescein on the signal "
        "channel, microspheres on the normalizer's, each fitted proportionally on the reader's "
        "linear range. A standard that saturates, sinks into its blank or lies more than 10 % "
        "off the line is dropped, and said below.</p>"
        f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>'
    )
