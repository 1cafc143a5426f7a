"""Bad input, table-driven, through the real entry points.

Every case starts from one small valid experiment (sheets, construct, library, reads, reader file),
breaks one thing, and runs `utrflow` as the workflow does. It must stop with exit status 1 and
one line, `utrflow: error: <file>: <row or record>: <problem>`: up front (`check-config`, what
the Snakefile runs before any job) for everything visible there, in the demultiplexing job for
damage deeper in a reads file (which then leaves no output behind). A few cases go through
Snakemake itself to show the line, no traceback and no job. Tolerated quirks (byte-order mark,
CRLF, trailing spaces, lowercase) give the same result as clean input; an empty reads file is
valid and only warned about.
"""

from __future__ import annotations

import ast
import copy
import gzip
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pysam
import pytest
import yaml
from conftest import BIN, REPO, run_workflow

from utrflow import cli
from utrflow.preflight import load as load_config
from utrflow.preflight import reads_setup
from utrflow.sequences import reverse_complement

FWD_PRIMER = "TGCCACCTGACGTCTAAGAA"
REV_PRIMER = "CTTCACCCTCTCCACTGACAGA"
UP = "GTCCTAGGTATAATGCTAGC"
DOWN = "ATGCGTAAAGGAGAAGAACT"
UTR = "AGGAGGTTTCACATGCCAACTTTAGCAG"
BARCODES = [("ACGTTGCAGTCA", "GATCCTAGGACT"), ("TGCAGTACCAGT", "CTAGTCAGTGAC")]


def amplicon_read(fwd: str, rev: str) -> str:
    """A forward-strand amplicon with a little adapter junk at both ends."""
    insert = FWD_PRIMER + UP + UTR + DOWN + reverse_complement(REV_PRIMER)
    return "GATTACA" + fwd + insert + reverse_complement(rev) + "TTAGG"


READS = [amplicon_read(*BARCODES[0]), reverse_complement(amplicon_read(*BARCODES[1]))]
FASTQ = "".join(f"@r{i} run=1\n{s}\n+\n{'I' * len(s)}\n" for i, s in enumerate(READS))
PLATES = "plate\treads\tfluorescence\nP1\treads/p1.fastq\treader/p1.csv\n"
WELLS = (
    "plate\twell\tfwd_barcode\trev_barcode\trole\n"
    f"P1\tA1\t{BARCODES[0][0]}\t{BARCODES[0][1]}\tsample\n"
    f"P1\tA2\t{BARCODES[1][0]}\t{BARCODES[1][1]}\tsample\n"
    f"P1\tA3\t{BARCODES[0][0]}\t{BARCODES[1][1]}\tblank\n"
)
LIBRARY = f"id,sequence\nv1,{UTR}\nv2,{UTR[:-1]}A\n"
READER = "well,gfp,od600\nA1,1200,0.5\nA2,900,0.4\nA3,100,0.05\n"
FILES: dict[str, str | bytes] = {
    "plates.tsv": PLATES,
    "wells.tsv": WELLS,
    "library.csv": LIBRARY,
    "reads/p1.fastq": FASTQ,
    "reader/p1.csv": READER,
}
CONFIG = {
    "source": "reads",
    "plates": "plates.tsv",
    "wells": "wells.tsv",
    "library": "library.csv",
    "construct": {
        "fwd_primer": FWD_PRIMER,
        "rev_primer": REV_PRIMER,
        "upstream_flank": UP,
        "downstream_flank": DOWN,
    },
}
DEMUX = ["demux", "--plates", "plates.tsv", "--wells", "wells.tsv", "--group", "P1"]
DEMUX_OUT = "results/demux/P1"


def merged(base: dict, changes: dict) -> dict:
    """`base` with `changes` merged in, section by section (None removes a key)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def experiment(
    workdir: Path, files: dict[str, str | bytes] | None = None, config: dict | None = None
) -> Path:
    """Write the valid experiment into `workdir`, with some files replaced and config changed."""
    for name, content in {**FILES, **(files or {})}.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    config_path = workdir / "config" / "config.yaml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if "config/config.yaml" not in (files or {}):  # a case may write the YAML text itself
        config_path.write_text(yaml.safe_dump(merged(CONFIG, config or {})))
    return workdir


def cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def bam(n_reads: int) -> bytes:
    """An unaligned BAM of `n_reads` copies of the first read, as bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.bam"
        header = {"HD": {"VN": "1.6", "SO": "unknown"}}
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for i in range(n_reads):
                segment = pysam.AlignedSegment()
                segment.query_name, segment.query_sequence, segment.flag = f"b{i}", READS[0], 4
                out.write(segment)
        return path.read_bytes()


@dataclass(frozen=True)
class Case:
    """One broken input: what changes, and the piece of the one error line it must give."""

    id: str
    expect: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    stage: str = "up front"  # or "demux": damage only streaming the whole reads file can see


def wells_with(old: str, new: str) -> dict[str, str]:
    assert old in WELLS
    return {"wells.tsv": WELLS.replace(old, new, 1)}


def plate_named(name: str) -> dict[str, str]:
    return {"plates.tsv": PLATES.replace("P1\t", f"{name}\t"), **wells_with("P1\t", f"{name}\t")}


def fastq_plus(tail: str) -> dict[str, str]:
    """The valid reads with a damaged third record after them."""
    return {"reads/p1.fastq": FASTQ + tail}


BAM_PLATES = {"plates.tsv": "plate\treads\nP1\treads/p1.bam\n"}
CONFIG_YAML = yaml.safe_dump(CONFIG)
# A user table a model can learn from: 40 distinct sequences, labels that vary.
TABLE_SEQUENCES = [
    "GATTACA" + "".join("ACGT"[i >> (2 * k) & 3] for k in range(4)) for i in range(40)
]
TABLE = "sequence,label\n" + "".join(f"{s},{i % 7}\n" for i, s in enumerate(TABLE_SEQUENCES))
TABLE_CONFIG = {"source": "table", "table": "lab.csv"}


def raw_config(text: str) -> dict[str, str]:
    """The config file as the user typed it (for what a YAML dump cannot write)."""
    return {"config/config.yaml": text}


def table_rows(rows: list[str], header: str = "sequence,label") -> dict[str, str]:
    return {"lab.csv": header + "\n" + "".join(f"{r}\n" for r in rows)}


