"""Counts over a read group: the funnel of statuses, read QC histograms, barcode distances
and reads per well.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from utrflow.reads.barcodes import EndFit
from utrflow.reads.demux.chunks import LENGTH_BIN, STATUS_LENGTH_EDGES, ChunkResult
from utrflow.reads.demux.layout import STATUSES, DemuxSettings, Layout
from utrflow.sheets import ReadGroup


@dataclass
class GroupTally:
    """Counts over a whole read group."""

    status: Counter = field(default_factory=Counter)
    reads_per_well: Counter = field(default_factory=Counter)
    regions_per_well: Counter = field(default_factory=Counter)
    lengths: Counter = field(default_factory=Counter)
    qualities: Counter = field(default_factory=Counter)
    status_lengths: Counter = field(default_factory=Counter)
    distances: Counter = field(default_factory=Counter)
    clipped: int = 0
    tandem: Counter = field(default_factory=Counter)  # per well: regions from tandem reads

    def add(self, result: ChunkResult) -> None:
        self.status.update(result.status)
        self.reads_per_well.update(result.reads_per_well)
        self.regions_per_well.update(result.regions_per_well)
        self.lengths.update(result.lengths)
        self.qualities.update(result.qualities)
        self.status_lengths.update(result.status_lengths)
        self.distances.update(result.distances)
        self.clipped += result.clipped
        self.tandem.update(result.tandem)


# tandem_inserts: regions taken from the last of a read's tandem inserts (`classify`)
WELL_COUNT_COLUMNS = ("plate", "well", "role", "reads", "regions", "tandem_inserts")


def well_counts(
    layout: Layout, wells: Iterable[Mapping[str, Any]], tally: GroupTally
) -> list[dict[str, Any]]:
    """Reads and extracted regions per well of the layout (WELL_COUNT_COLUMNS), zero-read
    wells included."""
    roles = {(row["plate"], row["well"]): row["role"] for row in wells}
    return [
        {
            "plate": plate,
            "well": well,
            "role": roles.get((plate, well), "sample"),
            "reads": tally.reads_per_well.get(i, 0),
            "regions": tally.regions_per_well.get(i, 0),
            "tandem_inserts": tally.tandem.get(i, 0),
        }
        for i, (plate, well) in enumerate(layout.wells)
    ]


def _histograms(counts: Counter) -> dict[str, dict[str, int]]:
    """{plate or 'unassigned': {bin: reads}} from a Counter keyed by (plate, bin)."""
    out: dict[str, dict[str, int]] = {}
    for (key, value), n in sorted(counts.items()):
        out.setdefault(key, {})[str(value)] = int(n)
    return out


def status_by_length(status_lengths: Counter) -> dict[str, dict[str, Any]]:
    """Per read-length bin ('500-750', '5000+'): reads, and each status's share of them."""
    out: dict[str, dict[str, Any]] = {}
    uppers = dict(itertools.pairwise(STATUS_LENGTH_EDGES))
    for edge in STATUS_LENGTH_EDGES:
        counts = {s: int(status_lengths.get((s, edge), 0)) for s in STATUSES}
        total = sum(counts.values())
        if not total:
            continue
        name = f"{edge}-{uppers[edge]}" if edge in uppers else f"{edge}+"
        out[name] = {"reads": total, "share": {s: n / total for s, n in counts.items()}}
    return out


def barcode_fit(fits: tuple[EndFit, EndFit], distances: Counter) -> dict[str, Any]:
    """Each end's thresholds with the distances of the reads scored there: the best barcode's
    and the runner-up's (the highest value counts every read whose runner-up was farther)."""
    out = {}
    for fit in fits:
        if not fit.n:
            continue
        block = asdict(fit)
        for rank in ("best", "second"):
            values = {d: n for (e, r, d), n in distances.items() if (e, r) == (fit.end, rank)}
            block[rank] = {str(d): int(values[d]) for d in sorted(values)}
        out[fit.end] = block
    return out


def group_funnel(
    group: ReadGroup,
    layout: Layout,
    tally: GroupTally,
    settings: DemuxSettings,
    fits: tuple[EndFit, EndFit] | None = None,
) -> dict[str, Any]:
    """Reads in, then how many ended in each status, per plate for the assigned ones."""
    total = sum(tally.status.values())
    assigned_by_plate: Counter = Counter()
    regions_by_plate: Counter = Counter()
    for i, (plate, _) in enumerate(layout.wells):
        assigned_by_plate[plate] += tally.reads_per_well.get(i, 0)
        regions_by_plate[plate] += tally.regions_per_well.get(i, 0)
    return {
        "group": group.name,
        "plates": list(group.plates),
        "files": list(group.files),
        "reads": total,
        "status": {s: int(tally.status.get(s, 0)) for s in STATUSES},
        "status_fraction": {s: tally.status.get(s, 0) / max(total, 1) for s in STATUSES},
        "status_by_length": status_by_length(tally.status_lengths),
        "barcodes": barcode_fit(fits, tally.distances) if fits else {},
        "assigned_per_plate": {p: int(assigned_by_plate[p]) for p in group.plates},
        "regions_per_plate": {p: int(regions_by_plate[p]) for p in group.plates},
        # assigned reads whose barcode the read's end cut, scored over the bases present
        "clipped_assigned": int(tally.clipped),
        "tandem_inserts": int(sum(tally.tandem.values())),
        "wells_with_reads": int(sum(1 for v in tally.reads_per_well.values() if v > 0)),
        "read_qc": {
            "length_bin": LENGTH_BIN,
            "lengths": _histograms(tally.lengths),
            "mean_quality": _histograms(tally.qualities),
        },
        "wells": len(layout.wells),
        "settings": asdict(settings),
    }
