"""Reading a plate's regions from the demultiplexer's regions.tsv.gz, best reads first."""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from utrflow.io import reading_output
from utrflow.reads.demux import REGION_COLUMNS, REGION_CONTEXT


def construct_ends(
    upstream_flank: str, downstream_flank: str, length: int = REGION_CONTEXT
) -> tuple[str, str]:
    """The flank ends the demultiplexer keeps beside each region: the upstream flank's last
    and the downstream flank's first `length` bases."""
    return upstream_flank[max(0, len(upstream_flank) - length) :], downstream_flank[:length]


class WellReads(NamedTuple):
    """One well's regions and, beside each, its base qualities (Phred+33; '' for FASTA)."""

    regions: list[str]
    qualities: list[str]


def best_first(reads: Sequence[tuple[float, str, str]], sample: int) -> WellReads:
    """A well's (mean quality, region, base qualities) reads: with more than `sample`, the
    `sample` of best quality first (the consensus sample, `best_reads`, takes the first), then
    the others; each part in file order (the order abPOA meets them in stays the file's), ties
    in quality to the earlier read. A well of `sample` reads or fewer stays as it came."""
    order = list(range(len(reads)))
    if len(reads) > sample:
        best = sorted(sorted(order, key=lambda i: -reads[i][0])[:sample])
        chosen = set(best)
        order = best + [i for i in order if i not in chosen]
    return WellReads([reads[i][1] for i in order], [reads[i][2] for i in order])


def read_plate_regions(
    paths: Iterable[str | Path],
    plate: str,
    max_reads: int,
    context: bool = False,
    sample: int | None = None,
    qualities: bool = True,
) -> dict[str, WellReads]:
    """Regions of one plate's wells from regions.tsv.gz files (as the demultiplexer writes them:
    REGION_COLUMNS, tab-joined, never quoted; a file from before the `quality` or the
    `region_quality` column reads too), at most `max_reads` per well in file order, read line
    by line so a pooled file of millions of reads never sits in memory. With `sample` (the
    consensus sample's size), each well's best reads by mean quality come first (`best_first`;
    FASTA reads have none). With `context`, each region comes with the read's flank ends around
    it (`left` + region + `right`), for `call_well`'s `flanks`; its base qualities cover the
    same bases (none with `qualities=False`, to call as from FASTA)."""
    kept: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for path in paths:
        with reading_output(path), gzip.open(path, "rt", newline="\n") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            if header not in (REGION_COLUMNS, REGION_COLUMNS[:-1], REGION_COLUMNS[:-2]):
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
                    well.append((quality, region, bases))
    return {well: best_first(reads, sample or len(reads)) for well, reads in kept.items()}
