"""Property-based tests (hypothesis) of the parsers and the demultiplexer.

Parsers: whatever bytes a user hands over, the only way out is an InputError of one line (or a
result); well-formed records come back exactly, whatever their case and line ends. Demultiplexer:
a read and its reverse complement get the same well, and bases beyond the end windows that are
searched for primers and barcodes do not change which well a read goes to.
"""

from __future__ import annotations

import gzip
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from utrflow import preflight, sheets
from utrflow.errors import InputError
from utrflow.labelled import read_user_table
from utrflow.plates import reader as fluorescence
from utrflow.reads import demux
from utrflow.reads.files import iter_records
from utrflow.sequences import reverse_complement

FWD_PRIMER = "TGCCACCTGACGTCTAAGAA"
REV_PRIMER = "CTTCACCCTCTCCACTGACAGA"
UP = "GTCCTAGGTATAATGCTAGC"
DOWN = "ATGCGTAAAGGAGAAGAACT"
FWD_BARCODES = ["ACGTTGCAGTCA", "TGCAGTACCAGT", "CAGTACGTTCGA"]
REV_BARCODES = ["GATCCTAGGACT", "CTAGTCAGTGAC"]
CONSTRUCT = sheets.Construct(FWD_PRIMER, REV_PRIMER, UP, DOWN)
SETTINGS = demux.DemuxSettings()
WELLS = pd.DataFrame(
    [
        ("P1", f"{'AB'[r]}{f + 1}", fwd, rev, "sample")
        for f, fwd in enumerate(FWD_BARCODES)
        for r, rev in enumerate(REV_BARCODES)
    ],
    columns=["plate", "well", "fwd_barcode", "rev_barcode", "role"],
)
LAYOUT = demux.Layout.from_wells(WELLS.to_dict("records"), ["P1"])
DEMUX = demux.Demultiplexer(CONSTRUCT, LAYOUT, SETTINGS)

CHECKS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DNA = st.text("ACGT", min_size=0, max_size=60)


def in_file(data: bytes | str, name: str) -> Path:
    """`data` written to a fresh file (hypothesis runs many examples per test)."""
    path = Path(tempfile.mkdtemp()) / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(data)
    return path


def refused_in_one_line(parse, *args) -> None:
    """Run a parser: any outcome but an exception other than a one-line InputError is fine."""
    try:
        parse(*args)
    except InputError as err:
        assert "\n" not in str(err) and str(err)


# --------------------------------------------------------------------------------------------
# Parsers never crash


fastx_bytes = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda head, rest: head + rest, st.sampled_from([b"@", b">"]), st.binary()),
    st.builds(
        lambda lines: "\n".join(lines).encode(),
        st.lists(st.one_of(st.sampled_from(["@r", "+", ">r", "", "ACGT", "IIII"]), st.text())),
    ),
)


@CHECKS
@given(data=fastx_bytes, compressed=st.booleans())
def test_reads_parser_never_crashes(data: bytes, compressed: bool) -> None:
    path = in_file(gzip.compress(data) if compressed else data, "reads.fastq")
    refused_in_one_line(lambda p: list(iter_records(p)), path)


record = st.tuples(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.text("ACGTNacgtn", min_size=1, max_size=80),
)


