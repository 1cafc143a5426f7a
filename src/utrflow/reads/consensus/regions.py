"""Reading a plate's regions from the demultiplexer's regions.tsv.gz, best reads first."""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from utrflow.io import reading_output
from utrflow.reads.demux import REGION_COLUMNS, REGION_CONTEXT


def construct_ends(
    upstream_flank: str, downstream_flank: str, length: int = REGION_CONTEXT
) -> tuple[str, str]:
    """The flank ends the demultiplexer keeps beside each region: the upstream flank's last
    and the downstream flank's first `length` bases."""
    return upstream_flank[max(0, len(upstream_flank) - length) :], downstream_flank[:length]


class WellReads(NamedTuple):
    """One well's regions and, beside each, its base qualities (Phred+33; '' for FASTA) and its
    read's length (none from a file written before the `read_length` column)."""

    regions: list[str]
    qualities: list[str]
    lengths: Sequence[int] = ()


def best_first(reads: Sequence[tuple[float, str, str, int]], sample: int) -> WellReads:
    """A well's (mean quality, region, base qualities, read length) reads: with more than
    `sample`, the `sample` of best quality first (the consensus sample, `best_reads`, takes the
    first), then the others; each part in file order (the order abPOA meets them in stays the
    file's), ties in quality to the earlier read. A well of `sample` reads or fewer stays as it
    came."""
    order = list(range(len(reads)))
    if len(reads) > sample:
        best = sorted(sorted(order, key=lambda i: -reads[i][0])[:sample])
        chosen = set(best)
        order = best + [i for i in order if i not in chosen]
    return WellReads(
        [reads[i][1] for i in order],
        [reads[i][2] for i in order],
        [reads[i][3] for i in order] if any(read[3] for read in reads) else (),
    )


def read_plate_regions(
    paths: Iterable[str | Path],
    plate: str,
    max_reads: int,
    context: bool = False,
    sample: int | None = None,
    qualities: bool = True,
) -> dict[str, WellReads]:
    """Regions of one plate's wells from regions.tsv.gz files (as the demultiplexer writes them:
    REGION_COLUMNS, tab-joined, never quoted; a file from before the `quality`, the
    `region_quality` or the `read_length` column reads too), at most `max_reads` per well in
    file order, read line by line so a pooled file of millions of reads never sits in memory.
    With `sample` (the consensus sample's size), each well's best reads by mean quality come
    first (`best_first`; FASTA reads have none). With `context`, each region comes with the
    read's flank ends around it (`left` + region + `right`), for `call_well`'s `flanks`; its
    base qualities cover the same bases (none with `qualities=False`, to call as from FASTA)."""
    kept: dict[str, list[tuple[float, str, str, int]]] = defaultdict(list)
    for path in paths:
        with reading_output(path), gzip.open(path, "rt", newline="\n") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            if header not in [REGION_COLUMNS[: len(REGION_COLUMNS) - k] for k in range(4)]:
                raise ValueError(f"its header is not {' '.join(REGION_COLUMNS)}")
            columns = len(header)
            for number, line in enumerate(handle, start=2):
                cells = line.rstrip("\n").split("\t")
                if len(cells) != columns:
                    raise ValueError(f"line {number} has {len(cells)} cells, not {columns}")
                if cells[0] != plate:
                    continue
                well = kept[cells[1]]
                if len(well) < max_reads:
                    quality = float(cells[6]) if columns > 6 and cells[6] else 0.0
                    left, region, right = cells[4], cells[3], cells[5]
                    bases = cells[7] if columns > 7 and qualities else ""
                    if context:
                        region = left + region + right
                    elif bases:
                        bases = bases[len(left) : len(left) + len(region)]
                    length = int(cells[8]) if columns > 8 else 0
                    well.append((quality, region, bases, length))
    return {well: best_first(reads, sample or len(reads)) for well, reads in kept.items()}


# a read this much (a share of it) shorter than the main length is an artefact's; longer reads
# stay (tandem inserts: the demultiplexer takes their copy next to the downstream construct)
ARTEFACT_SHARE = 0.2
LENGTH_BIN = 20  # nt: the bins of the read lengths whose fullest is the main mode
MIN_LENGTHS = 20  # fewer regions with a read length: no main length, nothing left out


def main_length(wells: Iterable[WellReads]) -> int | None:
    """The amplicon's read length: the median of the reads within a bin of the fullest
    LENGTH_BIN-nt bin of every region's read length (the length distribution's main mode);
    None with fewer than MIN_LENGTHS lengths (a file without them, or a tiny plate)."""
    lengths = np.array([n for well in wells for n in well.lengths if n > 0], dtype=np.int64)
    if lengths.size < MIN_LENGTHS:
        return None
    bins = lengths // LENGTH_BIN
    mode = int(np.bincount(bins).argmax())
    return int(np.median(lengths[np.abs(bins - mode) <= 1]))


def drop_artefacts(well: WellReads, main: int | None) -> tuple[WellReads, int]:
    """The well's regions less those whose read is more than ARTEFACT_SHARE of `main` shorter
    than it (recurring short artefacts that happen to carry both flanks: their region is not
    the colony's insert), and how many were left out."""
    if main is None or not well.lengths:
        return well, 0
    keep = [i for i, n in enumerate(well.lengths) if n >= (1 - ARTEFACT_SHARE) * main]
    if len(keep) == len(well.regions):
        return well, 0
    return (
        WellReads(
            [well.regions[i] for i in keep],
            [well.qualities[i] for i in keep] if well.qualities else [],
            [well.lengths[i] for i in keep],
        ),
        len(well.regions) - len(keep),
    )
