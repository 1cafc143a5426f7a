"""What the model learned: first-layer filters as motifs, and in-silico mutagenesis.

Filters: each first-layer Conv1D filter becomes a position frequency matrix of the windows that
activate it most (at least half its maximum, as Basset and DeepBind do), read with biopython's
`motifs` for a consensus and information content. On simulated data the planted motifs are
matched against these matrices, so the report can say which ones the filters recovered.
In-silico saturation mutagenesis: every single-base change of a sequence, scored by the model,
shows which positions matter and in which direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from Bio import motifs

from utrflow import io
from utrflow.model import network
from utrflow.model.encode import load_onehot
from utrflow.sequences import one_hot

BASES = "ACGT"
MAX_ROWS = 20_000  # sequences scanned for filter motifs (a sample: activations are large)
ACTIVATION_SHARE = 0.5  # windows at least this share of a filter's maximum make its motif
MIN_SITES = 10  # a filter with fewer such windows is reported without a motif
RECOVERED = 0.6  # similarity (mean probability of the motif's bases) that counts as found


def first_conv(model: Any) -> Any:
    """The first Conv1D layer of a utrflow model (plain or exported)."""
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv1D":
            return layer
    raise ValueError("the model has no Conv1D layer")


def filter_activations(model: Any, onehot: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """(n, positions, filters) ReLU outputs of the first conv layer, batch by batch."""
    import keras

    conv = first_conv(model)
    probe = keras.Model(model.inputs[0], conv.output)
    parts = [
        np.asarray(probe.predict_on_batch(np.asarray(onehot[i : i + batch_size], np.uint8)))
        for i in range(0, len(onehot), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def filter_counts(
    activations: np.ndarray, onehot: np.ndarray, kernel: int, share: float = ACTIVATION_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """Per filter, base counts (kernel, 4) over its top-activating windows, and their number.

    With 'same' padding, output position p reads input positions p - (kernel - 1) // 2 onward;
    windows reaching past either end or into the left padding are skipped.
    """
    _, width, filters = activations.shape
    left = (kernel - 1) // 2
    starts = np.arange(width) - left
    inside = (starts >= 0) & (starts + kernel <= width)
    counts = np.zeros((filters, kernel, 4))
    sites = np.zeros(filters, dtype=np.int64)
    present = onehot.sum(axis=2) > 0  # not left padding
    for f in range(filters):
        act = activations[:, :, f]
        peak = float(act.max())
        if peak <= 0:
            continue
        rows, cols = np.nonzero((act >= share * peak) & inside[None, :])
        windows = onehot[rows[:, None], starts[cols][:, None] + np.arange(kernel)[None, :]]
        full = present[rows[:, None], starts[cols][:, None] + np.arange(kernel)[None, :]].all(1)
        counts[f] = windows[full].sum(axis=0)
        sites[f] = int(full.sum())
    return counts, sites


def describe(counts: np.ndarray) -> tuple[str, float]:
    """Consensus and total information content (bits) of a count matrix, via biopython."""
    pwm = motifs.Motif(
        alphabet=BASES, counts={b: counts[:, i].tolist() for i, b in enumerate(BASES)}
    ).counts.normalize(pseudocounts=0.5)
    probabilities = np.array([pwm[b] for b in BASES]).T
    information = float((2 + (probabilities * np.log2(probabilities)).sum(axis=1)).sum())
    return str(pwm.consensus), information


def similarity(probabilities: np.ndarray, motif: str) -> float:
    """Mean probability the filter gives the motif's bases at the best offset (the shorter of
    the two slid along the longer): 1 is a perfect match, 0.25 what a flat filter gives."""
    codes = np.array([BASES.index(b) for b in motif])
    k, m = len(probabilities), len(codes)
    if m <= k:
        return max(
            float(probabilities[np.arange(o, o + m), codes].mean()) for o in range(k - m + 1)
        )
    return max(
        float(probabilities[np.arange(k), codes[o : o + k]].mean()) for o in range(m - k + 1)
    )


def filter_motifs(
    model: Any, onehot: np.ndarray, planted: dict[str, str] | None = None, top: int = 12
) -> dict[str, Any]:
    """Every first-layer filter's motif, the `top` most informative listed first, and for each
    planted motif (simulated data) the filter that matches it best."""
    kernel = int(first_conv(model).kernel_size[0])
    activations = filter_activations(model, onehot)
    counts, sites = filter_counts(activations, onehot, kernel)
    filters = []
    for f in range(counts.shape[0]):
        if sites[f] < MIN_SITES:
            continue
        consensus, information = describe(counts[f])
        probabilities = (counts[f] + 0.5) / (counts[f] + 0.5).sum(axis=1, keepdims=True)
        filters.append(
            {
                "filter": f,
                "sites": int(sites[f]),
                "consensus": consensus,
                "information": information,
                "probabilities": probabilities.round(4).tolist(),
            }
        )
    filters.sort(key=lambda item: -item["information"])
    matches = {}
    for name, motif in (planted or {}).items():
        scored = [
            (similarity(np.array(item["probabilities"]), motif), item["filter"]) for item in filters
        ]
        best = max(scored, default=(0.0, -1))
        matches[name] = {
            "motif": motif,
            "filter": best[1],
            "consensus": next((i["consensus"] for i in filters if i["filter"] == best[1]), ""),
            "similarity": round(best[0], 4),
            "recovered": best[0] >= RECOVERED,
        }
    return {
        "kernel": kernel,
        "filters_total": int(counts.shape[0]),
        "filters_with_motif": len(filters),
        "filters": filters[:top],
        "planted": matches,
    }


def saturation_mutagenesis(model: Any, sequences: Sequence[str], length: int) -> list[dict]:
    """For each sequence, the model's change for every single-base substitution: (len, 4)
    deltas in table units (0 for the base already there)."""
    out = []
    for seq in sequences:
        variants = [seq]
        for i in range(len(seq)):
            for base in BASES:
                variants.append(seq[:i] + base + seq[i + 1 :])
        scores = network.predict(model, one_hot(variants, length))
        deltas = (scores[1:] - scores[0]).reshape(len(seq), 4)
        out.append(
            {"sequence": seq, "prediction": float(scores[0]), "deltas": deltas.round(4).tolist()}
        )
    return out


def sample_rows(n: int, seed: int, limit: int = MAX_ROWS) -> np.ndarray:
    """Sorted row numbers of a seeded sample of at most `limit` rows."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def extremes(predictions: Any, split: str = "test") -> list[str]:
    """The highest and the lowest predicted sequence of a split (all rows if it is empty)."""
    part = predictions[predictions["split"] == split]
    part = part if len(part) else predictions
    ordered = part.sort_values("prediction", kind="stable")
    return [str(ordered["sequence"].iloc[-1]), str(ordered["sequence"].iloc[0])]


def run(
    onehot_path: Path,
    member: Path,
    model: Path,
    predictions: Path,
    output: Path,
    seed: int,
    planted: dict[str, str],
) -> None:
    """The `interpret` stage: one member's first-layer filters as motifs (matched against the
    `planted` ones, where known) and in-silico mutagenesis of the extremes by the whole model."""
    onehot = load_onehot(onehot_path)
    rows = sample_rows(len(onehot), seed)
    result = filter_motifs(network.load(member), np.asarray(onehot[rows]), planted)
    result["rows_scanned"] = len(rows)
    whole = network.load(model)
    if len(whole.inputs) == 1:
        chosen = extremes(io.read_tsv(predictions))
        result["mutagenesis"] = saturation_mutagenesis(whole, chosen, onehot.shape[1])
    io.write_json(result, output)
