"""The reads -> labelled-table stages chained in one process, for notebooks, benchmarks and tests.

The workflow runs the same functions as separate jobs (demux per read group, consensus and
fluorescence per plate, one link); this is the short way to do the same on a folder of sheets
such as the one `simulate_run` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from utrflow.plates import link
from utrflow.plates.reader import FluorescenceSettings, load_plate
from utrflow.reads import consensus, demux, sheets
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
) -> WellCalls:
    """Demultiplex and call every plate of a run folder (plates.tsv, wells.tsv, library.csv,
    construct.yaml); intermediate files go under `workdir`/demux/<group>/. Relative paths in
    plates.tsv resolve against `base_dir` (default: the working directory), as in the workflow."""
    demux_settings = demux_settings or demux.DemuxSettings()
    settings = consensus_settings or consensus.ConsensusSettings()
    plates = sheets.load_plates(run / "plates.tsv", base_dir or Path.cwd())
    wells = sheets.load_wells(run / "wells.tsv")
    construct = sheets.load_construct(load_yaml(run / "construct.yaml"))
    index = None
    if (run / "library.csv").is_file():
        library = sheets.load_library(run / "library.csv")
        index = consensus.LibraryIndex(
            library["id"], library["sequence"], settings.max_variant_distance
        )
    calls, reads = [], []
    for group in sheets.read_groups(plates):
        out = workdir / "demux" / group.name
        demux.run_group(group, wells, construct, demux_settings, out, threads)
        reads.append(pd.read_csv(out / "assignments.tsv.gz", sep="\t", keep_default_na=False))
        counts = pd.read_csv(out / "well_counts.tsv", sep="\t", keep_default_na=False)
        for plate in group.plates:
            regions = consensus.read_plate_regions(
                [out / "regions.tsv.gz"], plate, settings.max_reads
            )
            calls.append(consensus.call_plate(plate, counts, regions, index, settings))
    return WellCalls(pd.concat(calls, ignore_index=True), pd.concat(reads, ignore_index=True))


def label_wells(
    run: Path,
    calls: pd.DataFrame,
    settings: FluorescenceSettings | None = None,
    base_dir: Path | None = None,
) -> pd.DataFrame:
    """The labelled table (link.LINK_COLUMNS) of a run folder's plates from their calls."""
    settings = settings or FluorescenceSettings()
    base = base_dir or Path.cwd()
    plates = sheets.load_plates(run / "plates.tsv", base)
    wells = sheets.load_wells(run / "wells.tsv")
    readings = {
        plate: load_plate(plate, wells, base / reader, settings, block)[0]
        for plate, reader, block in zip(
            plates["plate"], plates["fluorescence"], plates["reader_plate"], strict=True
        )
        if reader
    }
    per_plate = [calls[calls["plate"] == plate] for plate in plates["plate"]]
    table, _shifts = link.link(per_plate, readings, settings)
    return table
