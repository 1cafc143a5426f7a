"""Sequence helpers shared by every stage: alphabet checks, reverse complement, one-hot encoding.

Everything here is vectorized over whole batches of sequences; no per-base Python loops, because
a library is tens of thousands of sequences and a MinION run millions of reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import edlib
import numpy as np

BASES = "ACGT"
IUPAC = "ACGTURYSWKMBDHVN"
_COMPLEMENT = str.maketrans("ACGTURYSWKMBDHVNacgturyswkmbdhvn", "TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn")

# Byte -> channel lookup: A C G T (and U as T) -> 0..3, anything else -> 4 (an all-zero column).
_CHANNEL = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CHANNEL[ord(_b)] = _i
    _CHANNEL[ord(_b.lower())] = _i
_CHANNEL[ord("U")] = _CHANNEL[ord("u")] = 3


def reverse_complement(seq: str) -> str:
    """Reverse complement, IUPAC-aware and case-preserving."""
    return seq.translate(_COMPLEMENT)[::-1]


def normalize(seq: str) -> str:
    """Upper-case, strip surrounding whitespace, read RNA U as T: what pasted sequences need."""
    return seq.strip().upper().replace("U", "T")


def invalid_characters(seq: str, alphabet: str = IUPAC) -> set[str]:
    """Characters of `seq` outside `alphabet` (case-insensitive); empty when it is valid."""
    return set(seq.upper()) - set(alphabet)


def one_hot(seqs: Sequence[str], length: int | None = None) -> np.ndarray:
    """One-hot encode sequences into a (n, length, 4) uint8 array, left-padded.

    Sequences are aligned at their 3' end, next to the start codon, so a position in the array
    means the same distance from the ATG in every row. A, C, G, T (and U) get one channel each;
    N and the other IUPAC codes stay all-zero. Sequences longer than `length` lose their 5' bases.
    """
    n = len(seqs)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    width = int(lengths.max(initial=0)) if length is None else int(length)
    out = np.zeros((n, width, 5), dtype=np.uint8)
    if n == 0 or width == 0:
        return out[..., :4]
    codes = _CHANNEL[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)]
    row = np.repeat(np.arange(n), lengths)
    offset_in_seq = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    col = (width - lengths)[row] + offset_in_seq
    keep = col >= 0
    out[row[keep], col[keep], codes[keep]] = 1
    return out[..., :4]


def single_edits(seq: str) -> set[str]:
    """Every sequence one substitution, insertion or deletion away from `seq`."""
    out: set[str] = set()
    for i in range(len(seq) + 1):
        for base in "ACGT":
            out.add(seq[:i] + base + seq[i:])
            if i < len(seq) and base != seq[i]:
                out.add(seq[:i] + base + seq[i + 1 :])
        if i < len(seq):
            out.add(seq[:i] + seq[i + 1 :])
    out.discard(seq)
    return out


def gc_fraction(seqs: Sequence[str]) -> np.ndarray:
    """Fraction of G and C among the A/C/G/T bases of each sequence."""
    x = one_hot(seqs)
    acgt = x.sum(axis=(1, 2)).astype(float)
    gc = x[:, :, 1:3].sum(axis=(1, 2))
    return np.divide(gc, acgt, out=np.zeros(len(seqs)), where=acgt > 0)


def random_sequences(
    rng: np.random.Generator, n: int, min_len: int, max_len: int, gc: float = 0.5
) -> list[str]:
    """Random DNA sequences with lengths uniform in [min_len, max_len] and a given GC content."""
    lengths = rng.integers(min_len, max_len + 1, size=n)
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.choice(4, size=int(lengths.sum()), p=p)]
    text = letters.tobytes().decode("ascii")
    ends = np.cumsum(lengths)
    return [text[e - n_ : e] for e, n_ in zip(ends, lengths, strict=True)]


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
    return infix_distance(short, long, max_distance)


def infix_distance(query: str, target: str, max_distance: int | None = None) -> int:
    """Edits to find `query` anywhere inside `target` (target's ends free)."""
    return _bounded_distance(query, target, "HW", max_distance)


def barcode_distance(
    a: str, b: str, include_rc: bool = True, max_distance: int | None = None
) -> int:
    """Distance between two barcodes as a read sees them: the smaller of a~b and a~rc(b)."""
    distance = edit_distance(a, b, max_distance)
    if include_rc:
        distance = min(distance, edit_distance(a, reverse_complement(b), max_distance))
    return distance
