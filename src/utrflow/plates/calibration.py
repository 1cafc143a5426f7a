"""Calibrated units from standards on the plate: fluorescein -> MEFL, microspheres -> particles.

The iGEM interlab protocols and FlopR calibrate a plate reader with a serial dilution of a
standard: fluorescein for fluorescence (molecules of equivalent fluorescein, MEFL) and silica
microspheres (or LUDOX) for OD (particles). A reader is linear only over part of the series:
the top standards saturate and the bottom ones sink into the blank's noise. So the fit here is
a proportional one (signal = slope x amount, after blank subtraction) on the standards that are
in its linear range: saturated and non-positive standards are dropped first, then, one at a
time, the standard furthest from the fit while it is further than `max_residual` (relative).
Every dropped standard is returned with the reason, so the report can say it.

The wells sheet names the standards: wells of `role: calibrant` with `calibrant` (`fluorescein`
or `microspheres`), `concentration` (µM of fluorescein; microspheres per mL) and an optional
`volume_ul` (100 µL, the iGEM plate protocol's, when left out). `calibrate_plate` fits the
standards on their plate: fluorescein on the signal channel, microspheres on the normalizer's
(see docs/calibration.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow.errors import InputError
from utrflow.sheets import MIN_STANDARDS

AVOGADRO = 6.02214076e23
UNITS = {"fluorescein": "MEFL", "microspheres": "particles"}  # per sheets.CALIBRANTS
DEFAULT_VOLUME_UL = 100.0  # the iGEM plate protocol's volume per well


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
    min_standards: int = MIN_STANDARDS,
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


def standard_amount(calibrant: str, concentration: float, volume_ul: float) -> float:
    """What one standard well holds: fluorescein molecules (concentration in µM) or
    microspheres (concentration per mL)."""
    if calibrant == "fluorescein":
        return fluorescein_molecules(concentration, volume_ul)
    return concentration * volume_ul * 1e-3


@dataclass(frozen=True)
class PlateCalibration:
    """A plate's fits: fluorescein on the signal channel, microspheres on the normalizer's
    (either may be missing: that side of the label stays in reader units)."""

    fluorescein: CalibrationFit | None
    microspheres: CalibrationFit | None
    signal: str  # the channel labels the fits were made on
    normalizer: str

    def label_unit(self, log2: bool = True) -> str:
        """What a label of this plate counts: 'log2 MEFL per particle', 'log2 MEFL per OD600
        unit', or, uncalibrated, 'log2 GFP units per OD600 unit' (the plain ratio)."""
        top = "MEFL" if self.fluorescein else f"{self.signal} units"
        if self.normalizer:
            top += f" per {'particle' if self.microspheres else f'{self.normalizer} unit'}"
        return f"log2 {top}" if log2 else top

    def scales(self) -> tuple[float, float]:
        """(MEFL per signal unit, particles per normalizer unit); 1 where not calibrated."""
        return (
            self.fluorescein.per_signal if self.fluorescein else 1.0,
            self.microspheres.per_signal if self.microspheres else 1.0,
        )

    def describe(self) -> dict[str, object]:
        """The per-plate JSON's `calibration`: each fit (unit, per reader unit, range,
        residuals, dropped standards)."""
        return {
            "fluorescein": self.fluorescein.describe() if self.fluorescein else None,
            "microspheres": self.microspheres.describe() if self.microspheres else None,
        }


@dataclass(frozen=True)
class Reading:
    """One channel on a plate's wells: values, saturated flags and the plate's blank level."""

    label: str
    values: np.ndarray
    saturated: np.ndarray
    blank: float


def _fit_on(
    wells: pd.DataFrame, standard: str, reading: Reading, where: str
) -> CalibrationFit | None:
    """One standard's fit on its wells; its own zero-concentration wells are its blank (the
    buffer it is diluted in), else the plate's blank wells."""
    mine = (wells["role"].to_numpy() == "calibrant") & (
        wells["calibrant"].astype(str).str.lower().to_numpy() == standard
    )
    if not mine.any():
        return None
    concentration = pd.to_numeric(wells["concentration"], errors="coerce").to_numpy(float)
    given = wells["volume_ul"] if "volume_ul" in wells else pd.Series(np.nan, index=wells.index)
    volume = pd.to_numeric(given, errors="coerce").fillna(DEFAULT_VOLUME_UL).to_numpy(float)
    amounts = [
        standard_amount(standard, c, v)
        for c, v in zip(concentration[mine], volume[mine], strict=True)
    ]
    zero = mine & (concentration == 0) & ~reading.saturated & np.isfinite(reading.values)
    blank = float(np.median(reading.values[zero])) if zero.any() else reading.blank
    try:
        return fit_standard(
            amounts,
            reading.values[mine],
            UNITS[standard],
            blank=blank,
            saturated=reading.saturated[mine],
        )
    except InputError as err:
        raise InputError(f"{where}: {standard} on {reading.label!r}: {err}") from None


def calibrate_plate(
    plate: str,
    wells: pd.DataFrame,
    signal: Reading,
    normalizer: Reading | None,
    path: str | Path,
) -> PlateCalibration | None:
    """A plate's calibration from its `role: calibrant` wells (None without any): fluorescein
    on the signal channel, microspheres on the normalizer channel."""
    if not (wells["role"] == "calibrant").any():
        return None
    where = f"{path}: plate {plate}"
    if normalizer is None and (wells["calibrant"].astype(str).str.lower() == "microspheres").any():
        raise InputError(
            f"{where}: microsphere standards need a normalizer channel "
            "(fluorescence.normalize_by, e.g. OD600)"
        )
    return PlateCalibration(
        fluorescein=_fit_on(wells, "fluorescein", signal, where),
        microspheres=_fit_on(wells, "microspheres", normalizer, where) if normalizer else None,
        signal=signal.label,
        normalizer=normalizer.label if normalizer else "",
    )
