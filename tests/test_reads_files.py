"""The files labs have: folders, globs and lists of reads files, SAM and dorado BAM, names with
commas and spaces, overlap across the whole run, and read-group folder names of any length."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pysam
import pytest

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.preflight import reads_setup
from utrflow.reads.files import check_overlap, detect_format, iter_chunks, iter_reads


def fastq(names: list[str], seq: str = "ACGTACGTAC") -> str:
    return "".join(f"@{n} runid=x\n{seq}\n+\n{'I' * len(seq)}\n" for n in names)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def plates_sheet(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = "".join(f"{plate}\t{reads}\n" for plate, reads in rows)
    return write(tmp_path / "plates.tsv", "plate\treads\n" + lines)


# --------------------------------------------------------------------------------------------
# Folders, globs, lists


def test_a_minknow_barcode_folder_gives_its_fastq_gz_files(tmp_path: Path) -> None:
    folder = tmp_path / "fastq_pass" / "barcode01"
    for i in range(3):
        write(
            folder / f"FAL123_pass_barcode01_{i}.fastq.gz", gzip.compress(fastq([f"r{i}"]).encode())
        )
    write(folder / "sequencing_summary.txt", "filename\tread_id\n")
    write(folder / ".hidden.fastq", fastq(["h"]))
    plates = sheets.load_plates(plates_sheet(tmp_path, [("P1", "fastq_pass/barcode01")]), tmp_path)
    (files,) = [row["files"] for row in plates]
    assert [Path(f).name for f in files] == [
        f"FAL123_pass_barcode01_{i}.fastq.gz" for i in range(3)
    ]
    (group,) = sheets.read_groups(plates)
    names = [r[0] for chunk in iter_chunks(list(group.files), 10) for r in chunk]
    assert names == ["r0", "r1", "r2"]


def test_a_dorado_folder_gives_its_bams_in_subfolders(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        bam_file(tmp_path / "dorado" / sub / f"calls_{sub}.bam", [f"{sub}1", f"{sub}2"])
    write(tmp_path / "dorado" / "a" / "calls_a.bam.bai", b"index")
    files = sheets.resolve_reads("dorado", tmp_path, "plates.tsv: row 2")
    assert [Path(f).name for f in files] == ["calls_a.bam", "calls_b.bam"]


def test_a_folder_without_reads_files_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / "run" / "report.html", "<html>")
    with pytest.raises(InputError, match=r"row 2 \(plate P1\): folder .*run holds no reads files"):
        sheets.load_plates(plates_sheet(tmp_path, [("P1", "run")]), tmp_path)


def test_glob_matches_with_commas_and_spaces_stay_whole(tmp_path: Path) -> None:
    odd = [tmp_path / "reads" / "plate 1, run A.fastq", tmp_path / "reads" / "plate 1,b.fastq"]
    for i, path in enumerate(odd):
        write(path, fastq([f"odd{i}"]))
    plates = sheets.load_plates(plates_sheet(tmp_path, [("P1", "reads/plate 1*.fastq")]), tmp_path)
    assert plates[0]["files"] == tuple(sorted(str(p) for p in odd))
    (group,) = sheets.read_groups(plates)
    assert group.files == tuple(sorted(str(p) for p in odd))
    # a cell naming an existing file whole keeps its comma; a list of files is split at commas
    whole = sheets.resolve_reads("reads/plate 1,b.fastq", tmp_path, "here")
    assert whole == (str(odd[1]),)
    write(tmp_path / "x.fastq", fastq(["x"]))
    write(tmp_path / "y.fastq", fastq(["y"]))
    listed = sheets.resolve_reads("x.fastq, y.fastq", tmp_path, "here")
    assert listed == (str(tmp_path / "x.fastq"), str(tmp_path / "y.fastq"))


# --------------------------------------------------------------------------------------------
# SAM and BAM


SAM_HEADER = "@HD\tVN:1.6\tSO:unknown\n@PG\tID:basecaller\tPN:dorado\tVN:0.7.2\n@RG\tID:run1\n"


def sam_line(name: str, seq: str, qual: str = "*") -> str:
    return f"{name}\t4\t*\t0\t0\t*\t*\t0\t0\t{seq}\t{qual}\tqs:f:14.2\tRG:Z:run1\tMN:i:{len(seq)}\n"


def bam_file(path: Path, names: list[str], seq: str = "ACGTTGCA") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"HD": {"VN": "1.6", "SO": "unknown"}, "RG": [{"ID": "run1"}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for name in names:
            segment = pysam.AlignedSegment()
            segment.query_name, segment.query_sequence, segment.flag = name, seq, 4
            segment.set_tags([("qs", 12.5, "f"), ("RG", "run1"), ("pi", "parent-" + name)])
            out.write(segment)
    return path


def test_dorado_sam_text_is_read_not_taken_for_fastq(tmp_path: Path) -> None:
    text = SAM_HEADER + sam_line("read-1", "ACGTacgu", "IIIIIIII") + sam_line("read-2", "GGCCA")
    for path in (
        write(tmp_path / "calls.sam", text),
        write(tmp_path / "calls.sam.gz", gzip.compress(text.encode())),
    ):
        assert detect_format(path) == "sam"
        reads = list(iter_reads(path))
        assert [(n, s) for n, s, *_ in reads] == [("read-1", "ACGTACGT"), ("read-2", "GGCCA")]
        assert reads[0][2] == pytest.approx(40.0)  # from the base qualities
        assert reads[1][2] == pytest.approx(14.2)  # no qualities: dorado's qs tag
        assert [r[3] for r in reads] == [b"IIIIIIII", b""]
    headless = write(tmp_path / "bare.sam", sam_line("r9", "ACGT"))
    assert [r[0] for r in iter_reads(headless)] == ["r9"]
    fastq_like = write(tmp_path / "r.fastq", "@HD read\nACGT\n+\nIIII\n")
    assert detect_format(fastq_like) == "fastx"


def test_dorado_bam_with_its_tags_is_read(tmp_path: Path) -> None:
    path = bam_file(tmp_path / "calls.bam", ["u1", "u2"])
    reads = list(iter_reads(path))
    assert [(n, s) for n, s, *_ in reads] == [("u1", "ACGTTGCA"), ("u2", "ACGTTGCA")]
    assert reads[0][2] == pytest.approx(12.5)


def test_a_read_stored_reverse_complemented_gets_its_qualities_reversed(tmp_path: Path) -> None:
    """An aligned record of the reverse strand (flag 16) stores the reference strand: the read
    as sequenced is its reverse complement, and its base qualities run the other way."""
    line = "r1\t16\tchr\t1\t60\t5M\t*\t0\t0\tAACGT\t+5?I!\n"
    path = write(tmp_path / "aligned.sam", "@SQ\tSN:chr\tLN:100\n" + line)
    ((name, seq, _, phred),) = iter_reads(path)
    assert (name, seq, phred) == ("r1", "ACGTT", b"!I?5+")


# --------------------------------------------------------------------------------------------
# Overlap across the whole run


def two_plates(tmp_path: Path, second: str) -> list[sheets.ReadGroup]:
    plates = sheets.load_plates(
        plates_sheet(tmp_path, [("P1", "reads/a.fastq"), ("P2", second)]), tmp_path
    )
    return sheets.read_groups(plates)


@pytest.mark.parametrize(
    "second",
    ["reads/link.fastq", "reads/sub/../a.fastq", "reads/copy.fastq", "reads/hard.fastq"],
    ids=["symlink", "dot-dot", "copy", "hard-link"],
)
def test_one_file_in_two_read_groups_stops_naming_both_places(tmp_path: Path, second: str) -> None:
    a = write(tmp_path / "reads" / "a.fastq", fastq(["r1", "r2"]))
    (tmp_path / "reads" / "sub").mkdir()
    os.symlink(a, tmp_path / "reads" / "link.fastq")
    os.link(a, tmp_path / "reads" / "hard.fastq")
    write(tmp_path / "reads" / "copy.fastq", a.read_text())
    groups = two_plates(tmp_path, second)
    assert [g.plates for g in groups] == [("P1",), ("P2",)]  # two read groups
    with pytest.raises(InputError) as caught:
        reads_setup.check_reads_files(groups)
    line = str(caught.value)
    assert "\n" not in line
    assert str(tmp_path / second) in line and str(a) in line
    assert "plate(s) P1" in line and "plate(s) P2" in line


def test_a_different_file_in_another_group_passes(tmp_path: Path) -> None:
    write(tmp_path / "reads" / "a.fastq", fastq(["r1", "r2"]))
    write(tmp_path / "reads" / "b.fastq", fastq(["r1", "r2"], seq="TTTTGGGG"))  # renamed 1, 2...
    assert reads_setup.check_reads_files(two_plates(tmp_path, "reads/b.fastq")) == []


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_file_concatenated_with_itself_stops_before_any_job(
    tmp_path: Path, gzipped: bool
) -> None:
    one = fastq([f"r{i}" for i in range(50)]).encode()
    data = gzip.compress(one) * 2 if gzipped else one * 2  # `cat f f > g`
    path = write(tmp_path / ("twice.fastq.gz" if gzipped else "twice.fastq"), data)
    with pytest.raises(InputError, match=r"twice\.fastq(\.gz)? \(plate\(s\) P1\): its second half"):
        check_overlap({str(path): "plate(s) P1"})


def test_reads_repeated_inside_a_file_stop_the_stream(tmp_path: Path) -> None:
    """Re-compressed (not a byte-for-byte double) or repeated in part: met while streaming."""
    names = [f"read-{i:05d}" for i in range(3000)]
    body = fastq(names)
    recompressed = write(tmp_path / "again.fastq.gz", gzip.compress((body + body).encode()))
    assert check_overlap({str(recompressed): ""})[str(recompressed)] == ("read-00000", "ACGTACGTAC")
    with pytest.raises(
        InputError, match=r"again\.fastq\.gz: read read-00000 occurs twice in the file"
    ):
        list(iter_chunks([str(recompressed)], 500))
    # a repeated stretch that leaves the first read alone is caught by the sampled sentinels
    part = write(tmp_path / "part.fastq", fastq(["first"]) + body + fastq(names[1000:]))
    with pytest.raises(InputError, match=r"part\.fastq: read .* occurs twice in the file"):
        list(iter_chunks([str(part)], 500))
    clean = write(tmp_path / "clean.fastq", fastq(["first"]) + body)
    assert sum(len(c) for c in iter_chunks([str(clean)], 500)) == 3001


# --------------------------------------------------------------------------------------------
# Read-group folder names


def test_long_pooled_plate_names_give_short_stable_group_names(tmp_path: Path) -> None:
    reads = write(tmp_path / "pool.fastq", fastq(["r1"]))
    names = [f"2024-05-17_promoter_library_round3_plate{i:02d}_replicateA" for i in range(12)]
    plates = sheets.load_plates(plates_sheet(tmp_path, [(n, str(reads)) for n in names]))
    (group,) = sheets.read_groups(plates)
    assert group.plates == tuple(names)
    assert len(group.name) <= sheets.GROUP_NAME_MAX
    assert group.name.startswith(names[0][:32] + "+11more-")
    assert sheets.read_groups(plates)[0].name == group.name  # stable across runs
    other = sheets.group_name((*names[:-1], names[-1] + "B"))
    assert other != group.name and len(other) == len(group.name)
    assert sheets.group_name(("P1", "P2")) == "P1+P2"  # short names stay as they were
    (tmp_path / "results" / group.name).mkdir(parents=True)  # a name the file system takes


def test_a_plate_name_too_long_for_a_file_is_one_line(tmp_path: Path) -> None:
    reads = write(tmp_path / "r.fastq", fastq(["r1"]))
    with pytest.raises(InputError, match=r"row 2: plate name .* has 120 characters; at most 100"):
        sheets.load_plates(plates_sheet(tmp_path, [("P" * 120, str(reads))]))
