"""The `demux` stage: one read group's reads to wells, written atomically."""

from __future__ import annotations

import gzip
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.io import all_or_nothing, open_gzip_out, write_json, write_rows
from utrflow.reads.barcodes import check_group_barcodes
from utrflow.reads.demux.chunks import demultiplex_chunks
from utrflow.reads.demux.classify import fit_thresholds
from utrflow.reads.demux.funnel import WELL_COUNT_COLUMNS, GroupTally, group_funnel, well_counts
from utrflow.reads.demux.layout import (
    ASSIGNMENT_COLUMNS,
    DUPLEX_PARENT,
    REGION_COLUMNS,
    DemuxSettings,
    Layout,
)
from utrflow.reads.files import iter_chunks
from utrflow.sheets import Construct, ReadGroup

LOG = logging.getLogger("utrflow.reads.demux")


def run_group(
    group: ReadGroup,
    wells: list[sheets.Row],
    construct: Construct,
    settings: DemuxSettings,
    out_dir: Path,
    threads: int = 1,
) -> dict[str, Any]:
    """Demultiplex one read group into `out_dir`: assignments.tsv.gz, regions.tsv.gz,
    well_counts.tsv and funnel.json (returned too). Written atomically, so a killed job
    leaves nothing that looks finished."""
    layout = Layout.from_wells(wells, group.plates)
    if not layout.wells:
        raise InputError(f"wells: no wells listed for plate(s) {', '.join(group.plates)}")
    fits = fit_thresholds(layout, settings, bool(construct.fwd_primer and construct.rev_primer))
    for fit in fits if layout.rev else fits[:1]:
        LOG.info("demux %s: %s", group.name, fit.describe())
    tally = GroupTally()
    out_dir = Path(out_dir)
    names = ("assignments.tsv.gz", "regions.tsv.gz", "well_counts.tsv", "funnel.json")
    with all_or_nothing([out_dir / name for name in names], out_dir), ExitStack() as stack:
        assignments = open_gzip_out(stack, out_dir / "assignments.tsv.gz")
        regions = open_gzip_out(stack, out_dir / "regions.tsv.gz")
        assignments.write(("\t".join(ASSIGNMENT_COLUMNS) + "\n").encode())
        regions.write(("\t".join(REGION_COLUMNS) + "\n").encode())
        stats: dict[str, int] = {}
        parents: list[str] = []  # duplex parents read so far, not yet written
        chunks = iter_chunks(list(group.files), settings.chunk_reads, stats, parents)
        for result in demultiplex_chunks(chunks, construct, layout, settings, threads, fits):
            assignments.write(result.assignments)
            regions.write(result.regions)
            tally.add(result)
            _write_parents(assignments, parents, layout, tally)
        _write_parents(assignments, parents, layout, tally)
        stack.close()  # assignments and regions renamed into place
        counts = well_counts(layout, wells, tally)
        write_rows(counts, WELL_COUNT_COLUMNS, out_dir / "well_counts.tsv")
        funnel = group_funnel(group, layout, tally, settings, fits)
        # reads whose one quality throughout says nothing: their wells are called by counting
        funnel["uniform_quality_reads"] = stats.get("uniform_quality_reads", 0)
        # dorado duplex: simplex parents of a duplex read (status duplex_parent), kept for
        # readers of funnel.json written before they had that status
        funnel["duplex_parents"] = stats.get("duplex_parents", 0)
        write_json(funnel, out_dir / "funnel.json")
    return funnel


def _write_parents(
    out: gzip.GzipFile, parents: list[str], layout: Layout, tally: GroupTally
) -> None:
    """Rows (status `duplex_parent`, no well) for the duplex parents met so far, counted in
    the funnel's statuses: every read of the files is in assignments.tsv.gz once, and each
    molecule is demultiplexed once, by its duplex read."""
    if not parents:
        return
    plate = layout.plates[0] if len(layout.plates) == 1 else ""
    out.write("".join(f"{name}\t{plate}\t\t{DUPLEX_PARENT}\t\t\t\n" for name in parents).encode())
    tally.status[DUPLEX_PARENT] += len(parents)
    parents.clear()


def run(
    plates_path: Path,
    wells_path: Path,
    group_name: str,
    construct_cfg: dict[str, str],
    settings: DemuxSettings,
    out_dir: Path,
    threads: int,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """The `demux` stage for one read group: its barcode set checked, every read assigned or
    told why not, the regions and counts written under `out_dir`. Returns the funnel. Reads
    paths in the plates sheet resolve against `base_dir` (default: the working directory)."""
    construct = sheets.load_construct(construct_cfg)
    plates = sheets.load_plates(plates_path, base_dir, settings.include_failed)
    wells = sheets.load_wells(wells_path, [row["plate"] for row in plates])
    groups = {g.name: g for g in sheets.read_groups(plates, str(plates_path))}
    if group_name not in groups:
        raise InputError(f"{plates_path}: no read group {group_name!r} (has: {', '.join(groups)})")
    group = groups[group_name]
    check_group_barcodes(wells, group, settings.min_barcode_set_distance, str(wells_path))
    return run_group(group, wells, construct, settings, out_dir, threads)
