"""Reads classified in chunks across a pool of processes; each chunk's rows and tallies."""

from __future__ import annotations

import bisect
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from utrflow.parallel import pool_context
from utrflow.reads.barcodes import EndFit
from utrflow.reads.demux.classify import Demultiplexer, region_qualities
from utrflow.reads.demux.layout import DemuxSettings, Layout
from utrflow.reads.files import Read
from utrflow.sheets import Construct

LENGTH_BIN = 10  # nt per bin of the read-length histograms
LENGTH_MAX = 5000  # longer reads count in the last bin
UNASSIGNED = "unassigned"  # the read-QC key of reads that reach no plate
# Read-length bins of the status shares (lower edges, nt): short PCR artefacts apart from
# full-length amplicons of a few hundred nt to several kb.
STATUS_LENGTH_EDGES = (0, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)


def length_bin(length: int) -> int:
    """The lower edge of the status-share bin a read of `length` nt falls in."""
    return STATUS_LENGTH_EDGES[bisect.bisect_right(STATUS_LENGTH_EDGES, length) - 1]


@dataclass
class ChunkResult:
    """A chunk's output rows (already formatted) and its tallies."""

    assignments: bytes
    regions: bytes
    status: Counter
    reads_per_well: Counter
    regions_per_well: Counter
    lengths: Counter = field(default_factory=Counter)  # (plate or UNASSIGNED, length bin)
    qualities: Counter = field(default_factory=Counter)  # (plate or UNASSIGNED, mean Phred)
    status_lengths: Counter = field(default_factory=Counter)  # (status, length bin)
    distances: Counter = field(default_factory=Counter)  # (end, 'best'/'second', distance)
    clipped: int = 0  # reads assigned with a barcode cut by the read's end
    tandem: Counter = field(default_factory=Counter)  # per well: regions from tandem reads


_WORKER: Demultiplexer | None = None


def _init_worker(
    construct: Construct, layout: Layout, settings: DemuxSettings, fits: tuple[EndFit, EndFit]
) -> None:
    global _WORKER
    _WORKER = Demultiplexer(construct, layout, settings, fits)


def _number(value: int) -> str:
    return "" if value < 0 else str(value)


def process_chunk(demux: Demultiplexer, records: list[Read]) -> ChunkResult:
    """Classify a chunk; rows as TSV bytes so little crosses between processes."""
    layout = demux.layout
    group_plate = layout.plates[0] if len(layout.plates) == 1 else ""
    lines: list[str] = []
    region_lines: list[str] = []
    status: Counter = Counter()
    reads_per_well: Counter = Counter()
    regions_per_well: Counter = Counter()
    lengths: Counter = Counter()
    qualities: Counter = Counter()
    status_lengths: Counter = Counter()
    distances: Counter = Counter()
    clipped = 0
    tandem: Counter = Counter()
    for name, seq, quality, phred in records:
        call = demux.classify(seq)
        clipped += call.clipped
        status[call.status] += 1
        status_lengths[call.status, length_bin(len(seq))] += 1
        if call.fwd_distance >= 0:
            distances["fwd", "best", call.fwd_distance] += 1
            distances["fwd", "second", call.fwd_second] += 1
        if call.rev_distance >= 0:
            distances["rev", "best", call.rev_distance] += 1
            distances["rev", "second", call.rev_second] += 1
        plate, well = layout.wells[call.well] if call.well >= 0 else (group_plate, "")
        qc_key = plate if call.well >= 0 else UNASSIGNED
        lengths[qc_key, min(len(seq), LENGTH_MAX) // LENGTH_BIN * LENGTH_BIN] += 1
        if quality is not None:
            qualities[qc_key, int(quality)] += 1
        lines.append(
            f"{name}\t{plate}\t{well}\t{call.status}\t{call.strand}\t"
            f"{_number(call.fwd_distance)}\t{_number(call.rev_distance)}\n"
        )
        if call.well >= 0:
            reads_per_well[call.well] += 1
            if call.region is not None:
                regions_per_well[call.well] += 1
                tandem[call.well] += call.tandem  # the last of the read's tandem inserts
                left, right = call.context
                shown = "" if quality is None else f"{quality:.1f}"  # the read's mean Phred
                assert call.read_span is not None
                bases = region_qualities(phred, call.strand, call.read_span)
                region_lines.append(
                    f"{plate}\t{well}\t{name}\t{call.region}\t{left}\t{right}\t{shown}\t{bases}"
                    f"\t{len(seq)}\n"
                )
    return ChunkResult(
        "".join(lines).encode(),
        "".join(region_lines).encode(),
        status,
        reads_per_well,
        regions_per_well,
        lengths,
        qualities,
        status_lengths,
        distances,
        clipped,
        tandem,
    )


def _worker_chunk(records: list[Read]) -> ChunkResult:
    assert _WORKER is not None
    return process_chunk(_WORKER, records)


def demultiplex_chunks(
    chunks: Iterable[list[Read]],
    construct: Construct,
    layout: Layout,
    settings: DemuxSettings,
    threads: int = 1,
    fits: tuple[EndFit, EndFit] | None = None,
) -> Iterator[ChunkResult]:
    """Results of every chunk, in input order, over `threads` processes (1: in this one)."""
    demux = Demultiplexer(construct, layout, settings, fits)
    if threads <= 1:
        for chunk in chunks:
            yield process_chunk(demux, chunk)
        return
    context = pool_context()
    initargs = (construct, layout, settings, demux.fits)
    with context.Pool(threads, _init_worker, initargs) as pool:
        # Pool.imap would read the whole file ahead into its queue; a window of two chunks per
        # worker keeps every core busy and memory flat, and popping in order keeps file order.
        window: deque = deque()
        for chunk in chunks:
            window.append(pool.apply_async(_worker_chunk, (chunk,)))
            if len(window) >= 2 * threads:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
