"""Nanopore reads from true sequences: an error model, Phred qualities, FASTQ.gz and unaligned BAM.

A chunk of reads lives as one uint8 array of ASCII bases laid end to end plus a length per read,
so every step is a handful of NumPy operations over the whole chunk: no per-base Python loop.
Errors are sparse (a few per hundred bases), so they are drawn as events (read, position, kind)
rather than by a coin flip per base, and the dense work is one `np.repeat` that drops deleted
bases and doubles inserted ones.
"""

from __future__ import annotations

import dataclasses
from array import array
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pysam

# ONT ligation adapter (top strand, 3' part) as it opens a read, and the complement that may
# close one. Reads keep a random-length remnant of each.
ADAPTER = "CCTGTACTTCGTTCAGTTACGTATTGCT"
ADAPTER_RC = "AGCAATACGTAACTGAACGAAGTACAGG"
NAME_WIDTH = 36  # UUID-style read names, as MinKNOW writes them

_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _substitution_table() -> np.ndarray:
    """(256, 3) table: the three other bases for each ASCII base (N and others get A, C, G)."""
    table = np.tile(np.frombuffer(b"ACG", dtype=np.uint8), (256, 1))
    for base in "ACGT":
        others = [b for b in "ACGT" if b != base]
        table[ord(base)] = np.frombuffer("".join(others).encode(), dtype=np.uint8)
    return table


_SUBSTITUTE = _substitution_table()


@dataclass(frozen=True)
class ErrorModel:
    """Per-base error rates and qualities of a basecalled nanopore read."""

    rate: float = 0.03  # errors per true base (substitutions + insertions + deletions)
    substitution: float = 0.35  # share of errors that are substitutions
    insertion: float = 0.20  # share of errors that are insertions
    deletion: float = 0.45  # share of errors that are deletions
    homopolymer: float = 0.5  # share of indels that lengthen/shorten a homopolymer (>= 3 nt)
    read_spread: float = 4.0  # gamma shape of each read's rate multiplier (0: all reads alike)
    q_correct: float = 24.0  # mean Phred of correct bases in an average read
    q_correct_sd: float = 6.0  # spread of correct-base Phred
    q_error: float = 7.0  # mean Phred of wrong/inserted bases and bases next to a deletion
    q_error_sd: float = 2.5  # spread of error-base Phred
    q_max: int = 50  # basecaller's Phred cap

    def __post_init__(self) -> None:
        shares = self.substitution + self.insertion + self.deletion
        if abs(shares - 1.0) > 1e-6:
            raise ValueError(f"error shares must sum to 1, got {shares:g}")
        if not 0.0 <= self.rate < 0.5:
            raise ValueError(f"error rate must be in [0, 0.5), got {self.rate:g}")
        if not 0.0 <= self.homopolymer <= 1.0:
            raise ValueError(f"homopolymer share must be in [0, 1], got {self.homopolymer:g}")

    def with_rate(self, rate: float) -> ErrorModel:
        """Same split and qualities, another overall rate."""
        return dataclasses.replace(self, rate=rate)


PRESETS: dict[str, ErrorModel] = {
    # R10.4.1 with a SUP/HAC basecaller: ~3 % per base, indels mostly in homopolymers.
    "r10": ErrorModel(),
    # R9.4.1-era data: ~8 % per base, more substitutions, lower qualities.
    "r9": ErrorModel(
        rate=0.08,
        substitution=0.40,
        insertion=0.25,
        deletion=0.35,
        homopolymer=0.35,
        q_correct=14.0,
        q_correct_sd=4.0,
        q_error=6.0,
        q_error_sd=2.0,
    ),
}


