"""The `consensus` stage: a plate's wells called over a pool of processes, matched to the
library, one row per well.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from utrflow import io, sheets
from utrflow.library_index import LibraryIndex
from utrflow.parallel import pool_context
from utrflow.reads.consensus.alleles import share_interval
from utrflow.reads.consensus.background import SiteCounts, total
from utrflow.reads.consensus.call import Observed, observe_well
from utrflow.reads.consensus.library import Match, match_library
from utrflow.reads.consensus.qc import CONSENSUS_COLUMNS, ConsensusSettings, WellCall, well_qc
from utrflow.reads.consensus.regions import (
    WellReads,
    drop_artefacts,
    main_length,
    read_plate_regions,
)


def call_and_match(
    well: WellReads,
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    flanks: tuple[str, str] = ("", ""),
    again: tuple[Observed, SiteCounts] | None = None,
) -> tuple[WellCall, Match | None, Observed]:
    """One well's call and, with a library, its match; and what the call leaves for a second
    look (`observe_well`), which `again` (the first look and the plate's background) takes."""
    first, background = again if again else (None, None)
    call, observed = observe_well(
        well.regions, settings, library, flanks, well.qualities, background, first
    )
    match = (
        match_library(call.sequence, library, settings.min_match_margin)
        if library is not None and call.sequence
        else None
    )
    return call, match, observed


_WORKER: tuple[ConsensusSettings, LibraryIndex | None, tuple[str, str]] | None = None


def _init_worker(
    settings: ConsensusSettings, library: LibraryIndex | None, flanks: tuple[str, str]
) -> None:
    global _WORKER
    _WORKER = (settings, library, flanks)


def _worker_call(
    task: tuple[WellReads, tuple[Observed, SiteCounts] | None],
) -> tuple[WellCall, Match | None, Observed]:
    assert _WORKER is not None
    return call_and_match(task[0], *_WORKER, task[1])


def call_wells(
    wells: Sequence[WellReads],
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[tuple[WellCall, Match | None]]:
    """Every well's call and match, in order, over `threads` processes (1: in this one).

    Wells are independent and each costs about the same (the consensus sample is bounded), so
    handing them out a few at a time keeps every core busy to the end. Then every well with
    reads enough for a second allele is judged again against the plate's error background by
    site (`background`), its first consensus kept: a second allele is found, or dropped, by
    each site's own error rate, where the first look had only the base qualities' mean.
    """
    tasks: list[tuple[WellReads, tuple[Observed, SiteCounts] | None]] = [(w, None) for w in wells]
    if threads <= 1 or len(wells) < 2:
        results = [call_and_match(well, settings, library, flanks) for well in wells]
        again = _second_look(wells, results, settings)
        for i, task in again.items():
            results[i] = call_and_match(task[0], settings, library, flanks, task[1])
        return [(call, match) for call, match, _ in results]
    context = pool_context()
    with context.Pool(min(threads, len(wells)), _init_worker, (settings, library, flanks)) as pool:
        chunk = max(1, len(wells) // (8 * threads))
        results = pool.map(_worker_call, tasks, chunksize=chunk)
        again = _second_look(wells, results, settings)
        for i, result in zip(again, pool.map(_worker_call, again.values(), chunk), strict=True):
            results[i] = result
    return [(call, match) for call, match, _ in results]


def _second_look(
    wells: Sequence[WellReads],
    results: Sequence[tuple[WellCall, Match | None, Observed]],
    settings: ConsensusSettings,
) -> dict[int, tuple[WellReads, tuple[Observed, SiteCounts]]]:
    """The wells to judge again against the plate's background (by index): those whose reads
    could hold a second allele (twice `min_allele_share` of them, and 4)."""
    plate = total([observed.sites for *_, observed in results])
    return {
        i: (wells[i], (observed, plate))
        for i, (call, _, observed) in enumerate(results)
        if call.n_used >= max(4, 2 * math.ceil(settings.min_allele_share * call.n_used))
    }


def call_plate(
    plate: str,
    counts: Iterable[Mapping[str, str]],
    regions: Mapping[str, WellReads],
    library: LibraryIndex | None,
    settings: ConsensusSettings,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
    artefacts: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per well of the plate (CONSENSUS_COLUMNS), every well of the layout (the rows
    of well_counts.tsv) listed; wells are called over `threads` processes; `flanks` as
    `call_well` takes them (`construct_ends`) when the regions carry flank ends; `artefacts`:
    each well's regions left out as artefacts' (`drop_artefacts`)."""
    rows = []
    layout = [
        (row["well"], row["role"], row["reads"], row["regions"], row.get("tandem_inserts") or 0)
        for row in counts
        if row["plate"] == plate
    ]
    wells = [regions.get(well, WellReads([], [])) for well, *_ in layout]
    results = call_wells(wells, settings, library, threads, flanks)
    for (well, role, n_reads, n_regions, tandem), (call, match) in zip(
        layout, results, strict=True
    ):
        qc = well_qc(int(n_reads), call, settings)
        rows.append(
            {
                "plate": plate,
                "well": well,
                "role": role,
                "n_reads": int(n_reads),
                "n_regions": int(n_regions),
                "sequence": call.sequence,
                "purity": round(call.purity, 4) if call.n_used else None,
                "minor_sequence": call.minor_sequence,
                "variant_id": match.variant_id if match else "",
                "match": match.match if match else "",
                "edit_distance": match.distance if match and match.distance >= 0 else None,
                "differences": match.differences if match else "",
                "second_variant_id": match.second_variant_id if match else "",
                "second_distance": (
                    match.second_distance if match and match.second_distance >= 0 else None
                ),
                "qc": qc,
                **allele2_columns(call),
                "called_by": called_by(call),
                "artefact_regions": (artefacts or {}).get(well, 0),
                "tandem_inserts": int(tandem),
            }
        )
    return rows


def called_by(call: WellCall) -> str:
    """How the call was settled: `posterior` when the reads' base qualities weighed it (it has
    a margin), `counting` otherwise (no qualities, placeholder ones, or too many regions);
    '' for a well without regions."""
    if not call.n_used:
        return ""
    return "posterior" if call.margin is not None else "counting"


def allele2_columns(call: WellCall) -> dict[str, Any]:
    """The second allele's reads and the 95 % interval of its share (empty without one)."""
    if not call.minor_sequence:
        return {"allele2_reads": None, "allele2_low": None, "allele2_high": None}
    low, high = share_interval(call.minor_reads, call.n_used)
    return {
        "allele2_reads": call.minor_reads,
        "allele2_low": round(low, 4),
        "allele2_high": round(high, 4),
    }


def library_index(path: Path | None, settings: ConsensusSettings) -> LibraryIndex | None:
    """The designed library, indexed for matching calls (None without a library)."""
    if not path:
        return None
    designs = sheets.load_library(path)
    return LibraryIndex(
        [row["id"] for row in designs],
        [row["sequence"] for row in designs],
        settings.max_variant_distance,
    )


def run(
    plate: str,
    counts: Path,
    regions: Path,
    library: Path | None,
    settings: ConsensusSettings,
    output: Path,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
    base_qualities: bool = True,
) -> list[dict[str, Any]]:
    """The `consensus` stage for one plate: each well's call, purity and library match
    (written to `output`, and returned as rows), wells across `threads` processes; with
    `flanks` (`construct_ends`), over flank end - UTR - flank end (see `call_well`);
    `base_qualities=False` calls as from FASTA (to measure what the qualities bring)."""
    index = library_index(library, settings)
    well_counts = io.read_rows(counts)
    plate_regions = read_plate_regions(
        [regions], plate, settings.max_reads, any(flanks), settings.consensus_reads, base_qualities
    )
    main = main_length(plate_regions.values())
    artefacts = {}
    for well, reads in plate_regions.items():
        plate_regions[well], artefacts[well] = drop_artefacts(reads, main)
    unweighed = sum(1 for well in plate_regions.values() if not any(well.qualities))
    if unweighed:  # FASTA, or reads whose one quality throughout was dropped when read
        logging.getLogger("utrflow.reads.consensus").info(
            "%s: %d of %d wells hold reads without base qualities: called by counting reads",
            plate,
            unweighed,
            len(plate_regions),
        )
    calls = call_plate(
        plate, well_counts, plate_regions, index, settings, threads, flanks, artefacts
    )
    io.write_rows(calls, CONSENSUS_COLUMNS, output)
    return calls
