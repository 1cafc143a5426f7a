"""Each well's UTR: partial-order consensus of its reads' regions, purity, and the library match.

Per well, abPOA (pyabpoa) builds up to two consensus sequences from the oriented regions. Two
consensuses that differ mean two colonies grew in the well: the larger one is called and the
well's purity (the top allele's share of reads) says how mixed it is. Reads farther from the
call than a per-base-error tolerance also count against purity, which catches minor alleles too
rare for abPOA to split off.

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

import gzip
import math
import multiprocessing
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edlib
import numpy as np
import pyabpoa
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from utrflow import io
from utrflow.config import section_defaults
from utrflow.io import reading_output
from utrflow.reads import sheets
from utrflow.reads.demux import REGION_COLUMNS, REGION_CONTEXT
from utrflow.sequences import edit_distance, single_edits

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


def at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def variant_confirmed(backing: int, n_reads: int, confidence: float) -> bool:
    """Do `backing` of `n_reads` reads confirm a difference from the design, at `confidence`?
    One-sided binomial test against reads that lean no more to the call than to the design
    (half of them): 5 of 5 confirm at 0.95 (0.5**5 = 0.031), 4 of 5 do not; 15 of 20 do."""
    return confidence <= 0 or at_most(n_reads - backing, n_reads, 0.5) < 1 - confidence


def well_qc(n_reads: int, call: WellCall, settings: ConsensusSettings) -> str:
    """`pass` or why not, from the well's reads and its call: no reads, too few regions, a
    second allele (`mixed`), a difference from the design too few reads confirm
    (`variant_unconfirmed`), or too few reads to exclude a second allele (`purity_unproven`)."""
    if n_reads == 0:
        return "no_reads"
    if call.n_used < settings.min_reads:
        return "low_reads"
    if call.purity < settings.min_purity or call.minor_sequence:
        return "mixed"
    if call.variant_backing is not None and not variant_confirmed(
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


def _poa(seqs: Sequence[str]) -> str:
    """abPOA's single consensus of the sequences (all reads weigh alike)."""
    if len(seqs) == 1:
        return seqs[0]
    result = pyabpoa.msa_aligner().msa(list(seqs), out_cons=True, out_msa=False)
    return result.cons_seq[0]


def _distances(targets: Sequence[str], seqs: Sequence[str], bound: int | None = None) -> np.ndarray:
    """Edit distances, one row per target and one column per sequence (bound + 1 past `bound`)."""
    return process.cdist(
        targets, seqs, scorer=Levenshtein.distance, score_cutoff=bound, dtype=np.int32
    )


def _within(seqs: Sequence[str], target: str, tolerance: int) -> list[int]:
    """Edit distance of each sequence to `target`, -1 beyond `tolerance`."""
    distances = _distances([target], seqs, tolerance)[0]
    return np.where(distances > tolerance, -1, distances).tolist()