def table_column(name: str, values: list[str]) -> dict[str, str]:
    """The valid table with one more column."""
    return table_rows(
        [f"{s},{i % 7},{v}" for i, (s, v) in enumerate(zip(TABLE_SEQUENCES, values, strict=True))],
        header=f"sequence,label,{name}",
    )


def first_rows(n: int) -> dict[str, str]:
    return table_rows([f"{s},{i % 7}" for i, s in enumerate(TABLE_SEQUENCES[:n])])


CR_ONLY_FASTQ = FASTQ.replace("\n", "\r")
CASES = [
    # config
    Case("unknown-key", "config/config.yaml: unknown key 'fwd_primr' in 'construct'",
         config={"construct": {"fwd_primr": "ACGT"}}),
    Case("numeric-key", "config/config.yaml: unknown key '7'", config={7: "seven"}),
    Case("wrong-type", "config/config.yaml: key 'demux.threads': 'two' is not of type integer",
         config={"demux": {"threads": "two"}}),
    Case("out-of-range", "config/config.yaml: key 'demux.end_window': -5 is less than",
         config={"demux": {"end_window": -5}}),
    Case("primer-not-iupac", "key 'construct.fwd_primer' has characters other than "
         "ACGTURYSWKMBDHVN: '-', 'X'", config={"construct": {"fwd_primer": "ACGT-XX"}}),
    Case("flank-with-n", "key 'construct.upstream_flank' has characters other than ACGT: 'N'",
         config={"construct": {"upstream_flank": "ACGNNT"}}),
    Case("primer-missing", "key 'construct.rev_primer' is required when source is 'reads'",
         config={"construct": {"rev_primer": ""}}),
    Case("sheet-missing", "nope.tsv: file not found", config={"plates": "nope.tsv"}),
    Case("library-missing", "nope.csv: file not found", config={"library": "nope.csv"}),
    # plates sheet
    Case("plates-no-reads-column", "plates.tsv: missing column(s) reads",
         files={"plates.tsv": "plate\tfluorescence\nP1\t\n"}),
    Case("plates-header-only", "plates.tsv: no rows",
         files={"plates.tsv": "plate\treads\tfluorescence\n"}),
    Case("plates-empty-file", "plates.tsv: the file is empty", files={"plates.tsv": ""}),
    Case("duplicate-plate", "plates.tsv: row 3: plate 'P1' already listed in row 2",
         files={"plates.tsv": PLATES + "P1\treads/p1.fastq\t\n"}),
    Case("plate-with-slash", "plates.tsv: row 2: plate name 'P1/x' may hold only",
         files=plate_named("P1/x")),
    Case("plate-dot-dot", "plates.tsv: row 2: plate name '..' may hold only",
         files=plate_named("..")),
    Case("plate-shell-syntax", "plates.tsv: row 2: plate name '$(id)' may hold only",
         files=plate_named("$(id)")),
    Case("glob-matches-nothing", "plates.tsv: row 2 (plate P1): reads pattern 'reads/*.bam' "
         "matches no file", files={"plates.tsv": "plate\treads\nP1\treads/*.bam\n"}),
    Case("reads-file-missing", "plates.tsv: row 2 (plate P1): reads file not found: reads/x.fq",
         files={"plates.tsv": "plate\treads\nP1\treads/x.fq\n"}),
    Case("reader-file-missing", "plates.tsv: row 2: fluorescence file not found: reader/x.csv",
         files={"plates.tsv": PLATES.replace("p1.csv", "x.csv")}),
    Case("plate-without-wells", "plates.tsv: row 3: plate 'P2' has no rows in the wells sheet",
         files={"plates.tsv": PLATES + "P2\treads/p2.fastq\t\n", "reads/p2.fastq": FASTQ}),
    # wells sheet
    Case("well-outside-format", "wells.tsv: row 4: 'A25' is not a well name",
         files=wells_with("A3", "A25")),
    Case("well-row-outside-format", "wells.tsv: row 4: 'Q1' is not a well name",
         files=wells_with("A3", "Q1")),
    Case("duplicate-well", "wells.tsv: row 4: well A1 of plate P1 already in row 2",
         files=wells_with("A3", "a01")),
    Case("well-of-unknown-plate", "wells.tsv: row 4: plate 'P9' is not in the plates sheet",
         files=wells_with("P1\tA3", "P9\tA3")),
    Case("unknown-role", "wells.tsv: row 4: role 'empty' is not one of sample, blank, control",
         files=wells_with("blank", "empty")),
    Case("barcode-not-acgt", "wells.tsv: row 2: fwd_barcode 'ACGTTGCAGTCN' has characters "
         "other than A, C, G, T: 'N'", files=wells_with("ACGTTGCAGTCA", "ACGTTGCAGTCN")),
    Case("barcode-with-space", "wells.tsv: row 2: fwd_barcode 'ACGTTG CAGTCA' has characters "
         "other than A, C, G, T: ' '", files=wells_with("ACGTTGCAGTCA", "ACGTTG CAGTCA")),
    Case("barcode-empty", "wells.tsv: row 2: empty fwd_barcode",
         files=wells_with("ACGTTGCAGTCA\tGATC", "\tGATC")),
    Case("rev-barcode-only-some", "wells.tsv: row 2: empty rev_barcode; give every well",
         files=wells_with("GATCCTAGGACT", "")),
    Case("barcode-pair-twice", "wells.tsv: barcode pair TGCAGTACCAGT/CTAGTCAGTGAC names "
         "several wells read from the same file(s): P1 A2, P1 A3",
         files=wells_with("ACGTTGCAGTCA\tCTAGTCAGTGAC", "TGCAGTACCAGT\tCTAGTCAGTGAC")),
    Case("barcodes-too-close", "wells.tsv: fwd_barcodes of plate(s) P1 closer than "
         "demux.min_barcode_set_distance=3: ACGTTGCAGTCA ~ ACGTTGCAGTCC",
         files=wells_with("TGCAGTACCAGT", "ACGTTGCAGTCC")),
    Case("short-barcode-inside-long", "wells.tsv: fwd_barcodes of plate(s) P1 closer than "
         "demux.min_barcode_set_distance=3: ACGTTGCAGTCA ~ TTGCAGTCA: the shorter lies inside "
         "the longer with 0 edits", files=wells_with("TGCAGTACCAGT", "TTGCAGTCA")),
    Case("wells-extra-cell", "wells.tsv: row 3: 6 cells but the header names 5 columns",
         files=wells_with("CTAGTCAGTGAC\tsample", "CTAGTCAGTGAC\tsample\tP1")),
    Case("wells-no-barcode-column", "wells.tsv: missing column(s) fwd_barcode",
         files={"wells.tsv": "plate\twell\nP1\tA1\n"}),
    # library
    Case("library-duplicate-id", "library.csv: row 4: id 'v1' already in row 2",
         files={"library.csv": LIBRARY + "v1,AAAACCCCGGGG\n"}),
    Case("library-duplicate-sequence", "library.csv: row 4: 'v3' has the same sequence as row 2",
         files={"library.csv": LIBRARY + f"v3,{UTR.lower()}\n"}),
    Case("library-not-dna", "library.csv: row 4: sequence of 'v3' is empty or has characters",
         files={"library.csv": LIBRARY + "v3,ACGTXX\n"}),
    Case("library-empty-id", "library.csv: row 4: empty id",
         files={"library.csv": LIBRARY + ",ACGTAA\n"}),
    # reads, up front (the first record of every file is read before any job)
    Case("reads-binary", "p1.fastq: not FASTQ, FASTA or BAM (first byte b'\\x00')",
         files={"reads/p1.fastq": b"\x00\x01\x02garbage"}),
    Case("bam-that-is-not-bam", "p1.bam: not FASTQ, FASTA or BAM",
         files={**BAM_PLATES, "reads/p1.bam": b"BAM?not a bam at all"}),
    Case("gzip-that-is-not-gzip", "p1.fastq: cannot read (",
         files={"reads/p1.fastq": b"\x1f\x8bnot really gzip"}),
    Case("fastq-first-record-no-plus", "p1.fastq: record 1 (r1): no '+' line after the sequence",
         files={"reads/p1.fastq": "@r1\nACGTACGT\nIIIIIIII\n@r2\nACGT\n+\nIIII\n"}),
    Case("fasta-record-without-bases", "p1.fastq: record 1 (r1): empty sequence",
         files={"reads/p1.fastq": ">r1\n>r2\nACGT\n"}),
    Case("truncated-bam", "p1.bam: damaged after record 0",
         files={**BAM_PLATES, "reads/p1.bam": cut_in_half(bam(2000))}),
    # reads, deeper in the file: the demultiplexing job stops, naming the record
    Case("fastq-missing-plus", "p1.fastq: record 3 (r3): no '+' line after the sequence",
         files=fastq_plus("@r3\nACGTACGT\nIIIIIIII\n@r4\nACGT\n+\nIIII\n"), stage="demux"),
    Case("fastq-quality-length", "p1.fastq: record 3 (r3): 8 bases but 3 quality values",
         files=fastq_plus("@r3\nACGTACGT\n+\nIII\n"), stage="demux"),
    Case("fastq-truncated-record", "p1.fastq: record 3 (r3): the file ends inside the record",
         files=fastq_plus("@r3\nACGTAC"), stage="demux"),
    Case("fastq-stray-line", "p1.fastq: record 3 (line 9): expected a '@' header, found 'oops'",
         files=fastq_plus("oops\n" + FASTQ), stage="demux"),
    Case("fastq-not-bases", "p1.fastq: record 3 (r3): '!' at position 3 is not a base",
         files=fastq_plus("@r3\nAC!T\n+\nIIII\n"), stage="demux"),
    Case("reads-file-copy", "p1_copy.fastq: read r0 is also in ",
         files={"plates.tsv": "plate\treads\nP1\treads/p1*.fastq\n", "reads/p1_copy.fastq": FASTQ}),
    Case("reads-copy-in-another-plate", "p2.fastq: read r0 is also in ",
         files={"plates.tsv": PLATES + "P2\treads/p2.fastq\t\n", "reads/p2.fastq": FASTQ,
                "wells.tsv": WELLS + WELLS.splitlines()[1].replace("P1", "P2") + "\n"}),
    Case("reads-same-file-by-dot-dot", "sub/../p1.fastq (plate(s) P2) is the same file as ",
         files={"plates.tsv": PLATES + "P2\treads/sub/../p1.fastq\t\n", "reads/sub/x.txt": "",
                "wells.tsv": WELLS + WELLS.splitlines()[1].replace("P1", "P2") + "\n"}),
    Case("reads-file-twice-over", "p1.fastq (plate(s) P1): its second half repeats its first",
         files={"reads/p1.fastq": FASTQ * 2}),
    Case("merged-file-beside-its-part", "p1.fastq: the files overlap",
         files={"plates.tsv": "plate\treads\nP1\treads/p1.fastq,reads/all.fastq\n",
                "reads/all.fastq": "@x\nACGT\n+\nIIII\n" + FASTQ}, stage="demux"),
    Case("truncated-gzip", "p1.fastq: damaged after record",
         files={"reads/p1.fastq": cut_in_half(gzip.compress(FASTQ.encode() * 400))}, stage="demux"),
    # plate-reader file
    Case("reader-text-in-number", "p1.csv: line 2: well A1, channel 'gfp': '12x0' is not a number",
         files={"reader/p1.csv": READER.replace("1200", "12x0")}),
    Case("reader-no-well-column", "p1.csv: neither a tidy table (a 'well' column) nor plate grids",
         files={"reader/p1.csv": READER.replace("well,", "sample,")}),
    Case("reader-of-another-plate", "p1.csv: wells of the layout missing from the plate-reader "
         "file: A1, A2, A3", files={"reader/p1.csv": READER.replace("A", "B")}),
    Case("reader-no-signal-channel", "p1.csv: no channel 'gfp' (has: yfp, od600)",
         files={"reader/p1.csv": READER.replace("gfp", "yfp")}),
    Case("reader-well-twice", "p1.csv: line 5: well A1 already read on line 2",
         files={"reader/p1.csv": READER + "A01,5,5\n"}),
    Case("reader-not-a-well", "p1.csv: line 5: 'Z1' is not a well name",
         files={"reader/p1.csv": READER + "Z1,5,5\n"}),
    Case("reader-infinite", "p1.csv: line 2: well A1, channel 'gfp': 'inf' is not a finite",
         files={"reader/p1.csv": READER.replace("1200", "inf")}),
    Case("reader-spreadsheet", "p1.csv: not a text file (export the reader data as CSV)",
         files={"reader/p1.csv": b"PK\x03\x04\x14\x00\xff\xfe"}),
    # a labelled table of one's own
    Case("table-text-label", "lab.csv: row 3: column 'label' value 'high' is not a number",
         files={"lab.csv": "sequence,label\nACGT,1\nGGCC,high\n"},
         config={"source": "table", "table": "lab.csv"}),
    Case("table-unknown-covariate", "key 'model.covariates': column 'access' is not in",
         files={"lab.csv": "sequence,label,gc\nACGT,1,0.5\n"},
         config={"source": "table", "table": "lab.csv", "model": {"covariates": ["access"]}}),
    Case("table-class-not-0-1", "lab.csv: row 3: label 2 is not 0 or 1",
         files={"lab.csv": "sequence,label\nACGT,1\nGGCC,2\n"},
         config={"source": "table", "table": "lab.csv", "model": {"task": "classification"}}),
    Case("predict-input-missing", "key 'predict.input': file not found: new.fa",
         config={"predict": {"input": "new.fa"}}),
    # -- issue 19: silent wrong results, numbers out of range, degenerate tables -------------
    Case("yaml-section-twice", "config/config.yaml: line 13: key 'model' given twice (first on "
         "line 10); keep one",
         files=raw_config(CONFIG_YAML + "model:\n  epochs: 3\nseed: 1\nmodel:\n  epochs: 5\n")),
    Case("normalize-by-signal", "key 'fluorescence.normalize_by': 'gfp' is the signal channel "
         "itself, so every label would be 0", config={"fluorescence": {"normalize_by": "gfp"}}),
    Case("table-label-header-twice", "lab.csv: line 1: column 'label' given twice",
         files=table_column("label", ["1"] * 40), config=TABLE_CONFIG),
    Case("seed-2-to-32", "key 'seed': 4294967296 is greater than the maximum of 4294967295",
         config={"seed": 2**32}),
    Case("encode-length-1e20", "key 'encode.length': 1e+20 is greater than the maximum of 100000",
         config={"encode": {"length": 1e20}}),
    Case("table-one-row", "lab.csv: every label is 0: nothing to learn",
         files=first_rows(1), config=TABLE_CONFIG),
    Case("table-three-rows", "lab.csv: 3 distinct sequence(s); training and testing a model "
         "needs at least 12", files=first_rows(3), config=TABLE_CONFIG),
    Case("table-one-sequence", "lab.csv: 1 distinct sequence(s); training and testing a model "
         "needs at least 12 (8 train, 2 validation, 2 test)",
         files=table_rows([f"ACGTACGT,{i}" for i in range(30)]), config=TABLE_CONFIG),
    Case("table-weights-all-0", "lab.csv: every weight of the train split is 0",
         files=table_column("weight", ["0"] * 40), config=TABLE_CONFIG),
    Case("table-split-all-test", "lab.csv: the train split holds 0 distinct sequence(s) of 40",
         files=table_column("split", ["test"] * 40), config=TABLE_CONFIG),
    Case("folds-as-many-as-rows", "lab.csv: key 'split.folds': 40 folds of 40 distinct "
         "sequences leave a fold with 1", files=first_rows(40),
         config={**TABLE_CONFIG, "split": {"folds": 40}}),
    Case("table-labels-all-equal", "lab.csv: every label is 3.5: nothing to learn",
         files=table_rows([f"{s},3.5" for s in TABLE_SEQUENCES]), config=TABLE_CONFIG),
    Case("table-one-huge-sequence", "lab.csv: row 42: a sequence of 100000 nt, longer than "
         "encode.max_length (1000); remove it, raise encode.max_length, or set encode.truncate",
         files={"lab.csv": TABLE + "A" * 100_000 + ",2\n"}, config=TABLE_CONFIG),
    Case("reader-channel-twice", "p1.csv: line 1: column 'gfp' given twice; keep one",
         files={"reader/p1.csv": "well,gfp,od600,gfp\nA1,1,1,1\nA2,1,1,1\nA3,1,1,1\n"}),
    Case("fastq-cr-line-ends", "p1.fastq: line 1: lines end in a carriage return alone",
         files={"reads/p1.fastq": CR_ONLY_FASTQ}),
    # -- our own: more keys that must agree, more bounds, more tables that cannot train ------
    Case("yaml-key-twice-nested", "line 4: key 'fwd_primer' given twice (first on line 3)",
         files=raw_config(f"source: reads\nconstruct:\n  fwd_primer: {FWD_PRIMER}\n"
                          f"  fwd_primer: {REV_PRIMER}\n")),
    Case("yaml-seed-twice", "config/config.yaml: line 2: key 'seed' given twice (first on line 1)",
         files=raw_config("seed: 1\nseed: 2\n")),
    Case("yaml-a-list", "config/config.yaml: expected a mapping of keys, got list",
         files=raw_config("- source: reads\n")),
    Case("yaml-tab-indent", "config/config.yaml: line 2 is not valid YAML",
         files=raw_config("model:\n\tepochs: 3\n")),
    Case("seed-negative", "key 'seed': -1 is less than the minimum of 0", config={"seed": -1}),
    Case("seed-plus-ensemble", "key 'seed': 4294967295 with resources.ensemble 3 gives member "
         "seeds up to 4294967297", config={"seed": 2**32 - 1, "resources": {"ensemble": 3}}),
    Case("epochs-decimal", "key 'model.epochs': 5.0 is not a whole number",
         config={"model": {"epochs": 5.0}}),
    Case("conv-filters-decimal", "key 'model.conv_filters[1]': 64.0 is not a whole number",
         config={"model": {"conv_filters": [32, 64.0]}}),
    Case("epochs-fraction", "key 'model.epochs': 5.5 is not of type integer",
         config={"model": {"epochs": 5.5}}),
    Case("threads-huge", "key 'demux.threads': 1000000 is greater than the maximum of 1024",
         config={"demux": {"threads": 10**6}}),
    Case("ensemble-huge", "key 'model.ensemble': 1000 is greater than the maximum of 100",
         config={"model": {"ensemble": 1000}}),
    Case("folds-huge", "key 'split.folds': 1000 is greater than the maximum of 100",
         config={"split": {"folds": 1000}}),
    Case("conv-filters-huge", "key 'model.conv_filters.0': 100000 is greater than the maximum",
         config={"model": {"conv_filters": [100_000]}}),
    Case("kernel-size-huge", "key 'model.kernel_size': 1000000 is greater than the maximum",
         config={"model": {"kernel_size": 10**6}}),
    Case("max-length-zero", "key 'encode.max_length': 0 is less than the minimum of 1",
         config={"encode": {"max_length": 0}}),
    Case("encode-length-above-max", "key 'encode.length' (2000) is larger than "
         "'encode.max_length' (1000)", config={"encode": {"length": 2000}}),
    Case("simulated-longer-than-max", "key 'simulate.max_length' (500) is larger than "
         "'encode.max_length' (200)", config={"source": "simulate", "simulate": {
             "max_length": 500}, "encode": {"max_length": 200}}),
    Case("design-lengths-swapped", "key 'design.min_length' (60) is larger than "
         "'design.max_length' (40)", config={"design": {"min_length": 60, "max_length": 40}}),
    Case("design-gc-swapped", "key 'design.gc_min' (0.7) is larger than 'design.gc_max' (0.3)",
         config={"design": {"gc_min": 0.7, "gc_max": 0.3}}),
    Case("normalize-by-signal-case", "key 'fluorescence.normalize_by': 'GFP ' is the signal",
         config={"fluorescence": {"normalize_by": "GFP "}}),
    Case("normalize-by-signal-simulated-run", "'fluorescence.normalize_by': 'od600' is the "
         "signal channel", config={"source": "simulate", "simulate": {"level": "run"},
                                   "fluorescence": {"signal": "od600"}}),
    Case("simulated-run-fractions", "simulate_run: truncated_fraction + chimera_fraction + "
         "junk_fraction must stay below 1", config={"source": "simulate", "simulate": {
             "level": "run", "run": {"truncated_fraction": 0.5, "junk_fraction": 0.5}}}),
    Case("table-covariate-twice", "lab.csv: line 1: column 'gc' given twice",
         files=table_rows([f"{s},1,0.5,0.5" for s in TABLE_SEQUENCES], "sequence,label,gc,gc"),
         config=TABLE_CONFIG),
    Case("table-sequence-header-twice-tsv", "lab.tsv: line 1: column 'sequence' given twice",
         files={"lab.tsv": "sequence\tsequence\tlabel\nACGT\tACGT\t1\n"},
         config={"source": "table", "table": "lab.tsv"}),
    Case("table-negative-weight", "lab.csv: row 7: weight -1 is negative",
         files=table_column("weight", ["1"] * 5 + ["-1"] + ["1"] * 34), config=TABLE_CONFIG),
    Case("table-split-all-validation", "lab.csv: the train split holds 0 distinct sequence(s)",
         files=table_column("split", ["validation"] * 40), config=TABLE_CONFIG),
    Case("table-split-few-train", "lab.csv: the train split holds 5 distinct sequence(s) of 40",
         files=table_column("split", ["train"] * 5 + ["validation"] * 5 + ["test"] * 30),
         config=TABLE_CONFIG),
    Case("table-split-one-test", "lab.csv: the test split holds 1 distinct sequence(s) of 40",
         files=table_column("split", ["test"] + ["validation"] * 4 + ["train"] * 35),
         config=TABLE_CONFIG),
    Case("table-fractions-too-big", "lab.csv: the train split holds 4 distinct sequence(s) of 40",
         files=first_rows(40), config={**TABLE_CONFIG, "split": {"test": 0.45,
                                                                 "validation": 0.45}}),
    Case("table-folds-too-many", "key 'split.folds': 30 folds of 40 distinct sequences leave a "
         "fold with 1", files=first_rows(40), config={**TABLE_CONFIG, "split": {"folds": 30}}),
    Case("table-by-plate-without-plates", "lab.csv naming at least 3 plates (it names 0)",
         files=first_rows(40), config={**TABLE_CONFIG, "split": {"method": "by_plate"}}),
    Case("table-by-plate-two-plates", "naming at least 3 plates (it names 2)",
         files=table_column("plate", ["P1", "P2"] * 20),
         config={**TABLE_CONFIG, "split": {"method": "by_plate"}}),
    Case("table-classification-one-class-in-train", "lab.csv: every label of the train split is "
         "0: a classifier needs both classes", files=table_rows(
             [f"{s},{int(i >= 30)},{'train' if i < 30 else 'test'}"
              for i, s in enumerate(TABLE_SEQUENCES)], "sequence,label,split"),
         config={**TABLE_CONFIG, "model": {"task": "classification"}}),
    Case("table-classification-one-positive", "lab.csv: the train split holds 34 rows, 1 of "
         "the rarer class; a classifier and its baselines need at least 20, and 2 of each class",
         files=table_rows([f"{s},{int(i == 0)},{'test' if 34 <= i < 37 else 'train'}"
                           for i, s in enumerate(TABLE_SEQUENCES)], "sequence,label,split"),
         config={**TABLE_CONFIG, "model": {"task": "classification"}}),
    Case("table-longer-than-set-max", "lab.csv: row 3: a sequence of 15 nt, longer than "
         "encode.max_length (12)", files={"lab.csv": TABLE.replace(
             TABLE_SEQUENCES[1], TABLE_SEQUENCES[1] + "ACGT")},
         config={**TABLE_CONFIG, "encode": {"max_length": 12}}),
    Case("predict-input-header-twice", "new.csv: line 1: column 'sequence' given twice",
         files={"new.csv": "sequence,sequence\nACGT,ACGT\n"},
         config={"predict": {"input": "new.csv"}}),
    Case("predict-input-not-dna", "new.fa: record 2 (b): not a DNA sequence",
         files={"new.fa": ">a\nACGT\n>b\nAC-GT\n"}, config={"predict": {"input": "new.fa"}}),
    Case("wells-header-twice", "wells.tsv: the header needs distinct, non-empty column names",
         files={"wells.tsv": WELLS.replace("role", "well", 1)}),
    Case("plates-header-twice", "plates.tsv: the header needs distinct, non-empty column names",
         files={"plates.tsv": PLATES.replace("fluorescence", "reads", 1)}),
    Case("library-header-twice", "library.csv: the header needs distinct, non-empty column names",
         files={"library.csv": LIBRARY.replace("id,sequence", "sequence,sequence", 1)}),
    Case("reader-well-column-twice", "p1.csv: line 1: column 'well' given twice",
         files={"reader/p1.csv": READER.replace("well,gfp,od600", "well,gfp,od600,well")}),
    Case("fasta-cr-line-ends", "p1.fastq: line 1: lines end in a carriage return alone",
         files={"reads/p1.fastq": ">r1\rACGT\r>r2\rACGT\r"}),
]  # fmt: skip


