"""Each well's UTR: partial-order consensus of its reads' regions, purity, and the library match.

Per well, abPOA (pyabpoa) builds up to two consensus sequences from the oriented regions. Two
consensuses that differ mean two colonies grew in the well: the larger one is called and the
well's purity (the top allele's share of reads) says how mixed it is. Reads farther from the
call than a per-base-error tolerance also count against purity, which catches minor alleles too
rare for abPOA to split off.

In a shallow well whose reads carry base qualities, the call is then settled by its posterior:
each read's differences from a candidate cost their base qualities, each edit away from the
nearest design costs the synthesis prior, and the call passes only when its odds against its
one-edit neighbours are high enough (`settle`, `well_qc`). Deeper wells, and FASTA reads, are
judged by counting reads (`toward_design`, `variant_backing`).

The consensus is then matched to the designed library: designs within a few edits are found by
the pigeonhole rule (a sequence within d edits of a design shares one of its d + 1 segments
exactly, shifted by at most d), and the gap between the best and the second-best design decides
between `exact`, `synthesis_variant`, `ambiguous` and `unmatched` - mapping quality would be
useless here, designs often differ by a single base.

Cost does not grow with depth: the consensus and its polishing use a bounded sample of each
well's reads (those of most typical length), while purity and the mixed-well test measure every
read kept. Edit distances of many reads against many candidates are one C call (rapidfuzz's
`cdist`, the same unit-cost Levenshtein distance as edlib's global mode), and a plate's wells
are called across a pool of worker processes.
"""

from __future__ import annotations

from utrflow.library_index import LibraryIndex
from utrflow.reads.consensus.alleles import (
    Split,
    share_interval,
    split_alleles,
)
from utrflow.reads.consensus.call import (
    call_well,
)
from utrflow.reads.consensus.library import (
    Match,
    differences,
    match_library,
)
from utrflow.reads.consensus.plate import (
    allele2_columns,
    call_and_match,
    call_plate,
    call_wells,
    library_index,
    run,
)
from utrflow.reads.consensus.poa import (
    BOUNDARY_SLACK,
    _distances,
    _poa,
    best_indices,
    best_reads,
    design_steps,
    homopolymer_steps,
    polish,
    reads_prefer,
    shown_edits,
    toward_design,
    trim_flanks,
    variant_backing,
)
from utrflow.reads.consensus.posterior import (
    ALTERNATIVES,
    MAX_PHRED,
    MIN_PHRED,
    SETTLE_READS,
    SETTLE_ROUNDS,
    WeighedRead,
    read_cost,
    settle,
    weigh,
)
from utrflow.reads.consensus.qc import (
    CONSENSUS_COLUMNS,
    MATCHES,
    PURITY_CONFIDENCE,
    ConsensusSettings,
    WellCall,
    at_most,
    confidence_odds,
    purity_established,
    variant_confirmed,
    well_qc,
)
from utrflow.reads.consensus.regions import (
    WellReads,
    best_first,
    construct_ends,
    read_plate_regions,
)

__all__ = [
    "ALTERNATIVES",
    "BOUNDARY_SLACK",
    "CONSENSUS_COLUMNS",
    "MATCHES",
    "MAX_PHRED",
    "MIN_PHRED",
    "PURITY_CONFIDENCE",
    "SETTLE_READS",
    "SETTLE_ROUNDS",
    "ConsensusSettings",
    "LibraryIndex",
    "Match",
    "Split",
    "WeighedRead",
    "WellCall",
    "WellReads",
    "_distances",
    "_poa",
    "allele2_columns",
    "at_most",
    "best_first",
    "best_indices",
    "best_reads",
    "call_and_match",
    "call_plate",
    "call_well",
    "call_wells",
    "confidence_odds",
    "construct_ends",
    "design_steps",
    "differences",
    "homopolymer_steps",
    "library_index",
    "match_library",
    "polish",
    "purity_established",
    "read_cost",
    "read_plate_regions",
    "reads_prefer",
    "run",
    "settle",
    "share_interval",
    "shown_edits",
    "split_alleles",
    "toward_design",
    "trim_flanks",
    "variant_backing",
    "variant_confirmed",
    "weigh",
    "well_qc",
]
