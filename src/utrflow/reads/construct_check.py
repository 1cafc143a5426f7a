"""The construct checked against the reads before the wells are called.

Wrong flanks fail silently in the demultiplexer: every read is assigned to its well, and none
gives a region, so every well ends `low_reads` and a user blames the sequencing depth. This
check samples a few thousand reads of each read group, places them with the demultiplexer
(barcodes and primers only), and looks for each flank on both strands of the placed reads.
A flank found reverse-complemented, in under half of the placed reads, or not given at all
stops the run with one line saying what was found and what to write instead; the flanks to
write are proposed from the reads themselves: the constant sequence on either side of the
stretch where the reads differ.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.reads.demux import Demultiplexer, DemuxSettings, Layout, search
from utrflow.reads.files import iter_reads
from utrflow.sequences import reverse_complement

SAMPLE_READS = 3000  # reads sampled per read group, spread over its files
MIN_PLACED = 20  # placed reads needed to judge a flank
REVERSED_TRIAL = 0.25  # fewer reads placed: try each end's barcodes and each primer reversed
SWAP_GAIN = 1.25  # the fwd/rev barcode columns exchanged give this many times the UTRs: swapped
MIN_SHARE = 0.5  # a flank in fewer of the placed reads stops the run
WARN_SHARE = 0.8  # ... in fewer than this, a warning
PROPOSAL_READS = 1000  # placed reads the proposal reads (enough: it needs their consensus)
BOUNDARY_AGREEMENT = 0.4  # of a constant k-mer's reads: the walk toward the variable part
FLANK_AGREEMENT = 0.9  # share of reads agreeing on each base of a proposed flank
K = 11  # k-mer length of the proposal: long enough to be unique in an amplicon
FLANK_LENGTH = 20  # bases proposed on each side when no flank is given
FLANK_KEYS = ("upstream_flank", "downstream_flank")


@dataclass
class Element:
    """How often one construct element was found in the placed reads, and how well."""

    name: str
    found: int = 0
    reverse: int = 0  # found only as its reverse complement
    edits: list[int] | None = None

    def as_dict(self, total: int) -> dict[str, Any]:
        """The element's entry of construct_check.json (shares of `total` reads)."""
        edits = self.edits or []
        return {
            "name": self.name,
            "found_share": round(self.found / total, 4) if total else 0.0,
            "reverse_complement_share": round(self.reverse / total, 4) if total else 0.0,
            "median_edits": statistics.median(edits) if edits else None,
        }


def sample(files: Sequence[str], n: int = SAMPLE_READS) -> list[str]:
    """The first reads of each file, `n` in all spread evenly over the files."""
    each = max(1, math.ceil(n / max(1, len(files))))
    reads: list[str] = []
    for path in files:
        for i, (_name, seq, *_quality) in enumerate(iter_reads(path)):
            if i >= each:
                break
            reads.append(seq)
    return reads


def place(
    reads: Iterable[str], construct: sheets.Construct, layout: Layout, settings: DemuxSettings
) -> tuple[list[str], int]:
    """The reads the demultiplexer assigns to a well by their barcodes (and primers), turned to
    the forward strand, and how many reads were looked at. Flanks play no part in placing."""
    placed, seen, _ = _place(reads, construct, layout, settings)
    return placed, seen


def _place(
    reads: Iterable[str], construct: sheets.Construct, layout: Layout, settings: DemuxSettings
) -> tuple[list[str], int, int]:
    """`place`, and how many placed reads give a region between the flanks (without the chimera
    check, flanks only cut the region out: they never change a read's well or strand)."""
    demux = Demultiplexer(construct, layout, replace(settings, chimera_check=False))
    placed, seen, regions = [], 0, 0
    for seq in reads:
        seen += 1
        call = demux.classify(seq)
        if call.status == "assigned":
            placed.append(seq if call.strand == "+" else reverse_complement(seq))
            regions += call.region is not None
    return placed, seen, regions