def run_cli(workdir: Path, argv: list[str], capsys, monkeypatch) -> tuple[int, list[str]]:
    """`utrflow ARGV` in `workdir` as the workflow runs it: (exit status, stderr lines)."""
    monkeypatch.chdir(workdir)
    capsys.readouterr()
    status = cli.main(argv)
    return status, capsys.readouterr().err.splitlines()


def assert_one_line(status: int, lines: list[str], expect: str) -> str:
    assert status == 1
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("utrflow: error: ")
    assert expect in line, line
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_stops_with_one_line(tmp_path: Path, case: Case, capsys, monkeypatch) -> None:
    experiment(tmp_path, case.files, case.config)
    if case.stage == "up front":
        status, lines = run_cli(tmp_path, ["check-config"], capsys, monkeypatch)
    else:
        status, lines = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
        left = sorted(p.name for p in (tmp_path / DEMUX_OUT).glob("*"))
        assert left == [], f"the failed job left {left}"  # nothing that looks finished
    assert_one_line(status, lines, case.expect)


def test_the_cases_cover_every_kind_of_input() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    touched = {name.split("/")[0] for c in CASES for name in c.files} | {
        key for c in CASES for key in c.config
    }
    assert {"plates.tsv", "wells.tsv", "library.csv", "reads", "reader", "construct"} <= touched


