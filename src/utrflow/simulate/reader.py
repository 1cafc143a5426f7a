"""The simulated run's plate reader: true expression to GFP and OD600 readings, written as
the reader files of the input contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utrflow.geometry import FORMATS
from utrflow.io import atomic_path
from utrflow.simulate.run_settings import RunSimulation

MEDIUM_OD = 0.045  # absorbance of medium alone in a plate well

# --------------------------------------------------------------------------------------------
# Plate reader


def plate_reader(
    layout: pd.DataFrame,
    linear_expression: np.ndarray,
    params: RunSimulation,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """GFP and OD600 per well: background + gain x OD x expression x plate effect x noise.

    `linear_expression` is 2**expression (ratio-weighted for mixed wells), 0 without cells.
    Values above the detector maximum read as the maximum, as a saturated reader reports.
    """
    n = len(layout)
    grown = linear_expression > 0
    culture_od = np.where(grown, rng.uniform(0.35, 0.95, size=n), 0.0)
    od600 = MEDIUM_OD + culture_od + rng.normal(0.0, 0.002, size=n)
    plates = layout["plate"].to_numpy()
    plate_index = np.unique(plates, return_inverse=True)[1]
    plate_gain = np.exp2(rng.normal(0.0, params.plate_effect_sd, size=params.n_plates))
    noise = np.exp2(rng.normal(0.0, params.reader_noise_sd, size=n))
    background = params.reader_background * np.exp2(rng.normal(0.0, 0.03, size=n))
    gfp = background + (
        params.reader_gain * culture_od * linear_expression * plate_gain[plate_index] * noise
    )
    gfp = np.minimum(np.rint(gfp), params.reader_max)
    return pd.DataFrame(
        {
            "plate": plates,
            "well": layout["well"].to_numpy(),
            "gfp": gfp,
            "od600": np.round(od600, 4),
        }
    )


def grid_text(frame: pd.DataFrame, plate_format: int, channels: tuple[str, ...]) -> str:
    """Reader grid export: per channel a line with its name, a header of column numbers, then
    one line per row letter; blocks separated by an empty line."""
    rows, cols = FORMATS[plate_format]
    values = frame.set_index("well")
    lines: list[str] = []
    for channel in channels:
        column = values[channel].astype(float).to_dict()
        lines.append(channel)
        lines.append("," + ",".join(str(c + 1) for c in range(cols)))
        for r in range(rows):
            letter = chr(ord("A") + r)
            cells = [_format_value(column[f"{letter}{c + 1}"]) for c in range(cols)]
            lines.append(letter + "," + ",".join(cells))
        lines.append("")
    return "\n".join(lines)


def _format_value(value: float) -> str:
    """Integers without a decimal point, other values with up to 6 significant digits."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def write_reader(frame: pd.DataFrame, path: Path, params: RunSimulation) -> None:
    """One plate's reader file, tidy or grid."""
    plate = frame[["well", "gfp", "od600"]].copy()
    plate["gfp"] = plate["gfp"].astype(np.int64)
    with atomic_path(path) as tmp:
        if params.reader_format == "grid":
            tmp.write_text(grid_text(plate, params.plate_format, ("gfp", "od600")))
        else:
            plate.to_csv(tmp, index=False, lineterminator="\n")
