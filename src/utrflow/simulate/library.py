"""The simulated run's library, plate layout and colony picks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utrflow.geometry import FORMATS, plate_name, well_names
from utrflow.simulate import nanopore, truth
from utrflow.simulate.run_settings import RunSimulation

# Oligo synthesis errors: mostly single-base deletions and substitutions, fewer insertions.
SYNTHESIS = nanopore.ErrorModel(
    rate=0.0, substitution=0.4, insertion=0.2, deletion=0.4, homopolymer=0.0, read_spread=0.0
)

# --------------------------------------------------------------------------------------------
# Library, plate layout and colonies


def _stage_rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, so changing read settings keeps the same library."""
    names = ("library", "layout", "colonies", "barcodes", "reader", "reads")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def variant_ids(n: int) -> list[str]:
    """Library ids v000001, v000002, ... (as in the table-level simulation)."""
    return [f"v{i + 1:06d}" for i in range(n)]


def plate_layout(params: RunSimulation, rng: np.random.Generator) -> pd.DataFrame:
    """Every well of every plate with its true role (sample, blank, empty) and mixed flag.

    Blanks take the last wells of the last column (H12, G12, ...), where people put them; empty
    and mixed wells are drawn among the rest of each plate.
    """
    rows, cols = FORMATS[params.plate_format]
    names = well_names(params.plate_format)
    column_major = [names[r * cols + c] for c in range(cols) for r in range(rows)]
    blanks = set(column_major[len(column_major) - params.blank_wells_per_plate :])
    frames = []
    for p in range(params.n_plates):
        role = np.array(["blank" if w in blanks else "sample" for w in names], dtype=object)
        candidates = np.flatnonzero(role == "sample")
        n_empty = round(params.empty_fraction * candidates.size)
        empty = rng.choice(candidates, size=n_empty, replace=False)
        role[empty] = "empty"
        colonies = np.flatnonzero(role == "sample")
        n_mixed = round(params.mixed_fraction * colonies.size)
        mixed = np.zeros(len(names), dtype=bool)
        mixed[rng.choice(colonies, size=n_mixed, replace=False)] = True
        frames.append(
            pd.DataFrame({"plate": plate_name(p), "well": names, "role": role, "mixed": mixed})
        )
    return pd.concat(frames, ignore_index=True)


def synthesize(rng: np.random.Generator, designs: list[str], rate: float) -> list[str]:
    """Colony inserts as synthesized: each design with random substitutions and 1-nt indels."""
    if rate <= 0 or not designs:
        return list(designs)
    seq = nanopore.to_array(designs)
    lengths = np.fromiter((len(s) for s in designs), dtype=np.int64, count=len(designs))
    made = nanopore.apply_errors(rng, seq, lengths, SYNTHESIS.with_rate(rate))
    return nanopore.split_text(made.seq, made.lengths)


@dataclass(frozen=True)
class Colonies:
    """Picked colonies: which design each carries, its actual insert and true expression."""

    variant: np.ndarray  # index into the library
    sequence: list[str]  # actual insert (synthesis errors included)
    expression: np.ndarray  # true log2 expression of the actual insert


def pick_colonies(
    layout: pd.DataFrame, designs: list[str], params: RunSimulation, rng: np.random.Generator
) -> tuple[Colonies, np.ndarray, np.ndarray]:
    """Colonies for every colony well: (colonies, major colony per well, minor colony per well).

    Replicate wells receive a colony already picked into another well (on any plate); mixed
    wells get a second, minor colony. Wells without a colony hold -1.
    """
    wells = np.flatnonzero(layout["role"].to_numpy() == "sample")
    n_rep = min(round(params.replicate_fraction * wells.size), max(wells.size - 1, 0))
    replicate = np.zeros(wells.size, dtype=bool)
    replicate[rng.choice(wells.size, size=n_rep, replace=False)] = True
    n_own = wells.size - n_rep
    mixed_wells = np.flatnonzero(layout["mixed"].to_numpy())
    n_colonies = n_own + mixed_wells.size
    variant = rng.choice(len(designs), size=n_colonies, replace=n_colonies > len(designs))
    sequence = synthesize(rng, [designs[v] for v in variant], params.synthesis_error_rate)
    colonies = Colonies(variant, sequence, truth.expression(sequence))

    major = np.full(len(layout), -1, dtype=np.int64)
    major[wells[~replicate]] = np.arange(n_own)
    if n_own:
        major[wells[replicate]] = rng.integers(0, n_own, size=n_rep)
    minor = np.full(len(layout), -1, dtype=np.int64)
    minor[mixed_wells] = n_own + np.arange(mixed_wells.size)
    return colonies, major, minor


# --------------------------------------------------------------------------------------------
# Libraries of close variants

FAMILY_SIZE = 4  # designs per family: a parent and its close variants


def close_library(rng: np.random.Generator, parents: list[str], max_edits: int) -> list[str]:
    """A library of close variants, as real promoter and UTR libraries are: design i is a
    mutant of parent i // FAMILY_SIZE (the family's first design is the parent itself), 1 to
    `max_edits` edits away, 80 % substitutions and 20 % 1-nt indels, all designs distinct."""
    out: list[str] = []
    seen: set[str] = set()
    for i in range(len(parents)):
        parent = parents[i - i % FAMILY_SIZE]
        design = parent
        while design in seen:
            design = _mutate(rng, parent, int(rng.integers(1, max_edits + 1)))
        seen.add(design)
        out.append(design)
    return out


def _mutate(rng: np.random.Generator, seq: str, edits: int) -> str:
    """`seq` with `edits` random edits away from its ends (substitutions, else 1-nt indels)."""
    chars = list(seq)
    for _ in range(edits):
        at = int(rng.integers(2, max(3, len(chars) - 2)))
        kind = rng.random()
        if kind < 0.8:
            chars[at] = str(rng.choice([b for b in "ACGT" if b != chars[at]]))
        elif kind < 0.9:
            chars.insert(at, str(rng.choice(list("ACGT"))))
        else:
            del chars[at]
    return "".join(chars)


def family_of(n_designs: int) -> np.ndarray:
    """Each design's family (see `close_library`)."""
    return np.arange(n_designs) // FAMILY_SIZE


def close_minors(
    colonies: Colonies,
    major: np.ndarray,
    minor: np.ndarray,
    designs: list[str],
    params: RunSimulation,
    rng: np.random.Generator,
) -> Colonies:
    """The colonies with each mixed well's second colony redrawn from the family of its first
    (two close variants in one well, the mixture real close-variant libraries give)."""
    variant = colonies.variant.copy()
    sequence = list(colonies.sequence)
    families = family_of(len(designs))
    for well in np.flatnonzero(minor >= 0):
        first = int(variant[major[well]])
        family = np.flatnonzero(families == families[first])
        others = family[family != first]
        if others.size:
            variant[minor[well]] = int(rng.choice(others))
            sequence[minor[well]] = synthesize(
                rng, [designs[variant[minor[well]]]], params.synthesis_error_rate
            )[0]
    return Colonies(variant, sequence, truth.expression(sequence))
