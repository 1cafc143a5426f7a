"""Table-level simulation: a designed UTR library with labels from the hidden ground truth.

This is the fallback when there is no data at all: it skips plates and reads and writes the
labelled table directly, with the truth kept beside it so the noise ceiling is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.geometry import plate_name, well_names
from utrflow.labelled import LABELLED_COLUMNS
from utrflow.simulate import truth


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


def simulate_layout(sequences: list[str], label: np.ndarray, plate_format: int) -> pd.DataFrame:
    """The labelled table of a table-level simulation: one well per sequence, plates in order."""
    n = len(sequences)
    wells = well_names(plate_format)
    index = range(n)
    return pd.DataFrame(
        {
            "plate": [plate_name(i // len(wells)) for i in index],
            "well": [wells[i % len(wells)] for i in index],
            "sequence": sequences,
            "variant_id": [f"v{i + 1:06d}" for i in index],
            "match": "exact",
            "n_reads": pd.array([pd.NA] * n, dtype="Int64"),
            "n_regions": pd.array([pd.NA] * n, dtype="Int64"),
            "purity": np.nan,
            "signal": np.exp2(label),
            "label": label,
            "qc": "pass",
        },
        columns=LABELLED_COLUMNS,
    )


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
    labelled = simulate_layout(sequences, label, plate_format)
    truth_wells = labelled[["plate", "well", "variant_id", "sequence"]].assign(
        mixed=False, role="sample", true_label=true_label
    )
    summary = {
        "level": "table",
        "kind": "utr",
        "n_sequences": n_sequences,
        "noise_sd": noise_sd,
        "true_label_sd": float(np.std(true_label)),
        "expected_noise_ceiling_r2": expected_noise_ceiling(true_label, noise_sd),
        "realized_noise_ceiling_r2": float(np.corrcoef(true_label, label)[0, 1] ** 2),
    }
    return SimulatedTable(labelled, truth_wells, summary)


# The lecture's CCGGAA position frequency matrix (rows A, C, G, T; columns = motif positions).
LECTURE_MOTIF_COUNTS = np.array(
    [
        [10.41, 22.86, 1.92, 1.55, 98.60, 86.66],
        [68.20, 65.25, 0.50, 0.35, 0.25, 2.57],
        [17.27, 8.30, 94.77, 97.32, 0.87, 0.00],
        [4.13, 3.59, 2.81, 0.78, 0.28, 10.77],
    ]
)


def simulate_tf_binding(
    n_sequences: int, seed: int, accessibility: bool = False, flank: int = 7
) -> SimulatedTable:
    """The lecture's TF-binding task: half the sequences carry a CCGGAA motif drawn from its PWM.

    20-nt sequences (7 random + 6 motif + 7 random) against fully random negatives, label 1/0.
    With `accessibility`, each sequence also gets a chromatin accessibility in [0, 1] (the seed's
    second experiment) and a motif binds only where accessibility exceeds 0.25, so the scalar
    input carries information the sequence does not.
    """
    rng = np.random.default_rng(seed)
    motif_p = LECTURE_MOTIF_COUNTS / LECTURE_MOTIF_COUNTS.sum(axis=0, keepdims=True)
    length = 2 * flank + motif_p.shape[1]
    column_p = np.hstack([np.full((4, flank), 0.25), motif_p, np.full((4, flank), 0.25)])
    has_motif = np.arange(n_sequences) < n_sequences // 2
    u = rng.random((n_sequences, length, 1))
    positive = (u > column_p.T.cumsum(axis=1)[None]).sum(axis=2)
    negative = rng.integers(0, 4, size=(n_sequences, length))
    codes = np.where(has_motif[:, None], positive, negative)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[np.minimum(codes, 3)]
    sequences = [row.tobytes().decode("ascii") for row in letters]
    access = rng.random(n_sequences) if accessibility else np.ones(n_sequences)
    bound = has_motif & (access > 0.25)
    label = bound.astype(float)
    order = rng.permutation(n_sequences)
    sequences = [sequences[i] for i in order]
    label, access, has_motif = label[order], access[order], has_motif[order]
    table = simulate_layout(sequences, label, plate_format=96).assign(signal=np.nan)
    if accessibility:
        table["accessibility"] = access
    truth = table[["plate", "well", "variant_id", "sequence"]].assign(
        mixed=False, role="sample", true_label=label, has_motif=has_motif
    )
    summary = {
        "level": "table",
        "kind": "tf_binding",
        "n_sequences": n_sequences,
        "positives": int(label.sum()),
        "accessibility": accessibility,
    }
    return SimulatedTable(table, truth, summary)


def simulate_from_config(sim_cfg: dict, seed: int) -> SimulatedTable:
    """The table the `simulate` config section asks for (UTRs or the lecture's TF binding)."""
    if sim_cfg["kind"] == "tf_binding":
        return simulate_tf_binding(sim_cfg["n_sequences"], seed, sim_cfg["accessibility"])
    return simulate_table(
        sim_cfg["n_sequences"],
        sim_cfg["min_length"],
        sim_cfg["max_length"],
        sim_cfg["noise_sd"],
        seed,
        sim_cfg["plate_format"],
    )


def planted_motifs(kind: str) -> dict[str, str]:
    """The motifs a simulation of `kind` planted, by name: what the interpretation looks for."""
    if kind == "tf_binding":
        return {"TF site (the lecture's PWM)": "CCGGAA"}
    return {
        "Shine-Dalgarno": truth.SHINE_DALGARNO.consensus,
        "U-rich enhancer": truth.U_RICH_ENHANCER.consensus,
        "upstream ATG": "ATG",
    }


def run(simulate_cfg: dict, seed: int, labelled: Path, truth_path: Path, summary: Path) -> None:
    """The `simulate-table` stage: the simulated labelled table, its truth and its summary."""
    result = simulate_from_config(simulate_cfg, seed)
    io.write_tsv(result.labelled, labelled)
    io.write_tsv(result.truth, truth_path)
    io.write_json(result.summary, summary)
