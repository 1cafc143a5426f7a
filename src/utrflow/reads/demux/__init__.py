"""Demultiplex nanopore reads to plate wells and cut out each read's variable region.

Per read (either strand, adapter junk at both ends):

1. Look for both primers in a window at each end (edlib infix alignment, IUPAC-aware). The end
   windows are taken as they come (head) and reverse-complemented (tail), so the forward-
   orientation amplicon reads `fwd_barcode fwd_primer ...` in the head and `rev_barcode
   rev_primer ...` in the reverse-complemented tail; a reverse-strand read the other way round.
2. The orientation with more (then closer) primer hits wins; a primer at both ends, or a primer
   in the read's interior, is a chimera.
3. Score every barcode of the end's set in the few bases 5' of its primer; accept the best only
   under `max_barcode_distance` and `min_barcode_margin` ahead of the runner-up. Each end is
   decided on its own, then the pair must name a well of the layout.
4. Assigned reads, turned to the forward strand, give the bases between the two flanks.

Every read gets exactly one status (STATUSES), so the funnel accounts for every read.
"""

from __future__ import annotations

from utrflow.reads.demux.align import (
    EQUALITIES,
    MISS,
    WILDCARD,
    Hit,
    equalities_for,
    search,
    search_distance,
)
from utrflow.reads.demux.chunks import (
    LENGTH_BIN,
    LENGTH_MAX,
    STATUS_LENGTH_EDGES,
    UNASSIGNED,
    ChunkResult,
    demultiplex_chunks,
    length_bin,
    process_chunk,
)
from utrflow.reads.demux.classify import (
    Demultiplexer,
    fit_thresholds,
    region_qualities,
)
from utrflow.reads.demux.ends import (
    ANCHOR,
    EXACT_TABLE_MAX,
    EndScorer,
)
from utrflow.reads.demux.funnel import (
    WELL_COUNT_COLUMNS,
    GroupTally,
    barcode_fit,
    group_funnel,
    status_by_length,
    well_counts,
)
from utrflow.reads.demux.layout import (
    ASSIGNMENT_COLUMNS,
    REGION_COLUMNS,
    REGION_CONTEXT,
    STATUSES,
    Call,
    DemuxSettings,
    Layout,
)
from utrflow.reads.demux.stage import (
    run,
    run_group,
)

__all__ = [
    "ANCHOR",
    "ASSIGNMENT_COLUMNS",
    "EQUALITIES",
    "EXACT_TABLE_MAX",
    "LENGTH_BIN",
    "LENGTH_MAX",
    "MISS",
    "REGION_COLUMNS",
    "REGION_CONTEXT",
    "STATUSES",
    "STATUS_LENGTH_EDGES",
    "UNASSIGNED",
    "WELL_COUNT_COLUMNS",
    "WILDCARD",
    "Call",
    "ChunkResult",
    "Demultiplexer",
    "DemuxSettings",
    "EndScorer",
    "GroupTally",
    "Hit",
    "Layout",
    "barcode_fit",
    "demultiplex_chunks",
    "equalities_for",
    "fit_thresholds",
    "group_funnel",
    "length_bin",
    "process_chunk",
    "region_qualities",
    "run",
    "run_group",
    "search",
    "search_distance",
    "status_by_length",
    "well_counts",
]