def test_the_untouched_experiment_is_valid(tmp_path: Path, capsys, monkeypatch) -> None:
    """Without this the table could pass on an experiment that is always refused."""
    experiment(tmp_path)
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0
    status, _ = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
    assert status == 0
    assignments = pd.read_csv(tmp_path / DEMUX_OUT / "assignments.tsv.gz", sep="\t")
    assert assignments["well"].tolist() == ["A1", "A2"]


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        (["--readers", "reader/p1.csv"], "--readers: expected PLATE=VALUE, got 'reader/p1.csv'"),
        (["--readers", "P1=reader/p1.csv", "P1=reader/p1.csv"], "plate 'P1' given twice"),
        (["--readers", "P1=reader/p1.csv"], "--readers: give --readings-dir"),
        (["--reader-plates", "P2=1"], "--reader-plates: plate 'P2' has no file in --readers"),
    ],
)
def test_the_gathers_reader_arguments_stop_with_one_line(
    tmp_path: Path, extra: list[str], expect: str, capsys, monkeypatch
) -> None:
    experiment(tmp_path)
    outputs = ["--labelled", "l.tsv", "--replicates", "r.tsv", "--plate-qc", "q.tsv"]
    argv = ["link", "--consensus", "c.tsv", *outputs, "--summary", "s.json", *extra]
    assert_one_line(*run_cli(tmp_path, argv, capsys, monkeypatch), expect)
    assert not (tmp_path / "l.tsv").exists()


