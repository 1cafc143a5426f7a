"""Table-level simulation: a designed UTR library with labels from the hidden ground truth.

This is the fallback when there is no data at all: it skips plates and reads and writes the
labelled table directly, with the truth kept beside it so the noise ceiling is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utrflow import truth
from utrflow.plates import plate_name, well_names

LABELLED_COLUMNS = [
    "plate",
    "well",
    "sequence",
    "variant_id",
    "match",
    "n_reads",
    "purity",
    "signal",
    "label",
    "qc",
]


@dataclass(frozen=True)
class SimulatedTable:
    """The labelled table, the truth per well and a summary with the noise ceiling."""

    labelled: pd.DataFrame
    truth: pd.DataFrame
    summary: dict


def expected_noise_ceiling(true_values: np.ndarray, noise_sd: float) -> float:
    """Best squared Pearson r any model can reach: var(truth) / (var(truth) + noise variance)."""
    variance = float(np.var(true_values))
    total = variance + noise_sd**2
    return variance / total if total > 0 else 0.0


def simulate_table(
    n_sequences: int,
    min_length: int,
    max_length: int,
    noise_sd: float,
    seed: int,
    plate_format: int = 96,
) -> SimulatedTable:
    """Design a library, draw noisy log2 labels from the ground truth, lay wells out on plates."""
    rng = np.random.default_rng(seed)
    sequences = truth.design_library(rng, n_sequences, min_length, max_length)
    true_label = truth.expression(sequences)
    label = true_label + rng.normal(0.0, noise_sd, size=n_sequences)
    wells = well_names(plate_format)
    index = np.arange(n_sequences)
    plates = [plate_name(i // len(wells)) for i in index]
    well = [wells[i % len(wells)] for i in index]
    variant_id = [f"v{i + 1:06d}" for i in index]
    labelled = pd.DataFrame(
        {
            "plate": plates,
            "well": well,
            "sequence": sequences,
            "variant_id": variant_id,
            "match": "exact",
            "n_reads": pd.array([pd.NA] * n_sequences, dtype="Int64"),
            "purity": np.nan,
            "signal": np.exp2(label),
            "label": label,
            "qc": "pass",
        },
        columns=LABELLED_COLUMNS,
    )
    truth_wells = pd.DataFrame(
        {
            "plate": plates,
            "well": well,
            "variant_id": variant_id,
            "sequence": sequences,
            "mixed": False,
            "role": "sample",
            "true_label": true_label,
        }
    )
    summary = {
        "level": "table",
        "n_sequences": n_sequences,
        "noise_sd": noise_sd,
        "true_label_sd": float(np.std(true_label)),
        "expected_noise_ceiling_r2": expected_noise_ceiling(true_label, noise_sd),
        "realized_noise_ceiling_r2": float(np.corrcoef(true_label, label)[0, 1] ** 2),
    }
    return SimulatedTable(labelled, truth_wells, summary)
