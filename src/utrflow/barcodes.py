"""Well barcodes: design a set with a guaranteed minimum edit distance, and check a given set.

Edit distance, not Hamming: nanopore reads carry insertions and deletions, so two barcodes one
indel apart are confusable even when their Hamming distance is large. Reverse complements are
included because a read comes from either strand, so a barcode read backwards must not look
like another one. The simulator designs its barcodes here; the demultiplexer checks the user's
set with the same functions at start-up and names the pairs that are too close.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import edlib
import numpy as np
import pandas as pd

from utrflow.errors import InputError
from utrflow.plates import FORMATS, plate_name, well_names
from utrflow.sequences import reverse_complement

LAYOUTS = ("row_column", "per_well")
_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


def _bounded_distance(query: str, target: str, mode: str, max_distance: int | None) -> int:
    """edlib's distance in `mode`; beyond `max_distance` it stops early and says max + 1."""
    k = -1 if max_distance is None else int(max_distance)
    distance = edlib.align(query, target, mode=mode, task="distance", k=k)["editDistance"]
    return k + 1 if distance < 0 else int(distance)


def edit_distance(a: str, b: str, max_distance: int | None = None) -> int:
    """Levenshtein distance of two whole sequences.

    With `max_distance`, the alignment stops early and any larger distance comes back as
    `max_distance + 1`, which is all a threshold check needs and several times faster.
    """
    return _bounded_distance(a, b, "NW", max_distance)


def set_distance(a: str, b: str, max_distance: int | None = None) -> int:
    """How far apart two barcodes of one end are for demultiplexing.

    Equal lengths: the edit distance. Different lengths: the edits needed to find the shorter
    anywhere inside the longer, because each barcode is searched (infix) in the bases before
    its primer, and a short barcode that is the tail of a long one matches that one's reads.
    """
    if len(a) == len(b):
        return edit_distance(a, b, max_distance)
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return _bounded_distance(short, long, "HW", max_distance)


def barcode_distance(
    a: str, b: str, include_rc: bool = True, max_distance: int | None = None
) -> int:
    """Distance between two barcodes as a read sees them: the smaller of a~b and a~rc(b)."""
    distance = edit_distance(a, b, max_distance)
    if include_rc:
        distance = min(distance, edit_distance(a, reverse_complement(b), max_distance))
    return distance


@dataclass(frozen=True)
class ClosePair:
    """Two barcodes (or one and its own reverse complement) closer than allowed."""

    first: str
    second: str
    distance: int
    reverse_complement: bool  # the distance is between `first` and rc(`second`)

    def describe(self) -> str:
        """One line for an error message."""
        other = f"rc({self.second})" if self.reverse_complement else self.second
        if len(self.first) != len(self.second):
            inside = f"the shorter lies inside the longer with {self.distance} edits"
            return f"{self.first} ~ {other}: {inside}"
        return f"{self.first} ~ {other}: edit distance {self.distance}"


def _codes(seqs: Sequence[str]) -> np.ndarray:
    """Equal-length sequences as a (n, length) uint8 array of their ASCII bytes."""
    return np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8).reshape(len(seqs), -1)


def indel_lower_bound(others: np.ndarray, one: np.ndarray, threshold: int) -> np.ndarray:
    """A lower bound on edit(one, row) for each row of `others` (equal lengths), exact enough to
    prove `>= threshold` for most pairs without aligning them.

    Why it holds: an alignment with e <= threshold - 1 edits of equal-length strings never shifts
    by more than r = (threshold - 1) // 2, so every base it neither substitutes nor deletes
    matches a base at most r positions away. Bases with no equal base within r of their position
    each cost an edit; counting them (in both directions, taking the larger) bounds e from below.
    """
    radius = max(threshold - 1, 0) // 2
    length = one.size

    def unmatched(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # a: (m, L) or (L,), b the other side; count positions of a with no equal base in b±r.
        a2, b2 = np.broadcast_arrays(np.atleast_2d(a), np.atleast_2d(b))
        found = np.zeros(a2.shape, dtype=bool)
        for shift in range(-radius, radius + 1):
            lo, hi = max(0, -shift), min(length, length - shift)
            found[:, lo:hi] |= a2[:, lo:hi] == b2[:, lo + shift : hi + shift]
        return (~found).sum(axis=1)

    return np.maximum(unmatched(others, one), unmatched(one, others))


def _scan(
    unique: list[str], threshold: int, include_rc: bool, shrink: bool = False
) -> Iterator[tuple[int, int, bool, int]]:
    """Pairs (i, j, against_rc, distance) with distance < threshold, each unordered pair once
    (j >= i; j == i only against its own reverse complement).

    With `shrink`, the threshold drops to each distance found, which is what an exact minimum
    needs. Equal-length sets are prefiltered with `indel_lower_bound`; the rest align all pairs.
    """
    texts = unique + ([reverse_complement(b) for b in unique] if include_rc else [])
    n = len(unique)
    equal = len({len(t) for t in texts}) == 1
    codes = _codes(texts) if equal and texts else None
    for i, a in enumerate(unique):
        targets = list(range(i + 1, n))
        if include_rc:
            targets += [n + j for j in range(i, n)]
        if not targets:
            continue
        index = np.asarray(targets)
        if codes is not None:
            bound = indel_lower_bound(codes[index], codes[i], threshold)
            index = index[bound < threshold]
        for t in index.tolist():
            d = set_distance(a, texts[t], threshold - 1)
            if d < threshold:
                yield i, t % n, t >= n, d
                if shrink:
                    threshold = d


def close_pairs(
    barcodes: Sequence[str], min_distance: int, include_rc: bool = True
) -> list[ClosePair]:
    """Every pair closer than `min_distance`, each barcode also against its own reverse complement.

    Repeated barcodes are collapsed first: a barcode reused on purpose (e.g. the same row barcode
    on every plate) is one barcode, not a collision; pair uniqueness is the sheet's business.
    """
    unique = list(dict.fromkeys(barcodes))
    return [
        ClosePair(unique[i], unique[j], d, rc)
        for i, j, rc, d in _scan(unique, min_distance, include_rc)
    ]


def min_pairwise_distance(barcodes: Sequence[str], include_rc: bool = True) -> int:
    """Exact smallest distance in a set (self reverse complements included when asked).

    The running minimum bounds every later check, so the scan gets faster as it goes.
    """
    unique = list(dict.fromkeys(barcodes))
    if len(unique) < 2 and not (include_rc and unique):
        raise ValueError("need at least two barcodes (or one with include_rc) for a distance")
    longest = max(len(b) for b in unique)
    best = longest + 1
    for *_, d in _scan(unique, best, include_rc, shrink=True):
        best = d
    return min(best, longest)


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
