"""Checks of a user's barcode set: the minimum edit distance, reverse complements included.

Edit distance, not Hamming: nanopore reads carry insertions and deletions, so two barcodes one
indel apart are confusable even when their Hamming distance is large. Reverse complements are
included because a read comes from either strand, so a barcode read backwards must not look
like another one. The start-up check names the pairs that are too close; the simulator designs
its barcodes to pass the same check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from utrflow.errors import InputError
from utrflow.sequences import infix_distance, reverse_complement, set_distance
from utrflow.sheets import ReadGroup, group_wells


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


# --------------------------------------------------------------------------------------------
# Thresholds that fit the set

# Share of a barcode's (variable) length that may be wrong in a read: nanopore reads carry a few
# percent errors per base, and the infix search of a barcode adds about one indel at its edges.
BARCODE_ERROR_SHARE = 0.3
# Bases beside a lone barcode that its search may take in (demux.barcode_slack's default).
ALONE_SLACK = 3


@dataclass(frozen=True)
class EndFit:
    """What one end's barcodes are scored as, and the thresholds that fit them."""

    end: str  # 'fwd' or 'rev'
    n: int  # distinct barcodes
    length: int  # longest scored part (the variable core when constant parts are stripped)
    constant_5: str  # bases every barcode of the end starts with
    constant_3: str  # bases every barcode of the end ends with
    min_distance: int | None  # smallest distance between the scored parts; None for one barcode
    max_distance: int  # accepted distance of the best barcode
    margin: int  # edits the runner-up must be behind
    chosen: str  # 'auto' or 'config'

    def describe(self) -> str:
        """One line for the start-up message."""
        shape = f"{self.n} x {self.length} nt"
        if self.constant_5 or self.constant_3:
            shape += f" core (constant {len(self.constant_5)} + {len(self.constant_3)} nt)"
        gap = "-" if self.min_distance is None else str(self.min_distance)
        return (
            f"{self.end} barcodes {shape}, min distance {gap}: max distance {self.max_distance}, "
            f"margin {self.margin} ({self.chosen})"
        )


def constant_parts(barcodes: Sequence[str]) -> tuple[str, str]:
    """The longest prefix and suffix shared by every barcode, leaving at least 4 nt of each
    barcode between them (one barcode has no constant part: all of it is what it is)."""
    unique = list(dict.fromkeys(barcodes))
    if len(unique) < 2:
        return "", ""
    shortest = min(len(b) for b in unique)
    room = max(shortest - 4, 0)
    prefix = 0
    while prefix < room and len({b[prefix] for b in unique}) == 1:
        prefix += 1
    suffix = 0
    while prefix + suffix < room and len({b[-1 - suffix] for b in unique}) == 1:
        suffix += 1
    first = unique[0]
    return first[:prefix], first[len(first) - suffix :] if suffix else ""


def chance_distance(barcodes: Sequence[str], window: int, seed: int = 0, trials: int = 200) -> int:
    """How close a barcode of the set comes to random bases by chance: the 1st percentile of
    the best infix distance of the set in `trials` random windows of `window` nt. Barcodes
    searched in a whole end window (no primer to anchor them) must be held below it."""
    rng = np.random.default_rng(seed)
    best = []
    for _ in range(trials):
        target = "".join(rng.choice(list("ACGT"), window))
        best.append(min(infix_distance(b, target) for b in barcodes))
    return int(np.percentile(best, 1))


def fit_end(
    end: str,
    barcodes: Sequence[str],
    max_distance: int | str,
    min_margin: int,
    anchor: int = 0,
    include_rc: bool = False,
    window: int = 0,
) -> EndFit:
    """Thresholds for one end's barcodes.

    `auto`: the best barcode may be at most BARCODE_ERROR_SHARE of its scored length (core plus
    the `anchor` bases scored with it) away (what nanopore errors do to it) and no farther than the
    set's minimum distance less the margin (a read of one barcode that far from another would
    sit between them; at least 1, so a read between two barcodes one edit apart shows as
    ambiguous), plus the anchor's share; the runner-up must trail by at least
    a quarter of the minimum distance, so a read must be about half-way between two barcodes, and
    erroneous beyond what the threshold allows, before it goes to the wrong one. Constant parts
    add the same edits to every barcode, so only the variable core is measured; they are found
    only for ends scored next to a primer (`anchor` > 0): without one the whole barcode is the
    only landmark, so it is scored and measured whole, and held below what random bases of a
    `window` reach by chance.
    """
    unique = list(dict.fromkeys(barcodes))
    prefix, suffix = constant_parts(unique) if anchor else ("", "")
    cores = [b[len(prefix) : len(b) - len(suffix)] for b in unique]
    length = max((len(c) for c in cores), default=0)
    gap = min_pairwise_distance(cores, include_rc) if len(set(cores)) > 1 else None
    on_anchor = int(BARCODE_ERROR_SHARE * anchor)  # the anchor's edits cost every barcode alike
    if max_distance != "auto":  # edits in the barcode; the anchor's share comes on top
        limit = int(max_distance) + on_anchor
        return EndFit(end, len(unique), length, prefix, suffix, gap, limit, min_margin, "config")
    margin = max(min_margin, -(-gap // 4)) if gap else min_margin
    limit = int(BARCODE_ERROR_SHARE * (length + anchor))
    if gap:
        limit = min(limit, max(gap - margin, 1) + on_anchor)
    if window and unique:
        limit = min(limit, chance_distance(unique, window))
    elif len(unique) == 1:
        # A set of one (a single-colony pilot) has no runner-up to refuse a read of some other
        # barcode: the barcode must come closer than random bases at its place come by chance.
        alone = chance_distance(unique, length + ALONE_SLACK) - 1
        limit = min(limit, max(alone, 1) + on_anchor)
    return EndFit(end, len(unique), length, prefix, suffix, gap, max(limit, 0), margin, "auto")


def check_group_barcodes(
    wells: Iterable[Mapping[str, Any]], group: ReadGroup, min_distance: int, where: str = "wells"
) -> None:
    """Stop when a group's barcodes are too close to tell apart, or a pair names two wells."""
    members = group_wells(wells, group.plates)
    pairs: dict[tuple[str, str], list[str]] = {}
    for row in members:
        pairs.setdefault((row["fwd_barcode"], row["rev_barcode"]), []).append(
            f"{row['plate']} {row['well']}"
        )
    for (fwd, rev), names in pairs.items():
        if len(names) > 1:
            raise InputError(
                f"{where}: barcode pair {fwd}/{rev or '-'} names several wells read from the "
                f"same file(s): {', '.join(names)}"
            )
    for column in ("fwd_barcode", "rev_barcode"):
        codes = [b for b in dict.fromkeys(row[column] for row in members) if b]
        if len(codes) < 1 or min_distance <= 0:
            continue
        close = close_pairs(codes, min_distance)
        if close:
            listed = "; ".join(c.describe() for c in close[:3])
            more = f" and {len(close) - 3} more" if len(close) > 3 else ""
            raise InputError(
                f"{where}: {column}s of plate(s) {', '.join(group.plates)} closer than "
                f"demux.min_barcode_set_distance={min_distance}: {listed}{more}"
            )