@CHECKS
@given(
    records=st.lists(record, min_size=1, max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    fasta=st.booleans(),
    compressed=st.booleans(),
)
def test_well_formed_records_come_back_exactly(records, newline, fasta, compressed) -> None:
    if fasta:
        lines = [line for name, seq in records for line in (f">{name} x=1", seq[:40], seq[40:])]
        lines = [line for line in lines if line]
    else:
        lines = [x for name, seq in records for x in (f"@{name} x=1", seq, "+", "#" * len(seq))]
    text = newline.join(lines) + newline
    path = in_file(gzip.compress(text.encode()) if compressed else text.encode(), "r.fq")
    assert list(iter_records(path)) == [(name, seq.upper()) for name, seq in records]


cell = st.text(max_size=12)
sheet_text = st.lists(st.lists(cell, min_size=1, max_size=6), min_size=1, max_size=6).map(
    lambda rows: "\n".join("\t".join(row) for row in rows)
)


@CHECKS
@given(text=st.one_of(sheet_text, st.text(max_size=200)))
def test_sheet_readers_never_crash(text: str) -> None:
    header = "plate\twell\tfwd_barcode\trev_barcode\trole\n"
    for content in (text, header + text):
        path = in_file(content, "wells.tsv")
        refused_in_one_line(sheets.load_wells, path)
        refused_in_one_line(sheets.load_plates, in_file(content, "plates.tsv"), path.parent)
        refused_in_one_line(sheets.load_library, in_file(content.replace("\t", ","), "lib.csv"))


@CHECKS
@given(text=st.one_of(sheet_text.map(lambda t: t.replace("\t", ",")), st.text(max_size=200)))
@example(text="well,gfp\nA1,1e400\n")
@example(text="gfp\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1\n")
def test_reader_and_table_parsers_never_crash(text: str) -> None:
    reader = in_file(text, "reader.csv")
    refused_in_one_line(
        lambda p: fluorescence.load_plate(
            "P1", WELLS, p, fluorescence.FluorescenceSettings(normalize_by="")
        ),
        reader,
    )
    refused_in_one_line(read_user_table, in_file("sequence,label\n" + text, "t.csv"))
    refused_in_one_line(read_user_table, in_file(text, "t.csv"))


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)
config_keys = st.sampled_from(["source", "seed", "model", "demux", "construct", "split", "x"])


@CHECKS
@given(
    raw=st.one_of(
        st.dictionaries(config_keys, yaml_values, max_size=4),
        st.dictionaries(st.one_of(st.integers(), st.text(max_size=5)), yaml_values, max_size=3),
    )
)
@example(raw={1: "a", "b": 2})
def test_config_validation_never_crashes(raw: dict) -> None:
    path = in_file(yaml.safe_dump(raw), "config.yaml")
    refused_in_one_line(preflight.load, path, path.parent)


# --------------------------------------------------------------------------------------------
# The demultiplexer


def amplicon(fwd: int, rev: int, utr: str) -> str:
    return (
        FWD_BARCODES[fwd]
        + FWD_PRIMER
        + UP
        + utr
        + DOWN
        + reverse_complement(REV_PRIMER)
        + reverse_complement(REV_BARCODES[rev])
    )


def mutate(seq: str, edits: list[tuple[int, str, str]]) -> str:
    """Apply (position, kind, base) substitutions, insertions and deletions, left to right."""
    out = list(seq)
    for position, kind, base in edits:
        i = position % (len(out) + 1)
        if kind == "sub" and i < len(out):
            out[i] = base
        elif kind == "ins":
            out.insert(i, base)
        elif kind == "del" and i < len(out):
            del out[i]
    return "".join(out)


edits = st.lists(
    st.tuples(st.integers(0, 400), st.sampled_from(["sub", "ins", "del"]), st.sampled_from("ACGT")),
    max_size=6,
)
# An amplicon of any well and UTR between any junk, then damaged anywhere.
damaged_reads = st.builds(
    lambda fwd, rev, utr, head, tail, errors: mutate(head + amplicon(fwd, rev, utr) + tail, errors),
    fwd=st.integers(0, len(FWD_BARCODES) - 1),
    rev=st.integers(0, len(REV_BARCODES) - 1),
    utr=st.text("ACGT", min_size=0, max_size=120),
    head=DNA,
    tail=DNA,
    errors=edits,
)


@CHECKS
@given(read=damaged_reads)
def test_a_read_and_its_reverse_complement_get_the_same_well(read: str) -> None:
    """Any read, however damaged: its two strands are one molecule, so one answer."""
    one, other = DEMUX.classify(read), DEMUX.classify(reverse_complement(read))
    assert (one.status, one.well, one.region) == (other.status, other.well, other.region)
    assert (one.fwd_distance, one.rev_distance) == (other.fwd_distance, other.rev_distance)
    if one.strand:
        assert {one.strand, other.strand} == {"+", "-"}


# A quality character per base, so a region's qualities show which read bases they came from.
QUALITY_OF = {"A": "5", "C": "?", "G": "I", "T": "+"}


