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
from utrflow.config import load as load_config
from utrflow.reads import sheets
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


SNAKEMAKE_CASES = [
    "plate-dot-dot",
    "reads-copy-in-another-plate",
    "short-barcode-inside-long",
    "fastq-first-record-no-plus",
    "reader-of-another-plate",
    "table-unknown-covariate",
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
        sheets.load_reads_setup(load_config(d / "config/config.yaml", d), d) for d in (clean, messy)
    ]
    for key in ("wells", "library"):
        pd.testing.assert_frame_equal(setups[0][key], setups[1][key])
    assert setups[0]["construct"] == setups[1]["construct"]
    assert setups[0]["plates"]["plate"].tolist() == setups[1]["plates"]["plate"].tolist()
    from utrflow.reads.files import iter_records

    assert list(iter_records(messy / "reads/p1.fastq")) == list(
        iter_records(clean / "reads/p1.fastq")
    )


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
    keras_loads = calls("load_model")
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
    command = ["predict", "--params", "{}", "--input", "new.fa", "--members", "evil.keras"]
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
