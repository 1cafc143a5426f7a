"""Score new sequences with a trained model or ensemble: mean and spread per sequence."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.errors import InputError
from utrflow.io import read_text_table
from utrflow.model import network as model_module
from utrflow.sequences import invalid_characters, normalize, one_hot

log = logging.getLogger(__name__)


def read_sequences(path: str | Path) -> pd.DataFrame:
    """`id` and `sequence` from FASTA (.fa, .fasta, .fna; .gz too) or CSV/TSV with `sequence`."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in {".fa", ".fasta", ".fna"}:
        opener = gzip.open if path.suffix.lower() == ".gz" else open
        ids: list[str] = []
        seqs: list[str] = []
        with opener(path, "rt", encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    ids.append(line[1:].split()[0] if len(line) > 1 else f"seq{len(ids) + 1}")
                    seqs.append("")
                elif not ids:
                    raise InputError(f"{path}: line {number}: sequence before the first '>' header")
                else:
                    seqs[-1] += line
        frame = pd.DataFrame({"id": ids, "sequence": seqs})
    else:
        sep = "\t" if suffixes and suffixes[-1] in {".tsv", ".txt", ".tab"} else ","
        frame = read_text_table(path, sep)
        if "sequence" not in frame.columns:
            raise InputError(f"{path}: missing column 'sequence'")
        if "id" not in frame.columns:
            frame.insert(0, "id", [f"seq{i + 1}" for i in range(len(frame))])
    frame["sequence"] = frame["sequence"].map(normalize)
    for i, seq in enumerate(frame["sequence"]):
        if not seq or invalid_characters(seq):
            raise InputError(f"{path}: record {i + 1} ({frame['id'].iloc[i]}): not a DNA sequence")
    return frame


def predict_sequences(
    sequences: Sequence[str],
    members: Sequence[Any],
    covariates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd over ensemble members of each sequence's prediction, in table units."""
    length = members[0].inputs[0].shape[1]
    x = one_hot(list(sequences), length)
    predictions = np.stack([model_module.predict(m, x, covariates) for m in members])
    return predictions.mean(axis=0), predictions.std(axis=0)


def run(path: Path, members: Sequence[Path], output: Path) -> None:
    """The `predict` stage: new sequences scored by every member, mean and sd, and how many 5'
    bases of each the model's width left out (`truncated_nt`, 0 where it fits)."""
    frame = read_sequences(path)
    models = [model_module.load(p) for p in members]
    if len(models[0].inputs) > 1:
        raise InputError(f"{path}: the model needs covariates; predict takes sequences only")
    mean, sd = predict_sequences(frame["sequence"].tolist(), models)
    width = models[0].inputs[0].shape[1]
    dropped = (frame["sequence"].str.len() - width).clip(lower=0)
    if dropped.any():
        first = int(dropped.to_numpy().nonzero()[0][0])
        log.warning(
            "%s: %d sequence(s) longer than the model's width (%d nt), e.g. %s, are scored by "
            "their 3' %d nt; column truncated_nt says how many 5' bases each lost",
            path,
            int((dropped > 0).sum()),
            width,
            frame["id"].iloc[first],
            width,
        )
    io.write_tsv(
        frame.assign(prediction=mean, prediction_sd=sd, truncated_nt=dropped.astype(int)), output
    )