def find(name: str, query: str, reads: Iterable[str], max_error: float) -> Element:
    """Where `query` (forward strand) is in the placed reads: as given, or only as its
    reverse complement, within `max_error` of its length."""
    element = Element(name)
    if not query:
        return element  # not given: left out of the result (edits None)
    element.edits = []
    k = math.floor(max_error * len(query))
    back = reverse_complement(query)
    for seq in reads:
        d = search(query, seq, k)[0]
        if d >= 0:
            element.found += 1
            assert element.edits is not None
            element.edits.append(d)
        elif search(back, seq, k)[0] >= 0:
            element.reverse += 1
    return element


# --------------------------------------------------------------------------------------------
# The flanks the reads propose


def _kmer_reads(reads: Sequence[str], k: int = K) -> Counter[str]:
    """In how many reads each k-mer occurs (once per read)."""
    counts: Counter[str] = Counter()
    for seq in reads:
        counts.update({seq[i : i + k] for i in range(len(seq) - k + 1)})
    return counts


def _median_positions(reads: Sequence[str], kmers: set[str], k: int = K) -> dict[str, float]:
    """Each k-mer's median start in the reads that hold it."""
    where: dict[str, list[int]] = {}
    for seq in reads:
        for i in range(len(seq) - k + 1):
            kmer = seq[i : i + k]
            if kmer in kmers:
                where.setdefault(kmer, []).append(i)
    return {kmer: statistics.median(places) for kmer, places in where.items()}


def _extend(
    seed: str, counts: Counter[str], floor: float, rightward: bool, limit: int, share: float = 0.0
) -> str:
    """Walk from `seed` one base at a time while the reads agree on the next base: its k-mer in
    at least `floor` reads and in at least `share` of the reads that hold any next base. Stop
    where they differ, or after `limit` bases."""
    seq, seen, k = seed, {seed}, len(seed)
    while len(seq) - k < limit:
        context = seq[-(k - 1) :] if rightward else seq[: k - 1]
        options = {b: counts[context + b if rightward else b + context] for b in "ACGT"}
        best = max(options, key=options.__getitem__)
        kmer = context + best if rightward else best + context
        if options[best] < max(floor, share * sum(options.values())) or kmer in seen:
            break
        seen.add(kmer)
        seq = seq + best if rightward else best + seq
    return seq


@dataclass(frozen=True)
class Proposal:
    """The constant sequence the reads hold on either side of their variable part."""

    upstream: str  # ends where the reads start to differ
    downstream: str  # starts where they agree again

    def flanks(self, lengths: tuple[int, int] = (FLANK_LENGTH, FLANK_LENGTH)) -> dict[str, str]:
        """The flanks to paste: the last and first bases of the two constant stretches."""
        up, down = (n or FLANK_LENGTH for n in lengths)
        return {"upstream_flank": self.upstream[-up:], "downstream_flank": self.downstream[:down]}


def propose(reads: Sequence[str], length: int = FLANK_LENGTH) -> Proposal | None:
    """The constant stretches around the longest stretch where the placed reads differ, or
    None when the reads agree end to end (or are too few to say).

    k-mers present in at least half as many reads as the commonest are the construct's; the
    widest gap between their median positions is the variable part. From the k-mer on each
    side of the gap the reads are followed base by base while they agree, which puts each
    boundary at the base where they stop agreeing."""
    if len(reads) < MIN_PLACED:
        return None
    counts = _kmer_reads(reads)
    top = counts.most_common(1)[0][1] if counts else 0
    common = {kmer for kmer, n in counts.items() if n >= top / 2}
    ordered = sorted(_median_positions(reads, common).items(), key=lambda item: item[1])
    if len(ordered) < 2:
        return None
    gaps = [(b[1] - a[1], i) for i, (a, b) in enumerate(itertools.pairwise(ordered))]
    _gap, i = max(gaps)
    floor = BOUNDARY_AGREEMENT * statistics.median(counts[kmer] for kmer in common)
    left, right = ordered[i][0], ordered[i + 1][0]
    limit = max(len(seq) for seq in reads)
    # Away from the gap, into the flank, the walk goes on only while nearly all reads agree:
    # where variants differ a base here and there the flank stops short, shorter than asked.
    upstream = _extend(left, counts, floor, False, length, FLANK_AGREEMENT)
    upstream = _extend(upstream, counts, floor, True, limit)
    downstream = _extend(right, counts, floor, True, length, FLANK_AGREEMENT)
    downstream = _extend(downstream, counts, floor, False, limit)
    if right in upstream or left in downstream:
        return None  # the walk crossed the gap: the reads agree there after all
    return Proposal(upstream, downstream)