SNAKEMAKE_CASES = [
    "plate-dot-dot",
    "reads-copy-in-another-plate",
    "short-barcode-inside-long",
    "fastq-first-record-no-plus",
    "reader-of-another-plate",
    "table-unknown-covariate",
    "yaml-section-twice",
    "normalize-by-signal",
    "simulated-run-fractions",
    "table-three-rows",
    "table-label-header-twice",
]


@pytest.mark.parametrize("case_id", SNAKEMAKE_CASES)
def test_snakemake_stops_before_any_job_with_the_same_line(
    tmp_path: Path, case_id: str, capsys, monkeypatch
) -> None:
    case = next(c for c in CASES if c.id == case_id)
    experiment(tmp_path, case.files, case.config)
    expected = assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), "")
    run = run_workflow(tmp_path, timeout=120)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr + run.stdout
    assert [line for line in run.stderr.splitlines() if line.startswith("utrflow:")] == [expected]
    assert not (tmp_path / "results").exists()  # no job ran: each writes its log there


@pytest.mark.parametrize("case_id", ["truncated-gzip", "truncated-bam"])
def test_damaged_reads_give_one_line_from_the_command_itself(tmp_path: Path, case_id: str) -> None:
    """htslib and zlib write their own complaints to stderr; the user must see only ours."""
    case = next(c for c in CASES if c.id == case_id)
    experiment(tmp_path, case.files, case.config)
    run = subprocess.run(
        [str(BIN / "utrflow"), *DEMUX, "--out-dir", DEMUX_OUT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    errors = [line for line in run.stderr.splitlines() if " INFO " not in line]
    assert_one_line(run.returncode, errors, case.expect)


# --------------------------------------------------------------------------------------------
# Tolerated quirks and empty inputs


def spreadsheet_export(text: str) -> bytes:
    """What Excel does to a sheet: a byte-order mark, CRLF, spaces after cells."""
    lines = [line.replace("\t", " \t") + "  " for line in text.splitlines()]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def test_spreadsheet_quirks_read_like_clean_sheets(tmp_path: Path) -> None:
    clean, messy = tmp_path / "clean", tmp_path / "messy"
    experiment(clean)
    lower_wells = WELLS.replace("A1", "a01").replace(BARCODES[0][0], BARCODES[0][0].lower())
    experiment(
        messy,
        files={
            "plates.tsv": spreadsheet_export(PLATES),
            "wells.tsv": spreadsheet_export(lower_wells),
            "library.csv": spreadsheet_export(LIBRARY.lower()),
            "reads/p1.fastq": FASTQ.lower().replace("\n", "\r\n").encode(),
            "reader/p1.csv": spreadsheet_export(READER),
        },
        config={"construct": {"fwd_primer": FWD_PRIMER.lower() + " "}},
    )
    setups = [
        reads_setup.load_reads_setup(load_config(d / "config/config.yaml", d), d)
        for d in (clean, messy)
    ]
    for key in ("wells", "library", "construct"):
        assert setups[0][key] == setups[1][key], key
    assert [row["plate"] for row in setups[0]["plates"]] == ["P1"]
    assert [row["plate"] for row in setups[1]["plates"]] == ["P1"]
    from utrflow.reads.files import iter_records

    assert list(iter_records(messy / "reads/p1.fastq")) == list(
        iter_records(clean / "reads/p1.fastq")
    )


def test_a_windows_1252_character_in_a_reader_file_is_read_as_such(tmp_path: Path) -> None:
    """One '°' saved by Windows in a metadata line: the file is text, and read like clean."""
    from utrflow.plates.reader import parse_reader

    clean, cp1252 = tmp_path / "clean.csv", tmp_path / "cp1252.csv"
    clean.write_text("Temperature: 30 C\n" + READER)
    cp1252.write_bytes("Temperature: 30\xb0C\n".encode("cp1252") + READER.encode())
    readings = [parse_reader(p) for p in (clean, cp1252)]
    assert list(readings[0]) == list(readings[1]) == ["gfp", "od600"]
    for channel in ("gfp", "od600"):
        as_read = [
            {w: [c.text for c in cs] for w, cs in r[channel].reads[0].cells.items()}
            for r in readings
        ]
        assert as_read[0] == as_read[1] and sorted(as_read[0]) == ["A1", "A2", "A3"]
    assert readings[1]["gfp"].reads[0].cells["A1"][0].text == "1200"


def test_an_empty_reads_file_is_warned_about_before_any_job(tmp_path: Path) -> None:
    experiment(
        tmp_path,
        files={
            "plates.tsv": PLATES + "P2\treads/p2.fastq.gz\t\n",
            "reads/p2.fastq.gz": gzip.compress(b""),
            "wells.tsv": WELLS + f"P2\tA1\t{BARCODES[1][0]}\t{BARCODES[0][1]}\tsample\n",
        },
    )
    run = run_workflow(tmp_path, "-n", timeout=120)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("utrflow:")]
    assert len(warnings) == 1
    assert warnings[0].startswith("utrflow: warning: ")
    assert "p2.fastq.gz: the reads file holds no reads; plate(s) P2" in warnings[0]


# --------------------------------------------------------------------------------------------
# Safety: data files never run code


def calls(name: str) -> list[tuple[str, ast.Call]]:
    """(file, call) for every call of a function or method `name` in the package."""
    found = []
    for path in sorted((REPO / "src" / "utrflow").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append((path.name, node))
    return found


def keyword(call: ast.Call, name: str) -> object:
    return next(
        (
            k.value.value
            for k in call.keywords
            if k.arg == name and isinstance(k.value, ast.Constant)
        ),
        None,
    )


def test_numpy_and_keras_loads_never_unpickle_or_run_code() -> None:
    numpy_loads = [
        (f, c) for f, c in calls("load") if ast.unparse(c.func) in ("np.load", "numpy.load")
    ]
    # Keras's loader, by attribute (keras.models.load_model); a package function of the same
    # name (the report's load_model of its model inputs) is not it
    keras_loads = [(f, c) for f, c in calls("load_model") if isinstance(c.func, ast.Attribute)]
    assert numpy_loads and keras_loads  # the scan sees them
    for file, call in numpy_loads:
        assert keyword(call, "allow_pickle") is False, f"{file}: {ast.unparse(call)}"
    for file, call in keras_loads:
        assert keyword(call, "safe_mode") is True, f"{file}: {ast.unparse(call)}"


def test_a_pickled_array_is_refused(tmp_path: Path) -> None:
    import numpy as np

    from utrflow.model.encode import load_onehot

    path = tmp_path / "onehot.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"allow_pickle=False|Python objects"):
        load_onehot(path)


def test_a_model_file_holding_code_is_refused_in_one_line(tmp_path: Path, monkeypatch) -> None:
    """A .keras file with a Lambda layer would run its code on loading; safe mode refuses it."""
    import keras

    monkeypatch.chdir(tmp_path)
    inputs = keras.Input((10, 4))
    flat = keras.layers.Flatten()(inputs)
    touched = keras.layers.Lambda(lambda x: x * float(bool(open("ran", "w"))))(flat)  # noqa: SIM115
    keras.Model(inputs, keras.layers.Dense(1)(touched)).save("evil.keras")
    Path("ran").unlink()  # building the model ran it once; loading must not
    Path("new.fa").write_text(">a\nACGTACGTAC\n")
    command = ["predict", "--input", "new.fa", "--members", "evil.keras"]
    run = subprocess.run(
        [str(BIN / "utrflow"), *command, "--output", "out.tsv"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in run.stderr.splitlines() if line.startswith(("utrflow:", "Trace"))]
    assert_one_line(run.returncode, errors, "evil.keras: ")
    assert not Path("ran").exists() and not Path("out.tsv").exists()


# --------------------------------------------------------------------------------------------
# Damaged intermediates: the job that reads one names it and how to rebuild it


def cut_short(path: Path) -> None:
    path.write_bytes(cut_in_half(path.read_bytes()))


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff\xfe garbage \x80\x81")


def emptied(path: Path) -> None:
    path.write_bytes(b"")


CONSENSUS = ["consensus", "--plate", "P1", "--counts", f"{DEMUX_OUT}/well_counts.tsv"]
CONSENSUS += ["--regions", f"{DEMUX_OUT}/regions.tsv.gz", "--output", "results/consensus/P1.tsv"]
ENCODED_ARGS = ["--onehot", "enc/onehot.npy", "--split", "enc/split.tsv"]
ENCODED_ARGS += ["--features", "enc/features.json"]
BASELINES = ["baselines", *ENCODED_ARGS, "--predictions", "enc/baselines.tsv"]
DAMAGED = [
    # (id, file the job reads, how it is damaged, the job, the output it must not leave)
    ("regions-cut-short", f"{DEMUX_OUT}/regions.tsv.gz", cut_short, CONSENSUS,
     "results/consensus/P1.tsv"),
    ("regions-emptied", f"{DEMUX_OUT}/regions.tsv.gz", emptied, CONSENSUS,
     "results/consensus/P1.tsv"),
    ("well-counts-garbage", f"{DEMUX_OUT}/well_counts.tsv", garbage, CONSENSUS,
     "results/consensus/P1.tsv"),
    ("features-cut-short", "enc/features.json", cut_short, BASELINES, "enc/baselines.tsv"),
    ("onehot-cut-short", "enc/onehot.npy", cut_short, BASELINES, "enc/baselines.tsv"),
    ("split-emptied", "enc/split.tsv", emptied, BASELINES, "enc/baselines.tsv"),
    ("split-garbage", "enc/split.tsv", garbage, BASELINES, "enc/baselines.tsv"),
]  # fmt: skip


def intermediates(workdir: Path, capsys, monkeypatch) -> None:
    """The valid experiment's demultiplexing outputs, and a user table's encoding, for real."""
    experiment(workdir, {"lab.csv": TABLE})
    assert run_cli(workdir, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)[0] == 0
    for argv in (
        ["import-table", "--input", "lab.csv", "--labelled", "enc/labelled.tsv"],
        ["encode", "--table", "enc/labelled.tsv", *ENCODED_ARGS],
    ):
        assert run_cli(workdir, argv, capsys, monkeypatch)[0] == 0, argv


@pytest.mark.parametrize("case", DAMAGED, ids=[c[0] for c in DAMAGED])
def test_a_damaged_intermediate_is_named_with_how_to_rebuild_it(
    tmp_path: Path, case, capsys, monkeypatch
) -> None:
    _id, damaged, damage, job, output = case
    intermediates(tmp_path, capsys, monkeypatch)
    status, lines = run_cli(tmp_path, job, capsys, monkeypatch)
    assert status == 0, lines  # undamaged, the job runs
    (tmp_path / output).unlink()
    damage(tmp_path / damaged)
    status, lines = run_cli(tmp_path, job, capsys, monkeypatch)
    line = assert_one_line(status, lines, f"{damaged}: damaged or cut short (")
    assert line.endswith(f"; rebuild it and what follows from it: snakemake --forcerun {damaged}")
    assert not (tmp_path / output).exists()
    assert not list((tmp_path / output).parent.glob(".*.tmp*"))  # no temporary file left


@pytest.mark.slow
def test_the_rebuild_the_message_names_works_in_snakemake(tmp_path: Path) -> None:
    """A truncated regions.tsv.gz: the consensus job stops with the line (in its log, no
    traceback), and `--forcerun` on the damaged file as the line says rebuilds it and the job."""
    experiment(tmp_path)
    target = "results/consensus/P1.tsv"
    assert run_workflow(tmp_path, target, timeout=300).returncode == 0
    regions = tmp_path / DEMUX_OUT / "regions.tsv.gz"
    cut_short(regions)
    (tmp_path / target).unlink()
    run = run_workflow(tmp_path, target, timeout=300)
    assert run.returncode != 0
    assert "Traceback" not in run.stdout + run.stderr
    log = (tmp_path / "results/logs/consensus/P1.log").read_text().splitlines()
    errors = [line for line in log if line.startswith(("utrflow:", "Traceback"))]
    advice = f"snakemake --forcerun {DEMUX_OUT}/regions.tsv.gz"
    assert len(errors) == 1 and errors[0].endswith(advice), errors
    assert not (tmp_path / target).exists()
    rerun = run_workflow(tmp_path, target, *advice.split()[1:], timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (tmp_path / target).exists()
    assert gzip.decompress(regions.read_bytes())  # rebuilt whole


# --------------------------------------------------------------------------------------------
# What is tolerated, and what is written instead of NaN


def test_a_long_sequence_is_truncated_when_asked(tmp_path: Path, capsys, monkeypatch) -> None:
    long = "GATTACA" * 200  # 1,400 nt
    truncate = {**TABLE_CONFIG, "encode": {"truncate": True}}
    experiment(tmp_path, {"lab.csv": TABLE + f"{long},2\n"}, truncate)
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0
    for argv in (
        ["import-table", "--input", "lab.csv", "--labelled", "enc/labelled.tsv"],
        ["encode", "--table", "enc/labelled.tsv", *ENCODED_ARGS],
    ):
        assert run_cli(tmp_path, argv, capsys, monkeypatch)[0] == 0, argv
    from utrflow.model.encode import load_onehot
    from utrflow.sequences import one_hot

    onehot = load_onehot(tmp_path / "enc/onehot.npy")
    assert onehot.shape[1] == 1000  # encode.max_length
    row = (pd.read_csv(tmp_path / "enc/split.tsv", sep="\t")["sequence"] == long).to_numpy()
    assert (onehot[row][0] == one_hot([long[-1000:]], 1000)[0]).all()  # its 3' 1000 nt


def test_yaml_merge_keys_may_override_what_they_merge(tmp_path: Path) -> None:
    """`<<: *base` then one of base's keys is YAML's way to override, not a key twice."""
    from utrflow.yamlio import load_yaml

    path = tmp_path / "c.yaml"
    path.write_text("base: &b {epochs: 3, patience: 2}\nmodel:\n  <<: *b\n  epochs: 5\n")
    assert load_yaml(path)["model"] == {"epochs": 5, "patience": 2}


def test_json_outputs_hold_null_never_nan(tmp_path: Path) -> None:
    import json

    import numpy as np

    from utrflow.io import write_json

    path = tmp_path / "m.json"
    values = {"r2": float("nan"), "sd": np.float64("inf"), "n": np.int64(3), "x": [np.nan, 1.5]}
    write_json({"test": values, "folds": np.array([0.5, np.nan])}, path)
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    assert json.loads(path.read_text()) == {
        "test": {"r2": None, "sd": None, "n": 3, "x": [None, 1.5]},
        "folds": [0.5, None],
    }
    with pytest.raises(TypeError):
        write_json({"when": object()}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_the_report_says_not_computable_for_a_missing_metric() -> None:
    from jinja2 import Undefined

    from utrflow.report.render import number

    assert number(None) == number(float("nan")) == "not computable"
    assert number(Undefined()) == "–"
    assert number(-0.0001) == "0.000" and number(0.8234) == "0.823"


def test_designs_name_the_measured_rows_of_a_plain_table() -> None:
    from utrflow.design.next_library import measured_names

    table = pd.DataFrame(
        {
            "variant_id": ["v7", None, None, float("nan")],
            "plate": ["P1", "P1", None, float("nan")],
            "well": ["A1", "B2", None, float("nan")],
        }
    )
    assert measured_names(table) == ["v7", "P1:B2", "row 4", "row 5"]


def test_every_integer_key_of_the_schema_is_bounded() -> None:
    """A count, length or seed without a maximum passes the check and overflows in a job."""
    from utrflow.config import schema

    def unbounded(node: dict, key: str) -> list[str]:
        found = [key] if node.get("type") == "integer" and "maximum" not in node else []
        for name, sub in node.get("properties", {}).items():
            found += unbounded(sub, f"{key}.{name}")
        for sub in [node.get("items")] if isinstance(node.get("items"), dict) else []:
            found += unbounded(sub, f"{key}[]")
        for sub in node.get("oneOf", []):
            found += unbounded(sub, key)
        return found

    assert unbounded(schema(), "") == []
