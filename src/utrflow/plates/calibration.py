"""Calibrated units from standards on the plate: fluorescein -> MEFL, microspheres -> particles.

The iGEM interlab protocols and FlopR calibrate a plate reader with a serial dilution of a
standard: fluorescein for fluorescence (molecules of equivalent fluorescein, MEFL) and silica
microspheres (or LUDOX) for OD (particles). A reader is linear only over part of the series:
the top standards saturate and the bottom ones sink into the blank's noise. So the fit here is
a proportional one (signal = slope x amount, after blank subtraction) on the standards that are
in its linear range: saturated and non-positive standards are dropped first, then, one at a
time, the standard furthest from the fit while it is further than `max_residual` (relative).
Every dropped standard is returned with the reason, so the report can say it.

Not yet wired into the workflow: the wells sheet's `role: calibrant` wells and their
`concentration` column are read by the link stage in a later change (see docs/plate-readers.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from utrflow.errors import InputError

AVOGADRO = 6.02214076e23


def fluorescein_molecules(concentration_um: float, volume_ul: float) -> float:
    """Molecules of fluorescein in a well: concentration (µM) x volume (µL) x Avogadro."""
    return concentration_um * 1e-6 * volume_ul * 1e-6 * AVOGADRO


@dataclass(frozen=True)
class CalibrationFit:
    """A standard's fit: `per_signal` units (MEFL, particles) per reader unit, the standards
    used (amount -> relative residual) and those dropped (amount -> why)."""

    unit: str
    slope: float  # reader units per unit of standard
    used: dict[float, float]
    dropped: dict[float, str] = field(default_factory=dict)

    @property
    def per_signal(self) -> float:
        return 1.0 / self.slope

    @property
    def linear_range(self) -> tuple[float, float]:
        return min(self.used), max(self.used)

    def describe(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "per_signal": self.per_signal,
            "linear_range": list(self.linear_range),
            "residuals": {str(k): v for k, v in self.used.items()},
            "dropped": {str(k): v for k, v in self.dropped.items()},
        }


def fit_standard(
    amounts: Sequence[float],
    signals: Sequence[float],
    unit: str,
    blank: float = 0.0,
    saturated: Sequence[bool] | None = None,
    max_residual: float = 0.1,
    min_standards: int = 3,
) -> CalibrationFit:
    """Fit signal = slope x amount on the standards in the reader's linear range.

    `amounts` and `signals` are per well (replicates share an amount and are averaged);
    `blank` is subtracted. Stops when fewer than `min_standards` amounts stay in range."""
    amount = np.asarray(amounts, dtype=float)
    signal = np.asarray(signals, dtype=float) - blank
    flagged = np.zeros(len(amount), bool) if saturated is None else np.asarray(saturated, bool)
    dropped: dict[float, str] = {}
    levels: dict[float, float] = {}
    for level in sorted(set(amount.tolist())):
        here = amount == level
        if level <= 0:
            continue  # the blank itself
        if flagged[here].any():
            dropped[level] = "saturated"
        elif not np.isfinite(signal[here]).all() or signal[here].mean() <= 0:
            dropped[level] = "at or below the blank"
        else:
            levels[level] = float(signal[here].mean())
    while True:
        if len(levels) < min_standards:
            raise InputError(
                f"calibration ({unit}): {len(levels)} standards in the linear range, "
                f"{min_standards} needed (dropped: {dropped or 'none'})"
            )
        x = np.array(list(levels))
        y = np.array(list(levels.values()))
        slope = float(np.exp(np.mean(np.log(y / x))))  # proportional fit on the log scale
        residuals = y / (slope * x) - 1.0
        worst = int(np.argmax(np.abs(residuals)))
        if abs(residuals[worst]) <= max_residual:
            used = {float(a): float(r) for a, r in zip(x, residuals, strict=True)}
            return CalibrationFit(unit, slope, used, dropped)
        dropped[float(x[worst])] = f"off the linear fit by {residuals[worst]:+.0%}"
        del levels[float(x[worst])]


def calibrated_label(
    signal_net: np.ndarray,
    od_net: np.ndarray,
    fluorescence: CalibrationFit,
    particles: CalibrationFit | None = None,
) -> np.ndarray:
    """log2 MEFL per particle (or per OD unit without a particle standard); NaN where either
    net value is not positive."""
    mefl = np.asarray(signal_net, float) * fluorescence.per_signal
    cells = np.asarray(od_net, float) * (particles.per_signal if particles else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((mefl > 0) & (cells > 0), np.log2(mefl / cells), np.nan)
