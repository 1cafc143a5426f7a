"""The workflow's stages chained in one process, for notebooks, benchmarks and tests.

The workflow runs each stage's `run()` as its own job (demux per read group, consensus per
plate, one link that also reads the plate readers; encode, train, evaluate); these functions
call the same `run()`s in the same order on a folder, so the chain is written once and the
figures they give are the workflow's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from utrflow import io, sheets
from utrflow.config import section_defaults
from utrflow.model import encode, evaluate, training
from utrflow.model.settings import model_settings
from utrflow.plates import link, reader
from utrflow.reads import consensus, demux
from utrflow.yamlio import load_yaml


@dataclass(frozen=True)
class WellCalls:
    """Every well's call (consensus.CONSENSUS_COLUMNS) and every read's assignment."""

    calls: pd.DataFrame
    assignments: pd.DataFrame


def call_wells(
    run: Path,
    workdir: Path,
    threads: int = 2,
    demux_settings: demux.DemuxSettings | None = None,
    consensus_settings: consensus.ConsensusSettings | None = None,
    base_dir: Path | None = None,
    flank_context: bool = True,
    base_qualities: bool = True,
) -> WellCalls:
    """Demultiplex and call every plate of a run folder (plates.tsv, wells.tsv, library.csv,
    construct.yaml), as the demux and consensus jobs do; their files go under `workdir`
    (demux/<group>/, consensus/<plate>.tsv). Relative paths in plates.tsv resolve against
    `base_dir` (default: the working directory), as in the workflow. `flank_context=False`
    calls the regions alone, as before the flank ends were kept, and `base_qualities=False` as
    from FASTA (to measure what each brings)."""
    demux_settings = demux_settings or demux.DemuxSettings()
    settings = consensus_settings or consensus.ConsensusSettings()
    construct = load_yaml(run / "construct.yaml")
    library = run / "library.csv" if (run / "library.csv").is_file() else None
    flanks = consensus.construct_ends(
        construct.get("upstream_flank", ""),
        construct.get("downstream_flank", ""),
        demux.REGION_CONTEXT if flank_context else 0,
    )
    plates = sheets.load_plates(run / "plates.tsv", base_dir or Path.cwd())
    calls, reads = [], []
    for group in sheets.read_groups(plates):
        out = workdir / "demux" / group.name
        demux.run(
            run / "plates.tsv",
            run / "wells.tsv",
            group.name,
            construct,
            demux_settings,
            out,
            threads,
            base_dir,
        )
        reads.append(pd.read_csv(out / "assignments.tsv.gz", sep="\t", keep_default_na=False))
        for plate in group.plates:
            calls.append(
                consensus.run(
                    plate,
                    out / "well_counts.tsv",
                    out / "regions.tsv.gz",
                    library,
                    settings,
                    workdir / "consensus" / f"{plate}.tsv",
                    threads,
                    flanks,
                    base_qualities,
                )
            )
    table = pd.DataFrame(
        [row for plate in calls for row in plate], columns=consensus.CONSENSUS_COLUMNS
    )
    return WellCalls(table, pd.concat(reads, ignore_index=True))


def label_wells(
    run: Path,
    workdir: Path,
    settings: reader.FluorescenceSettings | None = None,
    base_dir: Path | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """The labelled table (link.LINK_COLUMNS) of a run folder's plates, from the calls that
    `call_wells` left in `workdir`, as the link job makes it (its files go under `workdir`:
    fluorescence/, table/)."""
    settings = settings or reader.FluorescenceSettings()
    seed = section_defaults()["seed"] if seed is None else seed
    base = base_dir or Path.cwd()
    plates = sheets.load_plates(run / "plates.tsv", base)
    readers = [
        link.ReaderFile(row["plate"], base / row["fluorescence"], str(row["reader_plate"]))
        for row in plates
        if row["fluorescence"]
    ]
    tables = workdir / "table"
    return link.run(
        [workdir / "consensus" / f"{row['plate']}.tsv" for row in plates],
        readers,
        run / "wells.tsv",
        settings,
        seed,
        tables / "labelled.tsv",
        tables / "replicates.tsv",
        tables / "plate_qc.tsv",
        tables / "summary.json",
        workdir / "fluorescence",
    )


def train_and_evaluate(
    table: Path, workdir: Path, cfg: dict[str, Any], threads: int = 1, truth: Path | None = None
) -> dict[str, Any]:
    """A labelled table through the encode, train (one member), ensemble and evaluate jobs of
    a validated config `cfg`; their files go under `workdir`. Returns the metrics (with the
    noise ceiling when `truth`, the simulator's per-well truth, is given)."""
    enc = workdir / "encode"
    onehot, split, features = enc / "onehot.npy", enc / "split.tsv", enc / "features.json"
    encode.run(table, onehot, split, features, cfg)
    encoded = encode.load_encoded(onehot, split, features)
    member = workdir / "model" / "members" / "0"
    settings = model_settings(cfg["model"])
    training.run_member(
        encoded,
        settings,
        cfg["seed"],
        0,
        threads,
        member / "model.keras",
        member / "history.tsv",
        member / "training.json",
    )
    model = workdir / "model"
    evaluate.run(
        encoded,
        member / "model.keras",
        [member / "model.keras"],
        None,
        None,
        truth,
        None,
        settings.task,
        settings.threshold,
        model / "metrics.json",
        model / "predictions.tsv",
    )
    metrics: dict[str, Any] = io.read_json(model / "metrics.json")
    metrics["training"] = io.read_json(member / "training.json")
    return metrics
