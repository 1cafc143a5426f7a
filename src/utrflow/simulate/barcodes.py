"""Well barcodes for the simulated run: a set designed with a guaranteed minimum edit distance
(reverse complements included), checked with the same functions as a user's set."""

from __future__ import annotations

import numpy as np
import pandas as pd

from utrflow.errors import InputError
from utrflow.geometry import FORMATS, plate_name, well_names
from utrflow.reads.barcodes import indel_lower_bound
from utrflow.sequences import edit_distance, reverse_complement

LAYOUTS = ("row_column", "per_well")
_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


def _candidates(
    rng: np.random.Generator, n: int, length: int, gc_range: tuple[float, float], max_run: int
) -> np.ndarray:
    """Random barcode candidates as (m, length) base indices 0-3: balanced GC, short runs only."""
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    keep = (gc >= gc_range[0]) & (gc <= gc_range[1])
    if max_run < length:
        # A run longer than max_run means max_run consecutive equal neighbours.
        same = codes[:, 1:] == codes[:, :-1]
        window = np.ones((n, length - 1 - max_run + 1), dtype=bool)
        for j in range(max_run):
            window &= same[:, j : length - 1 - max_run + 1 + j]
        keep &= ~window.any(axis=1)
    return codes[keep]


def design_barcodes(
    rng: np.random.Generator,
    n: int,
    length: int,
    min_distance: int,
    include_rc: bool = True,
    gc_range: tuple[float, float] = (0.3, 0.7),
    max_homopolymer: int = 2,
    max_candidates: int = 300_000,
) -> list[str]:
    """Greedy random design: `n` barcodes, every pair at least `min_distance` apart.

    Candidates with balanced GC and no homopolymer longer than `max_homopolymer` (the nanopore
    weak spot) are drawn at random and kept if far enough from everything kept so far and from
    their reverse complements (see `_far_enough` for how few pairs need an alignment).
    """
    if min_distance > length:
        raise InputError(f"barcodes: min distance {min_distance} exceeds barcode length {length}")
    kept: list[str] = []
    # Kept barcodes and their reverse complements, as text and as ASCII codes.
    kept_texts: list[str] = []
    kept_codes = np.zeros((2 * n, length), dtype=np.uint8)
    bound = min_distance - 1
    tried = 0
    while len(kept) < n:
        if tried >= max_candidates:
            raise InputError(
                f"barcodes: found only {len(kept)} of {n} barcodes of length {length} with "
                f"edit distance >= {min_distance} after {tried} candidates; use longer barcodes "
                "or a smaller minimum distance"
            )
        batch = _LETTERS[_candidates(rng, 4096, length, gc_range, max_homopolymer)]
        tried += 4096
        for codes in batch:
            if not _far_enough(codes, kept_codes[: len(kept_texts)], kept_texts, min_distance):
                continue
            text = codes.tobytes().decode("ascii")
            rc = reverse_complement(text)
            if include_rc and edit_distance(text, rc, bound) < min_distance:
                continue
            kept.append(text)
            for seq in (text, rc) if include_rc else (text,):
                kept_codes[len(kept_texts)] = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
                kept_texts.append(seq)
            if len(kept) == n:
                break
    return kept


def _far_enough(
    codes: np.ndarray, kept_codes: np.ndarray, kept_texts: list[str], min_distance: int
) -> bool:
    """Is a candidate at least `min_distance` from every kept sequence?

    Hamming distance bounds edit distance from above (a cheap certain no); the indel lower bound
    from below (a cheap certain yes); only the pairs in between are aligned, likeliest first.
    """
    if not kept_texts:
        return True
    hamming = (kept_codes != codes).sum(axis=1)
    if (hamming < min_distance).any():
        return False
    unsure = np.flatnonzero(indel_lower_bound(kept_codes, codes, min_distance) < min_distance)
    text = codes.tobytes().decode("ascii")
    for j in unsure[np.argsort(hamming[unsure], kind="stable")].tolist():
        if edit_distance(text, kept_texts[j], min_distance - 1) < min_distance:
            return False
    return True


def barcode_counts(
    layout: str, plate_format: int, n_plates: int, unique_across_plates: bool
) -> tuple[int, int]:
    """How many forward and reverse barcodes a layout needs."""
    rows, cols = FORMATS[plate_format]
    copies = n_plates if unique_across_plates else 1
    if layout == "row_column":
        return rows * copies, cols
    if layout == "per_well":
        return rows * cols * copies, rows * cols * copies
    raise InputError(f"barcodes: layout {layout!r} is not one of {', '.join(LAYOUTS)}")


def plate_barcodes(
    rng: np.random.Generator,
    layout: str,
    plate_format: int,
    n_plates: int,
    unique_across_plates: bool,
    length: int,
    min_distance: int,
) -> pd.DataFrame:
    """A barcode pair for every well of every plate: plate, well, fwd_barcode, rev_barcode.

    `row_column`: one forward barcode per row, one reverse barcode per column (the pair names
    the well). `per_well`: a forward and a reverse barcode of its own for each well. With
    `unique_across_plates` (plates pooled in one read file) forward barcodes differ per plate, so
    every pair is unique in the pool; otherwise plates reuse the same set (one file per plate).
    All forward and reverse barcodes come from one design, so they are mutually distant.
    """
    n_fwd, n_rev = barcode_counts(layout, plate_format, n_plates, unique_across_plates)
    designed = design_barcodes(rng, n_fwd + n_rev, length, min_distance)
    fwd, rev = designed[:n_fwd], designed[n_fwd:]
    rows, cols = FORMATS[plate_format]
    names = well_names(plate_format)
    records = []
    for p in range(n_plates):
        copy = p if unique_across_plates else 0
        for i, well in enumerate(names):
            r, c = divmod(i, cols)
            if layout == "row_column":
                f, v = fwd[copy * rows + r], rev[c]
            else:
                f, v = fwd[copy * rows * cols + i], rev[copy * rows * cols + i]
            records.append((plate_name(p), well, f, v))
    return pd.DataFrame(records, columns=["plate", "well", "fwd_barcode", "rev_barcode"])