@CHECKS
@given(read=damaged_reads, reverse=st.booleans())
def test_a_regions_qualities_are_those_of_its_own_read_bases(read: str, reverse: bool) -> None:
    """On either strand, the qualities written beside a region (with its flank ends) are the
    read's own qualities of exactly those bases: a read of the '-' strand has its bases
    reverse-complemented, so its qualities run backwards and each belongs to the complement."""
    read = reverse_complement(read) if reverse else read
    phred = "".join(QUALITY_OF[base] for base in read).encode()
    chunk = demux.process_chunk(DEMUX, [("r1", read, 20.0, phred)])
    rows = [line.split("\t") for line in chunk.regions.decode().splitlines()]
    call = DEMUX.classify(read)
    assert len(rows) == (call.region is not None)
    for row in rows:
        region, left, right, qualities = row[3], row[4], row[5], row[7]
        bases = left + region + right
        read_bases = bases if call.strand == "+" else reverse_complement(bases)[::-1]
        assert qualities == "".join(QUALITY_OF[base] for base in read_bases)


JUNK_INSERT = "ACGTTGCA" * 30  # a long insert: the middle of the read lies beyond both windows
CONTEXT = max(len(UP), len(DOWN))  # insert bases on each side that could finish a flank


@CHECKS
@given(
    fwd=st.integers(0, len(FWD_BARCODES) - 1),
    rev=st.integers(0, len(REV_BARCODES) - 1),
    head=st.text("AG", max_size=20),
    tail=st.text("AG", max_size=20),
    junk=st.text("AG", min_size=1, max_size=200),
    where=st.floats(0, 1),
)
def test_junk_beyond_the_search_windows_changes_nothing(fwd, rev, head, tail, junk, where) -> None:
    """Bases between the two end windows never decide the well: primers and barcodes are only
    searched at the ends. Junk (there and at the read ends) is drawn from A and G only, so it
    cannot pose as a primer or flank alone (each has more C/T than the checks allow edits); with
    the insert's bases around it, it can, and that read is rightly a chimera (the known answer
    below), so such junk is set aside here."""
    read = head + amplicon(fwd, rev, JUNK_INSERT) + tail
    window = SETTINGS.end_window
    middle = (window, len(read) - window)
    at = middle[0] + round(where * (middle[1] - middle[0]))
    utr_start = read.index(UP) + len(UP)
    assert utr_start < at < utr_start + len(JUNK_INSERT)  # inside the insert, far from windows
    longer = read[:at] + junk + read[at:]
    assume(not DEMUX.holds_flank(longer[at - CONTEXT : at + len(junk) + CONTEXT]))
    before, after = DEMUX.classify(read), DEMUX.classify(longer)
    assert before.status == "assigned"
    assert (after.status, after.well, after.strand) == (before.status, before.well, before.strand)
    assert (after.fwd_distance, after.rev_distance) == (before.fwd_distance, before.rev_distance)
    assert len(after.region) == len(before.region) + len(junk)


def test_junk_that_completes_a_flank_with_its_context_makes_a_chimera() -> None:
    """Known answer for the junk set aside above (a counterexample Hypothesis once found): A/G
    junk inside the insert's ACGT...TGCA reads as the downstream flank within its allowed edits,
    so the longer read holds a flank in its region: a chimera, by design."""
    read = "A" * 12 + amplicon(0, 0, JUNK_INSERT)
    junk = "AAAGGAAAGAA"
    at = SETTINGS.end_window  # where=0.0: the first base past the read's first end window
    longer = read[:at] + junk + read[at:]
    assert DEMUX.holds_flank(longer[at - CONTEXT : at + len(junk) + CONTEXT])
    assert DEMUX.classify(read).status == "assigned"
    assert DEMUX.classify(longer).status == "chimera"


def test_the_junk_alphabet_cannot_imitate_a_primer_or_flank() -> None:
    """The premise of the junk property: every query, either strand, has more bases outside
    {A, G} than the edits the demultiplexer allows it (primers: the end threshold, which bounds
    the interior ones; flanks: the flank threshold)."""
    queries = [(p, SETTINGS.max_primer_error) for p in (FWD_PRIMER, REV_PRIMER)]
    queries += [(f, SETTINGS.max_flank_error) for f in (UP, DOWN)]
    for query, error in queries:
        for strand in (query, reverse_complement(query)):
            outside = sum(base not in "AG" for base in strand)
            assert outside > math.floor(error * len(query)), strand