def best_reads(seqs: Sequence[str], n: int) -> list[str]:
    """`n` regions for the consensus: the first, in the order given (`read_plate_regions`: the
    best by mean read quality first), whose length is within 10 % (at least 3 nt) of the well's
    median, then if need be the others in that order.

    A region far longer or shorter than most is a mis-cut or a chimera remnant; among the rest
    the reads the basecaller trusts most carry the fewest errors, and the order is
    reproducible. (Ranking by nearness to the median would favour the reads that share
    nanopore's typical one-base deletion, and tilt the call.) A well with `n` reads or fewer
    keeps them all, as they came.
    """
    if len(seqs) <= n:
        return list(seqs)
    median = sorted(len(s) for s in seqs)[len(seqs) // 2]
    slack = max(3, math.ceil(0.1 * median))
    ranked = sorted(range(len(seqs)), key=lambda i: (abs(len(seqs[i]) - median) > slack, i))
    return [seqs[i] for i in sorted(ranked[:n])]


def shown_edits(seqs: Sequence[str], seq: str) -> set[str]:
    """The sequences one edit from `seq` toward the reads: each read's own edits from `seq`
    (one optimal alignment, rapidfuzz's `editops`), applied one at a time, kept when at least
    n // 20 of the n reads show them (every one below 40 reads).

    An edit can lower the reads' summed distance only when it lowers more reads' distances than
    it raises, and a read whose distance it lowers shows it in an optimal alignment. An edit
    that one read alone shows, among 40 or more, would have to leave all the others' distances
    as they were: it is that read's own error. Equal strings merge, so a base lost anywhere in
    a homopolymer is one candidate however each read's alignment placed it.
    """
    min_reads = max(1, len(seqs) // 20)
    votes: Counter[str] = Counter()
    for read in seqs:
        shown = set()
        for op in Levenshtein.editops(seq, read):
            tag, i, j = op.tag, op.src_pos, op.dest_pos
            if tag == "replace":
                shown.add(seq[:i] + read[j] + seq[i + 1 :])
            elif tag == "insert":
                shown.add(seq[:i] + read[j] + seq[i:])
            else:
                shown.add(seq[:i] + seq[i + 1 :])
        votes.update(shown)
    return {candidate for candidate, n in votes.items() if n >= min_reads}


def polish(seqs: Sequence[str], start: str, extra: Iterable[str] = (), rounds: int = 3) -> str:
    """The sequence nearest to the reads in summed edit distance, searched from `start` one
    edit at a time (the edits the reads show, see `shown_edits`, plus `extra` candidates, e.g.
    nearby designs).

    POA consensus slips at homopolymers and at the region ends where flank alignments wobble;
    the reads' own majority, scored base by base, fixes both. Scoring the edits the reads show
    (tens) rather than every single edit (about 12 per base) costs a tenth as much.
    """
    best = start
    best_total = int(_distances([best], seqs).sum())
    candidates = set(extra)
    for _ in range(rounds):
        improved = False
        ordered = sorted(candidates | shown_edits(seqs, best))
        if not ordered:
            break
        totals = _distances(ordered, seqs).sum(axis=1).tolist()
        for candidate, total in zip(ordered, totals, strict=True):
            if total < best_total:
                best, best_total, improved = candidate, total, True
        candidates = set()
        if not improved:
            break
    return best


def homopolymer_steps(seq: str) -> set[str]:
    """Sequences one base longer in a run of 2 or more, or one base shorter in a run of 3+."""
    out: set[str] = set()
    start = 0
    for end in range(1, len(seq) + 1):
        if end < len(seq) and seq[end] == seq[start]:
            continue
        length = end - start
        if length >= 2:
            out.add(seq[:end] + seq[start] + seq[end:])
        if length >= 3:
            out.add(seq[:start] + seq[start + 1 :])
        start = end
    return out


def variant_backing(seqs: Sequence[str], call: str, design: str) -> int | None:
    """How many reads back each difference between `call` and its nearest `design`: those
    closer to the call than to the call with one edit undone toward the design, at the
    least-backed edit (None when call and design are equal).

    At low depth a difference from the design is as often the reads' shared error (3 or 4 of 5
    reads slipping at one homopolymer) as a real synthesis error, which shows in nearly every
    read; and a real variant can carry a shared slip beside it. A read as far from both backs
    neither.
    """
    if call == design or not seqs:
        return None
    steps = sorted(single_edits(call))
    closer = _distances(steps, [design])[:, 0] < edit_distance(call, design)
    back = [step for step, nearer in zip(steps, closer, strict=True) if nearer]
    distances = _distances([call, *back], seqs)
    return int((distances[0] < distances[1:]).sum(axis=1).min())


def reads_prefer(seqs: Sequence[str], candidate: str, call: str, min_ratio: float) -> bool:
    """Do at least `min_ratio` as many reads sit closer to `candidate` as to `call`?"""
    to_candidate, to_call = _distances([candidate, call], seqs)
    closer_candidate = int((to_candidate < to_call).sum())
    closer_call = int((to_call < to_candidate).sum())
    return closer_candidate >= min_ratio * closer_call


def toward_design(seqs: Sequence[str], call: str, design: str, min_ratio: float) -> str:
    """Give the call the design's homopolymer lengths where the reads allow it.

    Nanopore reads shorten long runs often enough that their majority can be a base short; a
    true synthesis error in a run leaves few reads with the design's length. So each one-base
    run step that brings the call closer to the design is taken when the reads closer to it are
    at least `min_ratio` as many as those closer to the call. Other differences (real synthesis
    errors elsewhere) stay.
    """
    distance = edit_distance(call, design)
    for _ in range(distance):
        steps = [
            candidate
            for candidate in sorted(homopolymer_steps(call))
            if edit_distance(candidate, design) < distance
        ]
        chosen = next((c for c in steps if reads_prefer(seqs, c, call, min_ratio)), None)
        if chosen is None:
            break
        call, distance = chosen, edit_distance(chosen, design)
    return call


BOUNDARY_SLACK = 3  # bases beyond a flank end's expected place where trim_flanks looks for it


def trim_flanks(seq: str, flanks: tuple[str, str]) -> str:
    """`seq` without the flank ends around it: the upstream flank's end found near the start,
    the downstream flank's start near the end, each where the alignment puts it closest to
    where it belongs (a consensus over many reads carries the flank ends as designed, so a
    base the flank shares with the UTR stays with the UTR)."""
    up, down = flanks
    start, stop = 0, len(seq)
    if up:
        window = seq[: len(up) + BOUNDARY_SLACK]
        hit = edlib.align(up, window, mode="HW", task="locations", k=len(up) // 2)
        ends = [end for _, end in hit["locations"]] if hit["editDistance"] >= 0 else []
        start = min(ends, key=lambda end: abs(end - (len(up) - 1))) + 1 if ends else len(up)
    if down:
        offset = max(start, len(seq) - len(down) - BOUNDARY_SLACK)
        hit = edlib.align(down, seq[offset:], mode="HW", task="locations", k=len(down) // 2)
        starts = [offset + s for s, _ in hit["locations"]] if hit["editDistance"] >= 0 else []
        expected = len(seq) - len(down)
        stop = min(starts, key=lambda s: abs(s - expected)) if starts else expected
    return seq[start : max(start, stop)]


def call_well(
    regions: Sequence[str],
    settings: ConsensusSettings,
    library: LibraryIndex | None = None,
    flanks: tuple[str, str] = ("", ""),
) -> WellCall:
    """Consensus, purity and any second allele of one well's regions.

    One consensus over `consensus_reads` of the well's reads (see best_reads; abPOA's own
    two-allele split takes homopolymer-length noise for alleles). Every read farther from it
    than the tolerance is a candidate for a second allele; it is real when their own consensus
    explains enough of them.

    With `flanks` (the upstream flank's last and the downstream flank's first bases), each
    region comes with the read's bases of those flank ends around it: the consensus is called
    over flank end - UTR - flank end, and the flank ends are cut off after (`trim_flanks`).
    """
    seqs = [r for r in regions[: settings.max_reads] if r]
    if not seqs:
        return WellCall("", 0.0, "", 0)
    sample = best_reads(seqs, settings.consensus_reads)
    call = _poa(sample)

    def wrap(design: str) -> str:
        return flanks[0] + design + flanks[1]

    def nearest(candidate: str) -> list[str]:
        if library is None:
            return []
        return [
            wrap(library.sequences[i]) for _, i in library.nearest(trim_flanks(candidate, flanks))
        ]

    def tolerance(seq: str) -> int:
        return max(3, math.ceil(settings.read_tolerance * len(seq)))

    distances = _within(sample, call, tolerance(call))
    inliers = [s for s, d in zip(sample, distances, strict=True) if d >= 0]
    if len(inliers) >= 2:
        call = polish(inliers[: settings.polish_reads], call, nearest(call))
        if near := nearest(call):
            call = toward_design(inliers, call, near[0], settings.homopolymer_design_ratio)
    distances = _within(seqs, call, tolerance(call))
    kept = [s for s, d in zip(seqs, distances, strict=True) if d >= 0]
    outliers = [s for s, d in zip(seqs, distances, strict=True) if d < 0]
    # differences inside the UTR only: the reported call between the construct's flank ends
    reported = trim_flanks(call, flanks)
    near = nearest(call)
    scored = kept[: settings.polish_reads]
    backing = variant_backing(scored, wrap(reported), near[0]) if near else None
    explained = len(seqs) - len(outliers)
    needed = max(2, math.ceil(settings.min_allele_share * len(seqs)))
    minor = ""
    if len(outliers) >= needed:
        second = _poa(best_reads(outliers, settings.consensus_reads))
        support = sum(d >= 0 for d in _within(outliers, second, tolerance(second)))
        if support >= needed and edit_distance(second, call) > tolerance(call):
            minor = second
    trimmed_minor = trim_flanks(minor, flanks) if minor else ""
    return WellCall(
        reported,
        explained / len(seqs),
        trimmed_minor,
        len(seqs),
        backing,
        len(scored),
    )


class LibraryIndex:
    """Nearest designs of a sequence, within `max_distance` edits, by the pigeonhole rule."""

    def __init__(self, ids: Sequence[str], sequences: Sequence[str], max_distance: int) -> None:
        self.ids = list(ids)
        self.sequences = list(sequences)
        self.exact = {s: i for i, s in enumerate(self.sequences)}
        self.max_distance = max_distance
        pieces = max_distance + 1
        shortest = min(len(s) for s in self.sequences)
        self.size = max(shortest // pieces, 1)
        self.pieces = pieces
        self.index: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i, seq in enumerate(self.sequences):
            for j in range(pieces):
                start = j * self.size
                self.index[(j, seq[start : start + self.size])].append(i)

    def candidates(self, query: str) -> set[int]:
        """Designs sharing a segment with `query` at a shift of at most max_distance."""
        found: set[int] = set()
        d, size = self.max_distance, self.size
        for j in range(self.pieces):
            start = j * size
            for shift in range(-d, d + 1):
                at = start + shift
                if at < 0 or at + size > len(query):
                    continue
                found.update(self.index.get((j, query[at : at + size]), ()))
        return found

    def nearest(self, query: str) -> list[tuple[int, int]]:
        """Up to two (distance, design index), best first, within max_distance (+1 for the
        runner-up, so a margin can be judged)."""
        bound = self.max_distance + 1
        scored = []
        for i in self.candidates(query):
            target = self.sequences[i]
            if abs(len(target) - len(query)) > bound:
                continue
            d = edlib.align(query, target, mode="NW", task="distance", k=bound)["editDistance"]
            if d >= 0:
                scored.append((d, i))
        scored.sort()
        return scored[:2]


def differences(consensus: str, design: str) -> str:
    """Edits from the design to the consensus, 1-based design positions: '12A>G;30delT'."""
    cigar = edlib.align(consensus, design, mode="NW", task="path")["cigar"] or ""
    edits = []
    pos = 0  # design bases consumed
    at = 0  # consensus bases consumed
    number = ""
    for char in cigar:
        if char.isdigit():
            number += char
            continue
        count, number = int(number), ""
        if char == "=":
            pos += count
            at += count
        elif char == "X":
            for k in range(count):
                edits.append(f"{pos + k + 1}{design[pos + k]}>{consensus[at + k]}")
            pos += count
            at += count
        elif char == "I":  # bases in the consensus only
            edits.append(f"{pos}_{pos + 1}ins{consensus[at : at + count]}")
            at += count
        elif char == "D":  # design bases missing from the consensus
            edits.append(f"{pos + 1}del{design[pos : pos + count]}")
            pos += count
    return ";".join(edits)


@dataclass(frozen=True)
class Match:
    """A consensus against the library."""

    variant_id: str
    match: str
    distance: int
    differences: str
    second_variant_id: str
    second_distance: int


def match_library(sequence: str, library: LibraryIndex, margin: int) -> Match:
    """exact / synthesis_variant / ambiguous / unmatched, with the two nearest designs."""
    exact = library.exact.get(sequence)
    near = library.nearest(sequence)
    if exact is not None:
        second = next(((d, i) for d, i in near if i != exact), None)
        return Match(
            library.ids[exact],
            "exact",
            0,
            "",
            library.ids[second[1]] if second else "",
            second[0] if second else -1,
        )
    if not near or near[0][0] > library.max_distance:
        return Match("", "unmatched", -1, "", "", -1)
    best_d, best = near[0]
    second = near[1] if len(near) > 1 else None
    close = second is not None and second[0] - best_d < margin
    return Match(
        library.ids[best],
        "ambiguous" if close else "synthesis_variant",
        best_d,
        differences(sequence, library.sequences[best]),
        library.ids[second[1]] if second else "",
        second[0] if second else -1,
    )


def construct_ends(
    upstream_flank: str, downstream_flank: str, length: int = REGION_CONTEXT
) -> tuple[str, str]:
    """The flank ends the demultiplexer keeps beside each region: the upstream flank's last
    and the downstream flank's first `length` bases."""
    return upstream_flank[max(0, len(upstream_flank) - length) :], downstream_flank[:length]


def best_first(reads: Sequence[tuple[float, str]], sample: int) -> list[str]:
    """A well's (mean quality, region) reads as regions: with more than `sample`, the `sample`
    of best quality first (the consensus sample, `best_reads`, takes the first), then the
    others; each part in file order (the order abPOA meets them in stays the file's), ties in
    quality to the earlier read. A well of `sample` reads or fewer stays as it came."""
    if len(reads) <= sample:
        return [region for _, region in reads]
    best = sorted(sorted(range(len(reads)), key=lambda i: -reads[i][0])[:sample])
    chosen = set(best)
    rest = [i for i in range(len(reads)) if i not in chosen]
    return [reads[i][1] for i in best + rest]


def read_plate_regions(
    paths: Iterable[str | Path],
    plate: str,
    max_reads: int,
    context: bool = False,
    sample: int | None = None,
) -> dict[str, list[str]]:
    """Regions of one plate's wells from regions.tsv.gz files (as the demultiplexer writes them:
    REGION_COLUMNS, tab-joined, never quoted; a file from before the `quality` column reads
    too), at most `max_reads` per well in file order, read line by line so a pooled file of
    millions of reads never sits in memory. With `sample` (the consensus sample's size), each
    well's best reads by mean quality come first (`best_first`; FASTA reads have none). With
    `context`, each region comes with the read's flank ends around it (`left` + region +
    `right`), for `call_well`'s `flanks`."""
    kept: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for path in paths:
        with reading_output(path), gzip.open(path, "rt", newline="\n") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            if header not in (REGION_COLUMNS, REGION_COLUMNS[:-1]):
                raise ValueError(f"its header is not {' '.join(REGION_COLUMNS)}")
            columns = len(header)
            for number, line in enumerate(handle, start=2):
                cells = line.rstrip("\n").split("\t")
                if len(cells) != columns:
                    raise ValueError(f"line {number} has {len(cells)} cells, not {columns}")
                if cells[0] != plate:
                    continue
                well = kept[cells[1]]
                if len(well) < max_reads:
                    quality = float(cells[6]) if columns > 6 and cells[6] else 0.0
                    region = cells[4] + cells[3] + cells[5] if context else cells[3]
                    well.append((quality, region))
    return {well: best_first(reads, sample or len(reads)) for well, reads in kept.items()}


def call_and_match(
    regions: Sequence[str],
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    flanks: tuple[str, str] = ("", ""),
) -> tuple[WellCall, Match | None]:
    """One well's call and, with a library, its match."""
    call = call_well(regions, settings, library, flanks)
    match = (
        match_library(call.sequence, library, settings.min_match_margin)
        if library is not None and call.sequence
        else None
    )
    return call, match


_WORKER: tuple[ConsensusSettings, LibraryIndex | None, tuple[str, str]] | None = None


def _init_worker(
    settings: ConsensusSettings, library: LibraryIndex | None, flanks: tuple[str, str]
) -> None:
    global _WORKER
    _WORKER = (settings, library, flanks)


def _worker_call(regions: list[str]) -> tuple[WellCall, Match | None]:
    assert _WORKER is not None
    return call_and_match(regions, *_WORKER)


def call_wells(
    wells: Sequence[list[str]],
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[tuple[WellCall, Match | None]]:
    """Every well's call and match, in order, over `threads` processes (1: in this one).

    Wells are independent and each costs about the same (the consensus sample is bounded), so
    handing them out a few at a time keeps every core busy to the end.
    """
    if threads <= 1 or len(wells) < 2:
        return [call_and_match(regions, settings, library, flanks) for regions in wells]
    # Forking a process that already runs threads (e.g. TensorFlow's) can deadlock.
    context = multiprocessing.get_context("spawn" if threading.active_count() > 1 else "fork")
    with context.Pool(min(threads, len(wells)), _init_worker, (settings, library, flanks)) as pool:
        return pool.map(_worker_call, wells, chunksize=max(1, len(wells) // (8 * threads)))


def call_plate(
    plate: str,
    counts: Iterable[Mapping[str, str]],
    regions: dict[str, list[str]],
    library: LibraryIndex | None,
    settings: ConsensusSettings,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[dict[str, Any]]:
    """One row per well of the plate (CONSENSUS_COLUMNS), every well of the layout (the rows
    of well_counts.tsv) listed; wells are called over `threads` processes; `flanks` as
    `call_well` takes them (`construct_ends`) when the regions carry flank ends."""
    rows = []
    layout = [
        (row["well"], row["role"], row["reads"], row["regions"])
        for row in counts
        if row["plate"] == plate
    ]
    wells = [regions.get(well, []) for well, *_ in layout]
    results = call_wells(wells, settings, library, threads, flanks)
    for (well, role, n_reads, n_regions), (call, match) in zip(layout, results, strict=True):
        qc = well_qc(int(n_reads), call, settings)
        rows.append(
            {
                "plate": plate,
                "well": well,
                "role": role,
                "n_reads": int(n_reads),
                "n_regions": int(n_regions),
                "sequence": call.sequence,
                "purity": round(call.purity, 4) if call.n_used else None,
                "minor_sequence": call.minor_sequence,
                "variant_id": match.variant_id if match else "",
                "match": match.match if match else "",
                "edit_distance": match.distance if match and match.distance >= 0 else None,
                "differences": match.differences if match else "",
                "second_variant_id": match.second_variant_id if match else "",
                "second_distance": (
                    match.second_distance if match and match.second_distance >= 0 else None
                ),
                "qc": qc,
            }
        )
    return rows


def library_index(path: Path | None, settings: ConsensusSettings) -> LibraryIndex | None:
    """The designed library, indexed for matching calls (None without a library)."""
    if not path:
        return None
    designs = sheets.load_library(path)
    return LibraryIndex(
        [row["id"] for row in designs],
        [row["sequence"] for row in designs],
        settings.max_variant_distance,
    )


def run(
    plate: str,
    counts: Path,
    regions: Path,
    library: Path | None,
    settings: ConsensusSettings,
    output: Path,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[dict[str, Any]]:
    """The `consensus` stage for one plate: each well's call, purity and library match
    (written to `output`, and returned as rows), wells across `threads` processes; with
    `flanks` (`construct_ends`), over flank end - UTR - flank end (see `call_well`)."""
    index = library_index(library, settings)
    well_counts = io.read_rows(counts)
    plate_regions = read_plate_regions(
        [regions], plate, settings.max_reads, any(flanks), settings.consensus_reads
    )
    calls = call_plate(plate, well_counts, plate_regions, index, settings, threads, flanks)
    io.write_rows(calls, CONSENSUS_COLUMNS, output)
    return calls