# --------------------------------------------------------------------------------------------
# The verdict


def _paste(flanks: dict[str, str]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in flanks.items())


def _judge_flank(
    key: str, flank: str, element: Element, placed: int, proposed: dict[str, str] | None
) -> tuple[str, str] | None:
    """(`error` or `warning`, one line) for a given flank the reads disagree with, else None."""
    where = f"construct.{key} {flank}"
    share, back = element.found / placed, element.reverse / placed
    instead = f"; the reads' constant sequence there: {key}: {proposed[key]}" if proposed else ""
    if back >= MIN_SHARE and back > share:
        return "error", (
            f"{where} is found reverse-complemented in {back:.0%} of {placed} placed reads: "
            f"give it on the forward strand, {key}: {reverse_complement(flank)}"
        )
    if share < MIN_SHARE:
        return "error", (
            f"{where} is found in {share:.0%} of {placed} placed reads (at least half must hold "
            f"it){instead or '; check it against the construct'}"
        )
    if share < WARN_SHARE:
        return "warning", f"{where} is found in only {share:.0%} of {placed} placed reads{instead}"
    return None


def _typo(key: str, flank: str, stretch: str) -> tuple[str, str] | None:
    """A warning when a flank the reads hold differs from their constant sequence there."""
    k = math.floor(0.25 * len(flank))
    d, start, end = search(flank, stretch, k)
    if d <= 0:
        return None
    fixed = stretch[start : end + 1]
    return "warning", (
        f"construct.{key} {flank} differs from the reads' constant sequence by {d} edit(s): "
        f"the reads have {key}: {fixed}"
    )


def verdict(
    construct: sheets.Construct,
    elements: dict[str, Element],
    placed: int,
    seen: int,
    proposal: Proposal | None,
) -> dict[str, Any]:
    """construct_check.json: status, one line per finding, the elements and the proposal."""
    flanks = {key: getattr(construct, key) for key in FLANK_KEYS}
    lengths = (len(flanks["upstream_flank"]), len(flanks["downstream_flank"]))
    proposed = proposal.flanks(lengths) if proposal else None
    found: list[tuple[str, str]] = []
    if placed < MIN_PLACED:
        found.append(("warning", (
            f"only {placed} of {seen} sampled reads were placed in a well by their barcodes: "
            "too few to check the flanks (check the barcodes and primers in the sheets)"
        )))  # fmt: skip
    elif not any(flanks.values()):
        found.append(("error", (
            "construct: no flanks given, so no UTR can be cut out of the reads; "
            + (f"the reads propose {_paste(proposed)}" if proposed else "none could be found in "
               "the reads: give construct.upstream_flank and downstream_flank")
        )))  # fmt: skip
    else:
        stretches = (
            dict(zip(FLANK_KEYS, (proposal.upstream, proposal.downstream), strict=True))
            if proposal
            else {}
        )
        for key, flank in flanks.items():
            if not flank:
                continue
            problem = _judge_flank(key, flank, elements[key], placed, proposed)
            if problem is None and key in stretches:
                problem = _typo(key, flank, stretches[key])
            if problem:
                found.append(problem)
    status = "error" if any(k == "error" for k, _ in found) else "warning" if found else "ok"
    return {
        "status": status,
        "messages": [line for _, line in found],
        "sampled_reads": seen,
        "placed_reads": placed,
        "elements": [e.as_dict(placed) for e in elements.values() if e.edits is not None],
        "proposed": {
            "upstream_flank": proposed["upstream_flank"],
            "downstream_flank": proposed["downstream_flank"],
        }
        if proposed
        else None,
    }


