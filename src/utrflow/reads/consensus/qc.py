"""A well call's QC: settings, the binomial tests of purity and of a variant's backing, and
the verdict (`well_qc`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from utrflow.config import section_defaults
from utrflow.stats import at_most

MATCHES = ("exact", "synthesis_variant", "ambiguous", "unmatched")
CONSENSUS_COLUMNS = [
    "plate",
    "well",
    "role",
    "n_reads",
    "n_regions",
    "sequence",
    "purity",
    "minor_sequence",
    "variant_id",
    "match",
    "edit_distance",
    "differences",
    "second_variant_id",
    "second_distance",
    "qc",
    # the second allele's reads (those nearer it than the call; `minor_sequence` is the allele)
    # and the 95 % interval of its share of the well's regions
    "allele2_reads",
    "allele2_low",
    "allele2_high",
    # `posterior` (weighed by base qualities) or `counting` (FASTA, placeholder qualities, or
    # more than SETTLE_READS regions); empty without regions
    "called_by",
    # regions left out of the call: their read's length is far from the plate's main length
    # (`regions.drop_artefacts`); the rest of n_regions gave the call
    "artefact_regions",
    # regions taken from the last of a read's tandem inserts (the demultiplexer's well_counts)
    "tandem_inserts",
]


_DEFAULTS = section_defaults("consensus")


@dataclass(frozen=True)
class ConsensusSettings:
    """Thresholds of the well calls (config key `consensus`)."""

    min_reads: int = _DEFAULTS["min_reads"]
    min_purity: float = _DEFAULTS["min_purity"]
    max_reads: int = _DEFAULTS["max_reads"]
    consensus_reads: int = _DEFAULTS["consensus_reads"]
    polish_reads: int = _DEFAULTS["polish_reads"]
    homopolymer_design_ratio: float = _DEFAULTS["homopolymer_design_ratio"]
    read_tolerance: float = _DEFAULTS["read_tolerance"]
    min_allele_share: float = _DEFAULTS["min_allele_share"]
    max_variant_distance: int = _DEFAULTS["max_variant_distance"]
    min_match_margin: int = _DEFAULTS["min_match_margin"]
    max_minor_fraction: float = _DEFAULTS["max_minor_fraction"]
    variant_confidence: float = _DEFAULTS["variant_confidence"]
    call_confidence: float = _DEFAULTS["call_confidence"]
    synthesis_error_rate: float = _DEFAULTS["synthesis_error_rate"]


PURITY_CONFIDENCE = 0.95  # how sure a passing well is that no larger second colony hides in it


def purity_established(n_reads: int, n_other: int, max_minor: float) -> bool:
    """Do `n_reads` reads, `n_other` of them off the call, exclude a second colony making up
    `max_minor` or more of the well, at PURITY_CONFIDENCE? One-sided binomial bound: were the
    minor share `max_minor`, as few off-call reads would come up less often than 1 - confidence.

    A few agreeing reads cannot rule out a sizeable minor colony: 6 of 6, or 7 of 8, leave a
    35 % one open (0.65**6 = 0.075); 7 of 7 exclude it (0.049).
    """
    if max_minor <= 0 or n_reads <= 0:
        return max_minor <= 0 and n_reads > 0
    return at_most(n_other, n_reads, max_minor) < 1 - PURITY_CONFIDENCE


def variant_confirmed(backing: int, n_reads: int, confidence: float) -> bool:
    """Do `backing` of `n_reads` reads confirm a difference from the design, at `confidence`?
    One-sided binomial test against reads that lean no more to the call than to the design
    (half of them): 5 of 5 confirm at 0.95 (0.5**5 = 0.031), 4 of 5 do not; 15 of 20 do."""
    return confidence <= 0 or at_most(n_reads - backing, n_reads, 0.5) < 1 - confidence


def confidence_odds(confidence: float) -> float:
    """The posterior log10-odds a call needs to be right at `confidence`."""
    return math.log10(confidence / (1 - confidence))


def well_qc(n_reads: int, call: WellCall, settings: ConsensusSettings) -> str:
    """`pass` or why not, from the well's reads and its call: no reads, too few regions, a
    second allele (`mixed`), a difference from the design too few reads confirm
    (`variant_unconfirmed`), a call its reads do not single out from a one-edit neighbour
    (`sequence_unconfirmed`, base qualities only), or too few reads to exclude a second allele
    (`purity_unproven`)."""
    if n_reads == 0:
        return "no_reads"
    if call.n_used < settings.min_reads:
        return "low_reads"
    if call.purity < settings.min_purity or call.minor_sequence:
        return "mixed"
    if call.margin is not None:
        sure = settings.call_confidence <= 0 or call.margin >= confidence_odds(
            settings.call_confidence
        )
        if not sure:
            return "variant_unconfirmed" if call.off_design else "sequence_unconfirmed"
    elif call.variant_backing is not None and not variant_confirmed(
        call.variant_backing, call.n_backing, settings.variant_confidence
    ):
        return "variant_unconfirmed"
    off_call = call.n_used - round(call.purity * call.n_used)
    if not purity_established(call.n_used, off_call, settings.max_minor_fraction):
        return "purity_unproven"
    return "pass"


@dataclass(frozen=True)
class WellCall:
    """The consensus of one well."""

    sequence: str
    purity: float
    minor_sequence: str  # the second allele of a mixed well, else ''
    n_used: int  # regions the call and its purity rest on
    # when the call differs from its nearest design: reads backing the least-backed difference,
    # of the reads scored (see variant_backing)
    variant_backing: int | None = None
    n_backing: int = 0
    # with base qualities: the call's posterior log10-odds against its nearest alternatives
    # (see `settle`), and whether it differs from its nearest design
    margin: float | None = None
    off_design: bool = False
    minor_reads: int = 0  # reads of the second allele (those nearer it than the call)
