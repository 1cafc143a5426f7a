"""Design settings and the synthesis and cloning rules every design keeps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from utrflow.config import section_defaults
from utrflow.errors import InputError
from utrflow.sequences import reverse_complement

_DEFAULTS = section_defaults("design")
OBJECTIVE_ALIASES = {"maximize": "max", "minimize": "min"}  # the names before max and min


@dataclass(frozen=True)
class DesignSettings:
    """What to design and under which constraints (config key `design`)."""

    n_designs: int = _DEFAULTS["n_designs"]
    objective: str = _DEFAULTS["objective"]
    acquisition: str = _DEFAULTS["acquisition"]
    bins: int = _DEFAULTS["bins"]
    steps: int = _DEFAULTS["steps"]
    chains_per_design: int = _DEFAULTS["chains_per_design"]
    temperature: float = _DEFAULTS["temperature"]
    max_edits: int = _DEFAULTS["max_edits"]
    distance_weight: float = _DEFAULTS["distance_weight"]
    min_length: int = _DEFAULTS["min_length"]
    max_length: int = _DEFAULTS["max_length"]
    gc_min: float = _DEFAULTS["gc_min"]
    gc_max: float = _DEFAULTS["gc_max"]
    max_homopolymer: int = _DEFAULTS["max_homopolymer"]
    forbidden_motifs: tuple[str, ...] = tuple(_DEFAULTS["forbidden_motifs"])
    no_upstream_atg: bool = _DEFAULTS["no_upstream_atg"]
    min_distance_designs: int = _DEFAULTS["min_distance_designs"]
    min_distance_measured: int = _DEFAULTS["min_distance_measured"]
    exploratory_distance: int = _DEFAULTS["exploratory_distance"]
    exploratory_sd: float = _DEFAULTS["exploratory_sd"]
    min_model_r2: float = _DEFAULTS["min_model_r2"]
    min_model_auc: float = _DEFAULTS["min_model_auc"]
    min_validation_rows: int = _DEFAULTS["min_validation_rows"]
    force: bool = _DEFAULTS["force"]
    oligo_prefix: str = _DEFAULTS["oligo_prefix"]
    oligo_suffix: str = _DEFAULTS["oligo_suffix"]
    seed: int = section_defaults()["seed"]
    motifs: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        objective = OBJECTIVE_ALIASES.get(self.objective, self.objective)
        if objective not in ("bins", "max", "min"):
            raise InputError(f"design.objective: {self.objective!r} is not bins, max or min")
        object.__setattr__(self, "objective", objective)
        if self.acquisition not in ("mean", "ucb"):
            raise InputError(f"design.acquisition: {self.acquisition!r} is not mean or ucb")
        if self.bins < 2:
            raise InputError(f"design.bins: {self.bins} bins; 2 or more (one low, one high)")
        motifs = tuple(m.strip().upper() for m in self.forbidden_motifs if m.strip())
        for motif in motifs:
            if set(motif) - set("ACGT"):
                raise InputError(f"design.forbidden_motifs: {motif!r} has characters besides ACGT")
        both = {m for motif in motifs for m in (motif, reverse_complement(motif))}
        object.__setattr__(self, "motifs", tuple(sorted(both)))


@dataclass(frozen=True)
class Constraints:
    """The checks every design passes, with the flanks it will sit between."""

    min_length: int
    max_length: int
    gc_min: float
    gc_max: float
    max_homopolymer: int
    motifs: tuple[str, ...]
    no_upstream_atg: bool
    prefix: str
    suffix: str

    def violations(self, seq: str) -> list[str]:
        """Every rule `seq` breaks, in words (empty when it is a valid design)."""
        out = []
        if not self.min_length <= len(seq) <= self.max_length:
            out.append(f"length {len(seq)} outside {self.min_length}-{self.max_length}")
        gc = (seq.count("G") + seq.count("C")) / len(seq) if seq else 0.0  # designs are ACGT
        if not self.gc_min <= gc <= self.gc_max:
            out.append(f"GC {gc:.2f} outside {self.gc_min}-{self.gc_max}")
        if self._too_long_run.search(seq):
            out.append(f"homopolymer of {longest_run(seq)}")
        context = self._context(seq, max((len(m) for m in self.motifs), default=1) - 1)
        out += [f"motif {m}" for m in self.motifs if m in context]
        if self.no_upstream_atg and "ATG" in self.prefix[-2:] + seq:
            out.append("upstream ATG")
        return out

    @cached_property
    def _too_long_run(self) -> re.Pattern[str]:
        """One search finds any run longer than allowed (the check runs for every proposal)."""
        n = self.max_homopolymer + 1
        return re.compile("|".join(f"{base}{{{n}}}" for base in "ACGT"))

    def _context(self, seq: str, overlap: int) -> str:
        """The UTR with as much flank as a motif could reach into."""
        left = self.prefix[len(self.prefix) - overlap :] if overlap else ""
        return left + seq + self.suffix[:overlap]

    def ok(self, seq: str) -> bool:
        return not self.violations(seq)


_RUNS = re.compile(r"(A+|C+|G+|T+)")


def longest_run(seq: str) -> int:
    """Length of the longest single-base run."""
    return max((len(m) for m in _RUNS.findall(seq)), default=0)


def constraints_for(
    settings: DesignSettings, measured: Sequence[str], prefix: str, suffix: str
) -> Constraints:
    """Length bounds default to the measured library's."""
    lengths = [len(s) for s in measured]
    return Constraints(
        min_length=settings.min_length or min(lengths),
        max_length=settings.max_length or max(lengths),
        gc_min=settings.gc_min,
        gc_max=settings.gc_max,
        max_homopolymer=settings.max_homopolymer,
        motifs=settings.motifs,
        no_upstream_atg=settings.no_upstream_atg,
        prefix=prefix,
        suffix=suffix,
    )