def _placed(
    samples: dict[sheets.ReadGroup, list[str]],
    wells: list[sheets.Row],
    construct: sheets.Construct,
    settings: DemuxSettings,
) -> tuple[list[str], int, int]:
    """The sampled reads of every group placed by their barcodes, how many were seen, and how
    many placed ones give a region (see `_place`)."""
    placed: list[str] = []
    seen = regions = 0
    for group, reads in samples.items():
        layout = Layout.from_wells(wells, group.plates)
        if layout.wells:
            got, looked, cut = _place(reads, construct, layout, settings)
            placed += got
            seen += looked
            regions += cut
    return placed, seen, regions


def _swapped_columns(
    samples: dict[sheets.ReadGroup, list[str]],
    wells: list[sheets.Row],
    construct: sheets.Construct,
    settings: DemuxSettings,
    given: int,
) -> int | None:
    """The reads that give a UTR (or, without flanks, that place) with the wells sheet's
    fwd_barcode and rev_barcode columns exchanged, when clearly more than `given` do as given;
    else None.

    Exchanged columns are silent otherwise. With primers, the barcode next to the forward
    primer is looked up among the rev barcodes: few reads place, or, where both ends draw on
    one barcode set, reads place in the mirrored well (A2's reads in B1). Without primers the
    barcodes alone orient a read, so every read is placed in its own well on the wrong strand
    and its flanks read reverse-complemented (the flank check then asked for the wrong fix).
    A correct sheet's reads cannot do better exchanged: only wells whose mirrored pair is also
    a well place, and without primers on the wrong strand."""
    if not any(row["rev_barcode"] for row in wells):
        return None  # one barcode per read: no columns to exchange
    exchanged = [
        {**row, "fwd_barcode": row["rev_barcode"], "rev_barcode": row["fwd_barcode"]}
        for row in wells
    ]
    placed, _, regions = _placed(samples, exchanged, construct, settings)
    score = regions if construct.upstream_flank or construct.downstream_flank else len(placed)
    return score if score >= max(MIN_PLACED, SWAP_GAIN * given) else None


def _reversed_part(
    samples: dict[sheets.ReadGroup, list[str]],
    wells: list[sheets.Row],
    construct: sheets.Construct,
    settings: DemuxSettings,
    placed: int,
) -> tuple[str, int] | None:
    """When few reads place: the barcodes of one end, or one primer, that place far more reads
    reverse-complemented (the part, and the reads it then places); else None."""
    trials = {
        key: ([{**row, key: reverse_complement(row[key])} for row in wells], construct)
        for key in ("fwd_barcode", "rev_barcode")
        if any(row[key] for row in wells)
    }
    for key in ("fwd_primer", "rev_primer"):
        if getattr(construct, key):
            trials[key] = (
                wells,
                replace(construct, **{key: reverse_complement(getattr(construct, key))}),
            )
    best = max(
        ((key, len(_placed(samples, w, c, settings)[0])) for key, (w, c) in trials.items()),
        key=lambda item: item[1],
        default=None,
    )
    return best if best and best[1] >= max(2 * placed, MIN_PLACED) else None