@dataclass(frozen=True)
class ErrorCounts:
    """Errors put into each read (the truth the tests check realized rates against)."""

    template_length: np.ndarray  # true bases per read
    substitutions: np.ndarray
    insertions: np.ndarray  # all insertions, homopolymer ones included
    deletions: np.ndarray  # all deletions, homopolymer ones included
    homopolymer_insertions: np.ndarray
    homopolymer_deletions: np.ndarray

    def totals(self) -> dict[str, int]:
        """Sums over reads, as plain ints."""
        return {f.name: int(getattr(self, f.name).sum()) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Reads:
    """A chunk of basecalled reads laid end to end."""

    seq: np.ndarray  # uint8 ASCII bases
    qual: np.ndarray  # uint8 Phred+33, one per base
    lengths: np.ndarray  # int64 bases per read
    errors: ErrorCounts


def to_array(seqs: str | list[str]) -> np.ndarray:
    """Sequences joined end to end as a uint8 ASCII array."""
    text = seqs if isinstance(seqs, str) else "".join(seqs)
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def split_text(seq: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Back from an end-to-end array to one string per read."""
    text = seq.tobytes().decode("ascii")
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]


def random_bases(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` uniform random bases as ASCII (two bits of one random byte each)."""
    return _LETTERS[np.frombuffer(rng.bytes(n), dtype=np.uint8) & 3]


def concat_segments(pool: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate slices pool[start:start + length], row by row, in one gather.

    `starts`/`lengths` are (n, k): k segments per read. This one primitive assembles reads from
    templates and junk, FASTQ records from names, bases and qualities, and truth rows.
    """
    s = np.asarray(starts, dtype=np.int64).ravel()
    n = np.asarray(lengths, dtype=np.int64).ravel()
    total = int(n.sum())
    dtype = np.int32 if max(pool.size, total) < 2**31 - 1 else np.int64
    offsets = np.cumsum(n) - n
    index = np.repeat((s - offsets).astype(dtype), n)
    index += np.arange(total, dtype=dtype)
    return pool[index]


def _phred_table(mean: float, sd: float, low: int, high: int) -> np.ndarray:
    """256 equally likely Phred values of a clipped normal: a random byte picks one."""
    dist = NormalDist(mean, max(sd, 1e-9))
    values = [dist.inv_cdf((i + 0.5) / 256) for i in range(256)]
    return np.clip(np.rint(values), low, high).astype(np.int16)


def _homopolymer_sites(seq: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Positions i where seq[i] == seq[i+1] == seq[i+2] inside one read.

    A run of length L >= 3 has L - 2 such sites, so picking sites uniformly makes longer
    homopolymers proportionally more error-prone, as on the pore.
    """
    if seq.size < 3:
        return np.zeros(0, dtype=np.int64)
    same = seq[1:] == seq[:-1]
    boundary = ends[:-1] - 1
    same[boundary[(boundary >= 0) & (boundary < same.size)]] = False
    return np.flatnonzero(same[1:] & same[:-1])


_Events = tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]  # positions, kinds, bases


def _events(
    rng: np.random.Generator,
    seq: np.ndarray,
    lengths: np.ndarray,
    multiplier: np.ndarray,
    model: ErrorModel,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Error events (position, kind, new base), sorted, at most one per position.

    Kinds: 0 substitution, 1 insertion, 2 deletion, 3 homopolymer insertion, 4 homopolymer
    deletion. Random events are Poisson per read; homopolymer events pick sites so their
    expected total matches their share of the rate.
    """
    ends = np.cumsum(lengths)
    # Events that land on the same base merge into one, so draw a little more than the target:
    # with Poisson events of mean lam per base, 1 - exp(-lam) bases change; solve for rate r.
    per_base = np.minimum(model.rate * multiplier, 0.9)
    boost = np.divide(-np.log1p(-per_base), per_base, out=np.ones(lengths.size), where=per_base > 0)
    expected = model.rate * multiplier * boost * lengths
    positions, kinds, bases = _random_events(rng, seq, lengths, ends, expected, model)
    sites = _homopolymer_sites(seq, ends)
    if sites.size and model.homopolymer > 0:
        site_read = np.searchsorted(ends, sites, side="right")
        site_mult = multiplier[site_read] * boost[site_read]
        more = _homopolymer_events(rng, seq, sites, site_mult, model)
        positions += more[0]
        kinds += more[1]
        bases += more[2]
    return _first_per_position(rng, positions, kinds, bases)


def _random_events(
    rng: np.random.Generator,
    seq: np.ndarray,
    lengths: np.ndarray,
    ends: np.ndarray,
    expected: np.ndarray,
    model: ErrorModel,
) -> _Events:
    """Substitutions, insertions and deletions anywhere: a Poisson count per read (its share
    of the `expected` events), each at a uniform position of the read."""
    n = lengths.size
    starts = ends - lengths
    hp = model.homopolymer
    lam = {
        0: expected * model.substitution,
        1: expected * model.insertion * (1 - hp),
        2: expected * model.deletion * (1 - hp),
    }
    positions, kinds, bases = [], [], []
    for code, mean in lam.items():
        per_read = rng.poisson(mean)
        read = np.repeat(np.arange(n), per_read)
        pos = starts[read] + (rng.random(read.size) * lengths[read]).astype(np.int64)
        positions.append(pos)
        kinds.append(np.full(pos.size, code, dtype=np.int8))
        if code == 0:
            bases.append(_SUBSTITUTE[seq[pos], rng.integers(0, 3, size=pos.size)])
        elif code == 1:
            bases.append(random_bases(rng, pos.size))
        else:
            bases.append(np.zeros(pos.size, dtype=np.uint8))
    return positions, kinds, bases


def _homopolymer_events(
    rng: np.random.Generator,
    seq: np.ndarray,
    sites: np.ndarray,
    site_mult: np.ndarray,
    model: ErrorModel,
) -> _Events:
    """Homopolymer slips (a base repeated or dropped) at the homopolymer sites, one uniform
    draw per site, scaled so their expected total is the homopolymer share of the rate."""
    scale = model.rate * model.homopolymer * seq.size / sites.size
    p_ins = np.minimum(scale * model.insertion * site_mult, 0.5)
    p_del = np.minimum(scale * model.deletion * site_mult, 0.5)
    u = rng.random(sites.size)
    hp_ins = sites[u < p_ins]
    hp_del = sites[(u >= p_ins) & (u < p_ins + p_del)]
    kinds = [np.full(hp_ins.size, 3, np.int8), np.full(hp_del.size, 4, np.int8)]
    return [hp_ins, hp_del], kinds, [seq[hp_ins], np.zeros(hp_del.size, dtype=np.uint8)]


def _first_per_position(
    rng: np.random.Generator,
    positions: list[np.ndarray],
    kinds: list[np.ndarray],
    bases: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The events sorted by position, one per base: where two land on one base a random one
    of them wins, so no kind is favoured."""
    pos = np.concatenate(positions)
    kind = np.concatenate(kinds)
    base = np.concatenate(bases)
    order = np.lexsort((rng.random(pos.size), pos))
    pos, kind, base = pos[order], kind[order], base[order]
    first = np.ones(pos.size, dtype=bool)
    first[1:] = pos[1:] != pos[:-1]
    return pos[first], kind[first], base[first]


def apply_errors(
    rng: np.random.Generator, seq: np.ndarray, lengths: np.ndarray, model: ErrorModel
) -> Reads:
    """Basecalled reads from true sequences: substitutions, indels, homopolymer slips, qualities.

    Each read draws a rate multiplier (some reads are worse than others) that also lowers its
    qualities; wrong and inserted bases, and the base before a deletion, get error-like
    qualities, so quality tracks where the errors are, as in real basecalls.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n = lengths.size
    if model.read_spread > 0:
        multiplier = rng.gamma(model.read_spread, 1.0 / model.read_spread, size=n)
    else:
        multiplier = np.ones(n)
    pos, kind, base = _events(rng, seq, lengths, multiplier, model)
    is_sub = kind == 0
    is_ins = (kind == 1) | (kind == 3)
    is_del = (kind == 2) | (kind == 4)

    copies = np.ones(seq.size, dtype=np.uint8)
    copies[pos[is_del]] = 0
    copies[pos[is_ins]] = 2
    changed = seq.copy()
    changed[pos[is_sub]] = base[is_sub]
    out = np.repeat(changed, copies)
    delta = is_ins.astype(np.int64) - is_del
    at = pos + np.cumsum(delta) - delta  # where each event's base lands in `out`
    out[at[is_ins] + 1] = base[is_ins]

    ends = np.cumsum(lengths)
    read = np.searchsorted(ends, pos, side="right")

    def per_read(mask: np.ndarray) -> np.ndarray:
        return np.bincount(read[mask], minlength=n).astype(np.int64)

    counts = ErrorCounts(
        template_length=lengths,
        substitutions=per_read(is_sub),
        insertions=per_read(is_ins),
        deletions=per_read(is_del),
        homopolymer_insertions=per_read(kind == 3),
        homopolymer_deletions=per_read(kind == 4),
    )
    out_lengths = lengths + counts.insertions - counts.deletions
    qual = _qualities(rng, out_lengths, multiplier, model, at, read, is_sub, is_ins, is_del)
    return Reads(out, qual, out_lengths, counts)


def _qualities(
    rng: np.random.Generator,
    out_lengths: np.ndarray,
    multiplier: np.ndarray,
    model: ErrorModel,
    at: np.ndarray,
    read: np.ndarray,
    is_sub: np.ndarray,
    is_ins: np.ndarray,
    is_del: np.ndarray,
) -> np.ndarray:
    """Phred+33 per output base: high where right, low where wrong, lower for worse reads."""
    total = int(out_lengths.sum())
    u = np.frombuffer(rng.bytes(total), dtype=np.uint8)
    good = _phred_table(model.q_correct, model.q_correct_sd, 1, model.q_max)
    bad = _phred_table(model.q_error, model.q_error_sd, 1, model.q_max)
    q = good[u]
    shift = np.clip(np.rint(-10 * np.log10(np.maximum(multiplier, 1e-3))), -15, 10)
    q += np.repeat(shift.astype(np.int16), out_lengths)
    out_ends = np.cumsum(out_lengths)
    out_starts = out_ends - out_lengths
    before_gap = np.maximum(at[is_del] - 1, out_starts[read[is_del]])
    before_gap = before_gap[before_gap < out_ends[read[is_del]]]
    wrong = np.concatenate([at[is_sub], at[is_ins] + 1, before_gap])
    q[wrong] = bad[u[wrong]]
    np.clip(q, 1, model.q_max, out=q)
    return (q + 33).astype(np.uint8)


def read_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 36) ASCII UUID4-style names, as MinKNOW gives reads; unique in practice (122 bits)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    names = np.full((n, NAME_WIDTH), ord("-"), dtype=np.uint8)
    for src, dst, width in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):
        names[:, dst : dst + width] = digits[:, src : src + width]
    return names


def fastq_bytes(names: np.ndarray, reads: Reads) -> bytes:
    """FASTQ records (`@name`, bases, `+`, qualities) of a chunk as one bytes object.

    Slicing two bytes objects per read and one join is memcpy work; it beats a NumPy gather
    here because the gather's index arrays cost more memory traffic than the bases themselves.
    """
    n = reads.lengths.size
    width = NAME_WIDTH + 2
    header = np.empty((n, width), dtype=np.uint8)
    header[:, 0] = ord("@")
    header[:, 1:-1] = names
    header[:, -1] = ord("\n")
    head = header.tobytes()
    seq = reads.seq.tobytes()
    qual = reads.qual.tobytes()
    ends = np.cumsum(reads.lengths).tolist()
    parts: list[bytes] = []
    add = parts.append
    start = 0
    for i, end in enumerate(ends):
        add(head[i * width : (i + 1) * width])
        add(seq[start:end])
        add(b"\n+\n")
        add(qual[start:end])
        add(b"\n")
        start = end
    return b"".join(parts)


def open_ubam(path: str | Path) -> pysam.AlignmentFile:
    """An unaligned BAM for writing, with the header a basecaller would give (no references)."""
    header = {
        "HD": {"VN": "1.6", "SO": "unknown"},
        "PG": [{"ID": "utrflow-simulate", "PN": "utrflow"}],
    }
    return pysam.AlignmentFile(str(path), "wb", header=header)


def write_ubam(handle: pysam.AlignmentFile, names: np.ndarray, reads: Reads) -> None:
    """Append a chunk as unmapped records (flag 4), names and qualities as in the FASTQ."""
    text = reads.seq.tobytes().decode("ascii")
    name_text = names.tobytes().decode("ascii")
    qual = array("B", (reads.qual - 33).tobytes())
    ends = np.cumsum(reads.lengths).tolist()
    starts = [0, *ends[:-1]]
    record = pysam.AlignedSegment(handle.header)
    record.flag = 4
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        record.query_name = name_text[i * NAME_WIDTH : (i + 1) * NAME_WIDTH]
        record.query_sequence = text[s:e]
        record.query_qualities = qual[s:e]
        handle.write(record)
