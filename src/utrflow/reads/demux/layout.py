"""What the demultiplexer works with and gives: its settings, a read group's layout of
barcode pairs to wells, each read's call, and the statuses and columns it writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from utrflow import sheets
from utrflow.config import section_defaults

# dorado duplex: a simplex read whose duplex read is in the same files; not demultiplexed (the
# duplex read stands for the molecule) but still one row of assignments.tsv.gz
DUPLEX_PARENT = "duplex_parent"
STATUSES = (
    "assigned",
    "one_end",
    "no_barcode",
    "ambiguous",
    "pair_not_in_layout",
    "chimera",
    "too_short",
    DUPLEX_PARENT,
)

ASSIGNMENT_COLUMNS = [
    "read_id",
    "plate",
    "well",
    "status",
    "strand",
    "fwd_distance",
    "rev_distance",
]
REGION_COLUMNS = [
    "plate", "well", "read_id", "region", "left", "right", "quality", "region_quality",
    "read_length",  # the whole read's length: regions of artefact reads are told by it
]  # fmt: skip
# Read bases kept beside each region (`left`, `right`: the flanks' ends as read), so the consensus
# places the flank-UTR boundaries on all reads at once and a base shared by a flank and the UTR
# cannot move them (one read's flank alignment may take the UTR's first base; the majority won't).
REGION_CONTEXT = 6


_DEFAULTS = section_defaults("demux")


@dataclass(frozen=True)
class DemuxSettings:
    """Thresholds of the demultiplexer (config key `demux`); defaults suit R10 and R9 reads."""

    end_window: int = _DEFAULTS["end_window"]
    max_primer_error: float = _DEFAULTS["max_primer_error"]
    max_barcode_distance: int | str = _DEFAULTS["max_barcode_distance"]
    min_barcode_margin: int = _DEFAULTS["min_barcode_margin"]
    barcode_slack: int = _DEFAULTS["barcode_slack"]
    min_read_length: int = _DEFAULTS["min_read_length"]
    require_both_ends: bool = _DEFAULTS["require_both_ends"]
    chimera_check: bool = _DEFAULTS["chimera_check"]
    max_interior_primer_error: float = _DEFAULTS["max_interior_primer_error"]
    max_flank_error: float = _DEFAULTS["max_flank_error"]
    min_barcode_set_distance: int = _DEFAULTS["min_barcode_set_distance"]
    chunk_reads: int = _DEFAULTS["chunk_reads"]
    include_failed: bool = _DEFAULTS["include_failed"]


@dataclass(frozen=True)
class Layout:
    """One read group's wells as barcode indices: what a pair of barcodes means."""

    plates: tuple[str, ...]
    wells: tuple[tuple[str, str], ...]  # (plate, well) per layout row
    fwd: tuple[str, ...]  # distinct forward barcodes
    rev: tuple[str, ...]  # distinct reverse barcodes (empty for single-barcode designs)
    pair_well: dict[tuple[int, int], int] = field(hash=False)
    fwd_wells: dict[int, tuple[int, ...]] = field(hash=False)
    rev_wells: dict[int, tuple[int, ...]] = field(hash=False)

    @classmethod
    def from_wells(cls, wells: Iterable[Mapping[str, Any]], plates: Iterable[str]) -> Layout:
        """The layout of the wells of `plates` (wells sheet rows as `sheets.load_wells` gives
        them)."""
        plates = tuple(plates)
        rows = sheets.group_wells(wells, plates)
        fwd = tuple(dict.fromkeys(row["fwd_barcode"] for row in rows))
        rev = tuple(dict.fromkeys(row["rev_barcode"] for row in rows if row["rev_barcode"]))
        f_index = {b: i for i, b in enumerate(fwd)}
        r_index = {b: i for i, b in enumerate(rev)}
        pair_well: dict[tuple[int, int], int] = {}
        fwd_wells: dict[int, list[int]] = {}
        rev_wells: dict[int, list[int]] = {}
        names = []
        for i, (plate, well, f, r) in enumerate(
            (row["plate"], row["well"], row["fwd_barcode"], row["rev_barcode"]) for row in rows
        ):
            names.append((plate, well))
            fi, ri = f_index[f], r_index.get(r, -1)
            pair_well[(fi, ri)] = i
            fwd_wells.setdefault(fi, []).append(i)
            if ri >= 0:
                rev_wells.setdefault(ri, []).append(i)
        return cls(
            plates=plates,
            wells=tuple(names),
            fwd=fwd,
            rev=rev,
            pair_well=pair_well,
            fwd_wells={k: tuple(v) for k, v in fwd_wells.items()},
            rev_wells={k: tuple(v) for k, v in rev_wells.items()},
        )


@dataclass(frozen=True)
class Call:
    """What one read became."""

    status: str
    well: int = -1  # layout row, -1 when unassigned
    strand: str = ""  # '+' the read is the forward amplicon strand, '-' the reverse
    fwd_distance: int = -1  # best barcode distance at the forward end, -1 without a primer
    rev_distance: int = -1
    region: str | None = None  # bases between the flanks, forward strand; None if not found
    fwd_second: int = -1  # runner-up distance at the forward end, -1 when not scored
    rev_second: int = -1
    context: tuple[str, str] = ("", "")  # up to REGION_CONTEXT read bases before and after it
    # where context + region + context lie in the oriented read (start, stop), for their qualities
    read_span: tuple[int, int] | None = None
    clipped: bool = False  # assigned with a barcode cut by the read's end (`EndScorer`)
    tandem: bool = False  # the region is the last of tandem inserts (`Demultiplexer._region`)