def check(
    groups: Sequence[sheets.ReadGroup],
    wells: list[sheets.Row],
    construct: sheets.Construct,
    settings: DemuxSettings,
    n: int = SAMPLE_READS,
    sheet: str = "wells sheet",
) -> dict[str, Any]:
    """The construct against a sample of every read group's reads (see `verdict`); `sheet`
    names the wells sheet in the lines about its barcodes."""
    samples = {group: sample(group.files, n) for group in groups}
    placed, seen, regions = _placed(samples, wells, construct, settings)
    flanked = construct.upstream_flank or construct.downstream_flank
    swapped = _swapped_columns(
        samples, wells, construct, settings, regions if flanked else len(placed)
    )
    reversed_part = None
    if swapped is None and len(placed) < REVERSED_TRIAL * seen:
        reversed_part = _reversed_part(samples, wells, construct, settings, len(placed))
    error = settings.max_flank_error
    elements = {
        "fwd_primer": find("fwd_primer", construct.fwd_primer, placed, settings.max_primer_error),
        "rev_primer": find(
            "rev_primer",
            reverse_complement(construct.rev_primer),
            placed,
            settings.max_primer_error,
        ),
        **{key: find(key, getattr(construct, key), placed, error) for key in FLANK_KEYS},
    }
    result = verdict(construct, elements, len(placed), seen, propose(placed[:PROPOSAL_READS]))
    result["elements"].insert(0, _barcode_element(len(placed), seen, reversed_part))
    if swapped is not None:
        what = "give a UTR" if flanked else "place in a well"
        given = regions if flanked else len(placed)
        result["status"] = "error"
        result["messages"] = [  # the flanks read as found on the wrong strand: not their fault
            f"{sheet}: the fwd_barcode and rev_barcode columns are swapped: {swapped} of "
            f"{seen} sampled reads {what} with the two columns exchanged, {given} as given; "
            "exchange the fwd_barcode and rev_barcode columns (fwd_barcode is the barcode on "
            "the forward primer)"
        ]
        result["swapped_barcode_columns"] = True
    elif reversed_part:
        key, more = reversed_part
        where = sheet if key.endswith("barcode") else f"construct.{key}"
        result["status"] = "error"
        result["messages"].insert(0, (
            f"{where}: the {key.replace('_', ' ')}s read reverse-complemented: {more} of {seen} "
            f"sampled reads place with them reversed, {len(placed)} as given; give them 5'->3' "
            "as ordered on the primers"
        ))  # fmt: skip
    elif MIN_PLACED <= len(placed) < REVERSED_TRIAL * seen:  # enough to judge flanks, yet few
        result["status"] = "warning" if result["status"] == "ok" else result["status"]
        result["messages"].append(
            f"{sheet}: only {len(placed)} of {seen} sampled reads ({len(placed) / seen:.0%}) "
            "place in a well by their barcodes, reversed or swapped no better; the rest will "
            "end unassigned: check the barcodes against the plate (another plate's or kit's?)"
        )
    return result


def _barcode_element(
    placed: int, seen: int, reversed_part: tuple[str, int] | None
) -> dict[str, Any]:
    """The barcode pairs' entry: the share of sampled reads they place, as given and (when
    tried) with one end's barcodes reversed."""
    back = reversed_part[1] if reversed_part and reversed_part[0].endswith("barcode") else 0
    return {
        "name": "barcodes",
        "found_share": round(placed / seen, 4) if seen else 0.0,
        "reverse_complement_share": round(back / seen, 4) if seen else 0.0,
        "median_edits": None,
    }


def run(
    plates_path: Path,
    wells_path: Path,
    construct_cfg: dict[str, str],
    settings: DemuxSettings,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """The check of a reads run's sheets and construct; raises InputError on an error (after
    the caller has written the result: see `raise_on_error`)."""
    construct = sheets.load_construct(construct_cfg)
    plates = sheets.load_plates(plates_path, base_dir)
    wells = sheets.load_wells(wells_path, [row["plate"] for row in plates])
    groups = sheets.read_groups(plates, str(plates_path))
    return check(groups, wells, construct, settings, sheet=f"wells sheet {wells_path}")


def raise_on_error(result: dict[str, Any]) -> None:
    """Stop with the first error line of a check's result."""
    if result["status"] == "error":
        raise InputError(result["messages"][0])
