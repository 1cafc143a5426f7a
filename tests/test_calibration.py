"""Calibration from standards, known answers on a made series: a fluorescein dilution whose
top saturates and whose bottom sinks into the blank, and microspheres with one bad well."""

from __future__ import annotations

import numpy as np
import pytest

from utrflow.errors import InputError
from utrflow.plates.calibration import (
    calibrated_label,
    fit_standard,
    fluorescein_molecules,
)

SLOPE = 1e-10  # reader units per fluorescein molecule, the truth of the made series
VOLUME = 100.0  # µL per well


def fluorescein_series() -> tuple[list[float], list[float], list[bool]]:
    """iGEM-style: 10 µM halved 10 times, 2 replicates; a blank of 40; the reader saturates
    at 60,000 and its noise floor is the blank's."""
    amounts, signals, saturated = [], [], []
    for k in range(11):
        molecules = fluorescein_molecules(10.0 / 2**k, VOLUME)
        reading = 40.0 + SLOPE * molecules
        for _ in range(2):
            amounts.append(molecules)
            signals.append(min(reading, 60000.0))
            saturated.append(reading >= 60000.0)
    signals[-2:] = [39.0, 40.5]  # the last standard (9.8 nM, 59 units) lost in the blank's noise
    amounts += [0.0, 0.0]
    signals += [40.0, 40.0]
    saturated += [False, False]
    return amounts, signals, saturated


def test_fluorescein_molecules_from_concentration_and_volume() -> None:
    assert fluorescein_molecules(1.0, 1.0) == pytest.approx(6.02214076e11)


def test_a_fluorescein_series_gives_mefl_per_reader_unit_and_says_what_it_dropped() -> None:
    amounts, signals, saturated = fluorescein_series()
    signals[10] += 500.0  # one replicate of the 5th standard pipetted badly: its mean is off
    fit = fit_standard(amounts, signals, "MEFL", blank=40.0, saturated=saturated)
    assert fit.per_signal == pytest.approx(1 / SLOPE, rel=1e-9)
    top = fluorescein_molecules(10.0, VOLUME)
    assert fit.dropped[top] == "saturated"  # 10 µM would read 60,261
    fifth = fluorescein_molecules(10.0 / 2**5, VOLUME)
    assert fit.dropped[fifth].startswith("off the linear fit by +")
    bottom = fluorescein_molecules(10.0 / 2**10, VOLUME)
    assert fit.dropped[bottom] == "at or below the blank"
    assert len(fit.used) == 8 and max(abs(r) for r in fit.used.values()) < 1e-9
    assert fit.linear_range == (min(fit.used), max(fit.used))
    assert set(fit.describe()) == {"unit", "per_signal", "linear_range", "residuals", "dropped"}


def test_too_few_standards_in_range_stop_with_one_line() -> None:
    with pytest.raises(InputError) as err:
        fit_standard([1.0, 2.0, 4.0], [1.0, 2.0, 40.0], "particles")
    assert "standards in the linear range, 3 needed" in str(err.value)
    assert "\n" not in str(err.value)


def test_the_label_is_log2_mefl_per_particle() -> None:
    fluorescence = fit_standard([1, 2, 4], [10.0, 20.0, 40.0], "MEFL")  # 0.1 MEFL per unit
    particles = fit_standard([1e8, 2e8, 4e8], [0.1, 0.2, 0.4], "particles")  # 1e9 per OD
    label = calibrated_label(
        np.array([1000.0, -1.0]), np.array([0.5, 0.5]), fluorescence, particles
    )
    assert label[0] == pytest.approx(np.log2(100.0 / 5e8))
    assert np.isnan(label[1])