# Reads built from parts: no read, however assembled, cut or garbled, can crash the
# demultiplexer; each gets exactly one status. Four designs: primers and flanks; barcode entries
# with constant parts around their cores; no primers (barcodes at the read ends); one barcode.
CONSTANT_5, CONSTANT_3 = "AAGGTTA", "CAGCACCT"
BY_PARTS = {
    "primers": (CONSTRUCT, WELLS),
    "constant_parts": (
        CONSTRUCT,
        WELLS.assign(fwd_barcode=CONSTANT_5 + WELLS["fwd_barcode"] + CONSTANT_3),
    ),
    "no_primers": (sheets.Construct("", "", UP, DOWN), WELLS),
    "one_barcode": (CONSTRUCT, WELLS.assign(rev_barcode="").drop_duplicates("fwd_barcode")),
}
DEMUXERS = {
    name: demux.Demultiplexer(
        construct, demux.Layout.from_wells(wells.to_dict("records"), ["P1"]), SETTINGS
    )
    for name, (construct, wells) in BY_PARTS.items()
}
PART_NAMES = ["junk", "fwd_barcode", "fwd_primer", "up", "utr", "down", "rev_primer",
              "rev_barcode", "tail"]  # fmt: skip


def part_text(name: str, which: int, wells: pd.DataFrame, junk: str) -> str:
    """One element of an amplicon in its forward orientation (barcodes: the `which`-th one)."""
    fixed = {"fwd_primer": FWD_PRIMER, "up": UP, "down": DOWN, "tail": "A" * 30}
    fixed["rev_primer"] = reverse_complement(REV_PRIMER)
    if name in fixed:
        return fixed[name]
    if name.endswith("barcode"):
        codes = [b for b in dict.fromkeys(wells[name]) if b] or [""]
        code = codes[which % len(codes)]
        return code if name == "fwd_barcode" else reverse_complement(code)
    return junk  # junk and UTR: random bases (an empty UTR among them)


def garble(seq: str, rate: float, seed: int) -> str:
    """Substitutions, insertions and deletions at `rate` per base."""
    rng = np.random.default_rng(seed)
    out = []
    for base in seq:
        roll = rng.random()
        if roll < rate / 3:
            out.append("ACGT"[rng.integers(4)])
        elif roll < 2 * rate / 3:
            out.extend((base, "ACGT"[rng.integers(4)]))
        elif roll >= rate:
            out.append(base)
    return "".join(out)


part = st.tuples(
    st.sampled_from(PART_NAMES),
    st.integers(0, 5),  # which barcode
    st.booleans(),  # reverse complemented
    st.integers(0, 40),  # bases cut from its start
    st.integers(0, 40),  # bases cut from its end
    st.text("ACGT", max_size=80),  # its bases when junk or UTR
)


@settings(max_examples=400, deadline=None)
@given(
    design=st.sampled_from(sorted(DEMUXERS)),
    parts=st.lists(part, max_size=12),
    rate=st.sampled_from([0.0, 0.0, 0.03, 0.08, 0.2, 0.5]),
    seed=st.integers(0, 2**16),
    cut=st.tuples(st.integers(0, 400), st.integers(0, 400)),
)
@example(design="primers", parts=[(n, 0, False, 0, 0, "") for n in
         ("fwd_barcode", "fwd_primer", "up", "rev_primer", "rev_barcode")], rate=0.0, seed=0,
         cut=(0, 0))  # fmt: skip
def test_no_read_built_from_parts_crashes_the_demultiplexer(design, parts, rate, seed, cut) -> None:
    """Elements in any order and orientation, repeated or missing, cut anywhere (inside a primer
    or flank too), at the read's very first or last base, errors at any rate: one status each.
    The explicit example is the read that crashed a real run: the upstream flank ends right where
    the interior ends, so the downstream flank is searched in nothing."""
    d = DEMUXERS[design]
    wells = BY_PARTS[design][1]
    pieces = []
    for name, which, flip, start, end, junk in parts:
        text = part_text(name, which, wells, junk)
        text = text[start : max(start, len(text) - end)] if start or end else text
        pieces.append(reverse_complement(text) if flip else text)
    read = garble("".join(pieces), rate, seed)
    read = read[cut[0] : len(read) - cut[1]] if cut != (0, 0) else read
    for seq in (read, reverse_complement(read)):
        call = d.classify(seq)
        assert call.status in demux.STATUSES
        assert (call.well >= 0) == (call.status == "assigned")
        assert call.region is None or call.status == "assigned"
        assert call.strand in ("", "+", "-")
    if not parts:
        assert d.classify("").status == "too_short"
