"""Bad input, round 3 (#36): the files and habits of real labs never give a wrong table silently.

Each test feeds one class of input that today's release got wrong without a word: a user path
the shell would split or run, reads whose qualities say nothing, duplex BAMs, MinKNOW's failed
reads, a reader file tied to the wrong plate, a sequence wider than the model, settings that
stopped only after six jobs, a full disk, and user tables as spreadsheets save them. Most run
in-process on the small valid experiment of test_bad_inputs; one slow test runs the workflow.
"""

from __future__ import annotations

import errno
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from conftest import REPO, run_workflow, write_config
from test_bad_inputs import (
    CONFIG,
    DEMUX,
    DEMUX_OUT,
    FASTQ,
    FILES,
    PLATES,
    READER,
    READS,
    TABLE,
    TABLE_SEQUENCES,
    WELLS,
    assert_one_line,
    experiment,
    run_cli,
)

from utrflow import sheets
from utrflow.errors import InputError
from utrflow.labelled import read_user_table
from utrflow.plates import link, reader
from utrflow.reads.barcodes import fit_end, infix_distance
from utrflow.reads.files import iter_reads

RULES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
# params built by `optional_flags`, which quotes each path itself (shlex.quote)
PREQUOTED = {"params.optional", "params.library", "params.truth"}
# not paths: a number, or a wildcard its constraint holds to digits or candidate names
UNQUOTED_OK = {"threads", "wildcards.member", "wildcards.candidate"}


def shell_placeholders(text: str) -> list[str]:
    """Every {name} or {name:q} of the shell commands in a rule file (f-strings' {{name}} too)."""
    found = []
    for block in re.findall(r"shell:\n((?:\s+[f]?\".*\"\n?)+)", text):
        found += re.findall(r"\{\{?([a-z_.]+(?::q)?)\}\}?", block)
    return found


def test_every_path_in_every_rule_is_quoted_for_the_shell() -> None:
    unquoted = []
    for path in RULES:
        for name in shell_placeholders(path.read_text()):
            if not name.endswith(":q") and name not in PREQUOTED | UNQUOTED_OK:
                unquoted.append(f"{path.name}: {{{name}}}")
    # the encoded inputs every model rule shares, spelled out in common.smk
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    args = re.search(r'ENCODED_ARGS = "(.*)"', common)
    assert args is not None
    unquoted += [n for n in re.findall(r"\{([a-z_.]+(?::q)?)\}", args.group(1)) if ":q" not in n]
    assert unquoted == []
    assert sum(len(shell_placeholders(p.read_text())) for p in RULES) > 100  # the parse works


# A name a shell would split, glob, unquote or run: spaces, brackets, both quotes, $(...), `...`.
HOSTILE = 'lab data [v2] it\'s "x" $(touch RAN) `touch RAN2`'


@pytest.mark.slow
def test_hostile_user_paths_are_read_and_never_run(tmp_path: Path) -> None:
    """Every user path of a reads run and of a table run with predict.input, through the
    workflow: every file is read, and nothing the names hold is executed."""
    reads_dir = tmp_path / "reads"
    renamed = {
        "plates.tsv": f"{HOSTILE} plates.tsv",
        "wells.tsv": f"{HOSTILE} wells.tsv",
        "library.csv": f"{HOSTILE} library.csv",
        "reads/p1.fastq": f"reads/{HOSTILE} p1.fastq",
        "reader/p1.csv": f"reader/{HOSTILE} p1.csv",
    }
    files = {renamed.get(name, name): content for name, content in FILES.items()}
    plates = str(files.pop(renamed["plates.tsv"]))
    files[renamed["plates.tsv"]] = plates.replace("reads/p1.fastq", renamed["reads/p1.fastq"])
    files[renamed["plates.tsv"]] = str(files[renamed["plates.tsv"]]).replace(
        "reader/p1.csv", renamed["reader/p1.csv"]
    )
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(content))
    assert reads_dir.is_dir()
    config = {
        **CONFIG,
        "plates": renamed["plates.tsv"],
        "wells": renamed["wells.tsv"],
        "library": renamed["library.csv"],
    }
    write_config(tmp_path, config)
    run = run_workflow(tmp_path, "results/table/labelled.tsv", timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    labelled = pd.read_csv(tmp_path / "results" / "table" / "labelled.tsv", sep="\t")
    assert labelled.set_index("well").loc["A1", "variant_id"] == "v1"  # reads, library, sheets
    assert labelled["signal"].notna().sum() == 2  # the reader file was read

    table = tmp_path / f"{HOSTILE} table.csv"
    table.write_text(
        "sequence,label\n" + "".join(f"{s}AC{s},{i % 7}\n" for i, s in enumerate(TABLE_SEQUENCES))
    )
    new = tmp_path / f"{HOSTILE} new.fa"
    new.write_text(">a\nACGTACGTAC\n>b\nGGGGACGT\n")
    model = {"preset": "lecture", "epochs": 2, "patience": 1, "batch_size": 16}
    write_config(
        tmp_path,
        {
            "source": "table",
            "table": table.name,
            "predict": {"input": new.name},
            "model": model,
            "baselines": {"kmer_max": 2},
            "design": {"n_designs": 0},
        },
    )
    run = run_workflow(tmp_path, "results/predict/predictions.tsv", timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    predictions = pd.read_csv(tmp_path / "results" / "predict" / "predictions.tsv", sep="\t")
    assert predictions["id"].tolist() == ["a", "b"]
    ran = sorted(p.name for p in tmp_path.rglob("RAN*"))
    assert ran == [], f"a path was executed: {ran}"


# --------------------------------------------------------------------------------------------
# Reads as instruments and converters write them


def quality_line(seq: str, uniform: bool) -> str:
    """Base qualities: one value throughout (a converter's placeholder) or varying."""
    if uniform:
        return "I" * len(seq)
    return "".join("5?I+"[i % 4] for i in range(len(seq)))


def test_uniform_base_qualities_are_dropped_and_said(tmp_path: Path, caplog) -> None:
    seq = READS[0]
    text = f"@u1\n{seq}\n+\n{quality_line(seq, True)}\n@v1\n{seq}\n+\n{quality_line(seq, False)}\n"
    path = tmp_path / "converted.fastq"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        reads = list(iter_reads(path))
    (_, _, mean_u, phred_u), (_, _, mean_v, phred_v) = reads
    assert (mean_u, phred_u) == (None, b"")  # called by counting, as from FASTA
    assert mean_v is not None and phred_v == quality_line(seq, False).encode()
    assert "1 of 2 reads carry one base quality throughout" in caplog.text


def test_uniform_base_qualities_in_a_bam_are_dropped_too(tmp_path: Path) -> None:
    path = tmp_path / "old.bam"
    with pysam.AlignmentFile(str(path), "wb", header={"HD": {"VN": "1.6"}}) as out:
        segment = pysam.AlignedSegment()
        segment.query_name, segment.query_sequence, segment.flag = "b1", READS[0], 4
        segment.query_qualities = pysam.qualitystring_to_array("+" * len(READS[0]))
        out.write(segment)
    ((_, _, mean, phred),) = list(iter_reads(path))
    assert (mean, phred) == (None, b"")


def test_a_demultiplexed_well_of_uniform_qualities_keeps_none_in_its_regions(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    experiment(tmp_path)  # the experiment's FASTQ carries 'I' on every base
    status, _ = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
    assert status == 0
    regions = pd.read_csv(tmp_path / DEMUX_OUT / "regions.tsv.gz", sep="\t", keep_default_na=False)
    assert len(regions) == 2
    assert (regions["region_quality"] == "").all()
    funnel = json.loads((tmp_path / DEMUX_OUT / "funnel.json").read_text())
    assert funnel["uniform_quality_reads"] == 2  # said where the report reads the funnel


@pytest.mark.parametrize("uniform", [True, False], ids=["placeholder", "varied"])
def test_a_well_of_placeholder_qualities_is_called_by_counting_not_trusted(
    tmp_path: Path, capsys, monkeypatch, uniform: bool
) -> None:
    """Known answer: 6 of a well's 8 reads show one substitution. Counted, 6 of 8 do not
    confirm a synthesis variant (variant_unconfirmed); weighed by a converter's Q40 on every
    base, the posterior called it sure and the well passed with the variant. Each well's
    `called_by` says which way it was called (varied qualities: the posterior)."""
    from test_bad_inputs import BARCODES, DOWN, FWD_PRIMER, REV_PRIMER, UP, UTR

    from utrflow.sequences import reverse_complement

    variant = UTR[:14] + ("C" if UTR[14] != "C" else "G") + UTR[15:]

    def read(utr: str, fwd: str, rev: str) -> str:
        insert = FWD_PRIMER + UP + utr + DOWN + reverse_complement(REV_PRIMER)
        return "GATTACA" + fwd + insert + reverse_complement(rev) + "TTAGG"

    seqs = [read(variant, *BARCODES[0])] * 6 + [read(UTR, *BARCODES[0])] * 2
    seqs += [read(UTR, *BARCODES[1])] * 8
    fastq = "".join(f"@q{i}\n{s}\n+\n{quality_line(s, uniform)}\n" for i, s in enumerate(seqs))
    experiment(tmp_path, {"reads/p1.fastq": fastq})
    assert run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)[0] == 0
    argv = ["consensus", "--plate", "P1", "--counts", f"{DEMUX_OUT}/well_counts.tsv",
            "--regions", f"{DEMUX_OUT}/regions.tsv.gz", "--library", "library.csv",
            "--output", "calls.tsv"]  # fmt: skip
    assert run_cli(tmp_path, argv, capsys, monkeypatch)[0] == 0
    calls = pd.read_csv(tmp_path / "calls.tsv", sep="\t").set_index("well")
    assert calls.loc["A1", "sequence"] == variant
    assert calls.loc["A2", "qc"] == "pass"  # 8 of 8 on the design
    expected = "counting" if uniform else "posterior"
    assert calls.loc[["A1", "A2"], "called_by"].tolist() == [expected, expected]
    assert calls.drop(index=["A1", "A2"])["called_by"].isna().all()  # no reads, no call
    if uniform:
        assert calls.loc["A1", "qc"] == "variant_unconfirmed"


def test_zero_length_reads_in_fastq_are_reads_not_damage(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    trimmed = FASTQ + "@gone trimmed away\n\n+\n\n" + FASTQ.replace("@r", "@t")
    experiment(tmp_path, {"reads/p1.fastq": trimmed})
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0
    status, lines = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
    assert status == 0, lines
    assignments = pd.read_csv(tmp_path / DEMUX_OUT / "assignments.tsv.gz", sep="\t")
    assert len(assignments) == 5  # every read once, the empty one too
    assert assignments.set_index("read_id").loc["gone", "status"] == "too_short"


def test_a_zero_length_read_first_in_the_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "r.fastq"
    path.write_text("@e\n\n+\n\n" + FASTQ)
    assert [(n, s) for n, s, *_ in iter_reads(path)][:2] == [("e", ""), ("r0", READS[0])]


def duplex_bam(path: Path, rows: list[tuple[str, int | None]]) -> Path:
    with pysam.AlignmentFile(str(path), "wb", header={"HD": {"VN": "1.6"}}) as out:
        for name, dx in rows:
            segment = pysam.AlignedSegment()
            segment.query_name, segment.query_sequence, segment.flag = name, READS[0], 4
            if dx is not None:
                segment.set_tag("dx", dx, "i")
            out.write(segment)
    return path


def test_a_dorado_duplex_bam_counts_each_molecule_once(tmp_path: Path) -> None:
    rows = [("m1", 1), ("m1a", -1), ("m1b", -1), ("m2", 0), ("m3", None)]
    names = [r[0] for r in iter_reads(duplex_bam(tmp_path / "duplex.bam", rows))]
    assert names == ["m1", "m2", "m3"]


def test_a_dorado_duplex_fastq_counts_each_molecule_once(tmp_path: Path) -> None:
    seq, qual = READS[0], quality_line(READS[0], False)
    text = "".join(
        f"@{name} {tag}\n{seq}\n+\n{qual}\n"
        for name, tag in [
            ("m1", "dx:i:1"),
            ("m1a", "dx:i:-1"),
            ("m1b", "dx:i:-1"),
            ("m2", "dx:i:0"),
        ]
    )
    path = tmp_path / "duplex.fastq"
    path.write_text(text)
    assert [r[0] for r in iter_reads(path)] == ["m1", "m2"]


@pytest.mark.parametrize("chunk_reads", [1, 1000])
def test_a_duplex_bams_parents_have_a_row_each_but_are_not_assigned(
    tmp_path: Path, capsys, monkeypatch, chunk_reads: int
) -> None:
    rows = [("m1", 1), ("m1a", -1), ("m1b", -1), ("m2", 0), ("m3a", -1)]
    (tmp_path / "reads").mkdir()
    duplex_bam(tmp_path / "reads" / "p1.bam", rows)
    plates = {"plates.tsv": PLATES.replace("reads/p1.fastq", "reads/p1.bam")}
    experiment(tmp_path, plates, {"demux": {"chunk_reads": chunk_reads}})
    assert run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)[0] == 0
    assignments = pd.read_csv(
        tmp_path / DEMUX_OUT / "assignments.tsv.gz", sep="\t", keep_default_na=False
    ).set_index("read_id")
    # every read of the BAM exactly once (the output contract), a molecule assigned once
    assert sorted(assignments.index) == sorted(name for name, _ in rows)
    parents = assignments[assignments["status"] == "duplex_parent"]
    assert sorted(parents.index) == ["m1a", "m1b", "m3a"]
    assert (parents["well"] == "").all()
    assert assignments.loc[["m1", "m2"], "well"].tolist() == ["A1", "A1"]
    funnel = json.loads((tmp_path / DEMUX_OUT / "funnel.json").read_text())
    assert funnel["duplex_parents"] == 3
    assert funnel["status"]["duplex_parent"] == 3 and funnel["status"]["assigned"] == 2
    assert funnel["reads"] == len(rows) == sum(funnel["status"].values())


def minknow_run(tmp_path: Path) -> Path:
    run = tmp_path / "run1"
    for kind in ("pass", "fail"):
        folder = run / f"fastq_{kind}" / "barcode01"
        folder.mkdir(parents=True)
        (folder / f"FAL_{kind}_0.fastq").write_text(FASTQ.replace("@r", f"@{kind}"))
    return run


def test_a_minknow_run_folder_leaves_fastq_fail_out(tmp_path: Path) -> None:
    minknow_run(tmp_path)
    files = sheets.resolve_reads("run1", tmp_path, "plates.tsv: row 2")
    assert [Path(f).name for f in files] == ["FAL_pass_0.fastq"]


def test_demux_include_failed_takes_fastq_fail(tmp_path: Path) -> None:
    minknow_run(tmp_path)
    files = sheets.resolve_reads("run1", tmp_path, "plates.tsv: row 2", include_failed=True)
    assert [Path(f).name for f in files] == ["FAL_fail_0.fastq", "FAL_pass_0.fastq"]


def test_naming_fastq_fail_itself_takes_it(tmp_path: Path) -> None:
    minknow_run(tmp_path)
    files = sheets.resolve_reads("run1/fastq_fail", tmp_path, "plates.tsv: row 2")
    assert [Path(f).name for f in files] == ["FAL_fail_0.fastq"]


def test_the_include_failed_key_reaches_the_demux_job(tmp_path: Path, capsys, monkeypatch) -> None:
    minknow_run(tmp_path)
    plates = PLATES.replace("reads/p1.fastq", "run1")
    for include, expected in ((False, 2), (True, 4)):
        experiment(tmp_path, {"plates.tsv": plates}, {"demux": {"include_failed": include}})
        status, lines = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
        assert status == 0, lines
        assignments = pd.read_csv(tmp_path / DEMUX_OUT / "assignments.tsv.gz", sep="\t")
        assert len(assignments) == expected


def test_a_reads_file_whose_name_holds_brackets_is_that_file(tmp_path: Path) -> None:
    (tmp_path / "reads [run 2].fastq").write_text(FASTQ)
    files = sheets.resolve_reads("reads [run 2].fastq", tmp_path, "plates.tsv: row 2")
    assert [Path(f).name for f in files] == ["reads [run 2].fastq"]


def test_a_barcode_set_of_one_well_gets_thresholds_that_refuse_other_barcodes() -> None:
    """A single-colony pilot: one barcode at each end. Reads of the pool's other barcodes (every
    other 12-mer at least 5 edits away, as a designed set keeps them) must not be taken."""
    own = "ACGTTGCAGTCA"
    fit = fit_end("fwd", [own], "auto", 1, anchor=6)
    barcode_edits = fit.max_distance - int(0.3 * 6)
    assert barcode_edits <= 2
    rng = np.random.default_rng(3)
    others = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(400)]
    others = [o for o in others if infix_distance(o, own) >= 5][:200]
    taken = [o for o in others if infix_distance(own, "GA" + o + "T") <= barcode_edits]
    assert len(taken) <= 2, taken  # today: 5 edits take a share of them
    one_error = own[:5] + "T" + own[6:]
    assert infix_distance(own, "GA" + one_error + "T") <= barcode_edits


# --------------------------------------------------------------------------------------------
# User tables as spreadsheets save them


def test_a_table_in_windows_1252_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lab.csv"
    rows = "".join(f"{s},{i % 7},souche {i} µM é\n" for i, s in enumerate(TABLE_SEQUENCES))
    path.write_bytes(("sequence,label,note\n" + rows).encode("cp1252"))
    table = read_user_table(path)
    assert len(table) == 40 and "note" not in table.columns


def test_a_tab_separated_table_under_a_csv_name_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lab.csv"
    path.write_text(TABLE.replace(",", "\t"))
    table = read_user_table(path)
    assert table["label"].tolist()[:3] == [0.0, 1.0, 2.0]


def test_a_comma_separated_table_under_a_tsv_name_is_read(tmp_path: Path) -> None:
    path = tmp_path / "lab.tsv"
    path.write_text(TABLE)
    assert len(read_user_table(path)) == 40


def test_a_text_annotation_column_is_kept_out_of_the_model(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    rows = "".join(f"{s},{i % 7},clone {i},{i / 10}\n" for i, s in enumerate(TABLE_SEQUENCES))
    files = {"lab.csv": "sequence,label,strain,od\n" + rows}
    experiment(tmp_path, files, {"source": "table", "table": "lab.csv"})
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0
    table = read_user_table(tmp_path / "lab.csv")
    assert "strain" not in table.columns and "od" in table.columns


def test_one_typo_in_a_number_column_still_stops(tmp_path: Path) -> None:
    rows = "".join(f"{s},{i % 7},{'1.O' if i == 5 else i}\n" for i, s in enumerate(TABLE_SEQUENCES))
    path = tmp_path / "lab.csv"
    path.write_text("sequence,label,od\n" + rows)
    with pytest.raises(
        InputError, match=re.escape("row 7: column 'od' value '1.O' is not a number")
    ):
        read_user_table(path)


def test_predict_input_in_windows_1252_tab_separated_under_csv(tmp_path: Path) -> None:
    from utrflow.model.predict import read_sequences

    path = tmp_path / "new.csv"
    path.write_bytes("id\tsequence\tnote\nné1\tACGT\tµ\n".encode("cp1252"))
    frame = read_sequences(path)
    assert frame[["id", "sequence"]].values.tolist() == [["né1", "ACGT"]]


# --------------------------------------------------------------------------------------------
# Blank wells that give no blank level


def plate_reading(tmp_path: Path, reader_text: str, settings: dict | None = None) -> pd.DataFrame:
    path = tmp_path / "reader.csv"
    path.write_text(reader_text)
    wells = pd.DataFrame(
        {
            "plate": "P1",
            "well": ["A1", "A2", "A3", "A4"],
            "role": ["sample", "sample", "blank", "blank"],
        }
    )
    chosen = reader.FluorescenceSettings(**(settings or {}))
    return reader.load_plate("P1", wells, path, chosen)[0]


def test_every_blank_well_saturated_flags_the_plate(tmp_path: Path, caplog) -> None:
    text = "well,gfp,od600\nA1,1200,0.5\nA2,900,0.4\nA3,OVRFLW,0.05\nA4,OVRFLW,0.05\n"
    with caplog.at_level(logging.WARNING):
        table = plate_reading(tmp_path, text)
    samples = table[table["role"] == "sample"]
    assert samples["flags"].str.contains("blank_unusable").all()
    assert "every one of its 2 blank wells is saturated or empty" in caplog.text


def test_every_blank_well_empty_in_the_normalizer_flags_the_plate(tmp_path: Path) -> None:
    text = "well,gfp,od600\nA1,1200,0.5\nA2,900,0.4\nA3,100,\nA4,110,\n"
    table = plate_reading(tmp_path, text)
    assert table.set_index("well").loc["A1", "flags"] == "blank_unusable"


def test_one_usable_blank_is_enough(tmp_path: Path) -> None:
    text = "well,gfp,od600\nA1,1200,0.5\nA2,900,0.4\nA3,OVRFLW,0.05\nA4,100,0.05\n"
    table = plate_reading(tmp_path, text)
    assert not table["flags"].str.contains("blank_unusable").any()
    assert table["blank_signal"].iloc[0] == 100


def test_a_blank_unusable_well_fails_qc_in_the_labelled_table() -> None:
    consensus = pd.DataFrame(
        {"plate": "P1", "well": ["A1"], "sequence": ["ACGT"], "variant_id": ["v1"],
         "match": ["exact"], "n_reads": [9], "n_regions": [9], "purity": [1.0], "qc": ["pass"],
         "role": ["sample"], "differences": [""]}
    )  # fmt: skip
    readings = pd.DataFrame(
        {"well": ["A1"], "signal": [3.0], "label": [1.5], "flags": ["blank_unusable"]}
    )
    row = link.join_plate(consensus, readings).iloc[0]
    assert row["qc"] == "blank_unusable"


# --------------------------------------------------------------------------------------------
# Reader files tied to the wrong plate


def block(name: str, a1: int) -> str:
    """A plate's block as Gen5 or i-control write it: its name in the metadata, then the table."""
    return f"Plate ID,{name}\nwell,gfp,od600\nA1,{a1},0.5\nA2,900,0.4\nA3,100,0.05\n"


def two_plates(
    reader1: str = "reader/p1.csv",
    reader2: str = "reader/p2.csv",
    blocks: tuple[str, str] = ("", ""),
    readers: dict[str, str] | None = None,
) -> dict[str, str]:
    """P1 and P2 (own reads files, same barcodes), each with its reader file (and block)."""
    p2_wells = "".join(line.replace("P1\t", "P2\t") + "\n" for line in WELLS.splitlines()[1:])
    return {
        "plates.tsv": (
            "plate\treads\tfluorescence\treader_plate\n"
            f"P1\treads/p1.fastq\t{reader1}\t{blocks[0]}\n"
            f"P2\treads/p2.fastq\t{reader2}\t{blocks[1]}\n"
        ),
        "wells.tsv": WELLS + p2_wells,
        "reads/p2.fastq": FASTQ.replace("@r", "@s"),
        "reader/p2.csv": READER.replace("1200", "2400"),
        **(readers or {}),
    }


TIE_CASES = [
    ("one-file-for-two-plates", two_plates(reader2="reader/p1.csv"),
     "reader/p1.csv: the reader file is given for plates 'P1' and 'P2' but holds one plate"),
    ("one-file-two-plates-same-block", two_plates(
        "reader/both.csv", "reader/both.csv", ("1", "p1"),
        {"reader/both.csv": block("P1", 1200) + "\n" + block("P2", 2400)}),
     "plates 'P1' and 'P2' both read its plate 'P1'"),
    ("one-file-two-plates-one-named", two_plates(
        "reader/both.csv", "reader/both.csv", ("P1", ""),
        {"reader/both.csv": block("P1", 1200)}),
     "is given for plates 'P1' and 'P2' but holds one plate"),
    ("files-swapped-by-their-metadata", two_plates(
        readers={"reader/p1.csv": block("P2", 2400), "reader/p2.csv": block("P1", 1200)}),
     "reader/p1.csv: the file names its plate 'P2', which is plate 'P2' of plates.tsv, but it "
     "is given for plate 'P1'"),
    ("plate-barcode-names-the-other-plate", two_plates(
        readers={"reader/p1.csv": "Plate Barcode:,P2\n" + READER}),
     "reader/p1.csv: the file states plate barcode 'P2', which is plate 'P2' of plates.tsv, "
     "but it is given for plate 'P1'"),
    ("metadata-names-another-plate-case-and-spaces", two_plates(
        readers={"reader/p2.csv": block(" p 1", 1200)}),
     "reader/p2.csv: the file names its plate 'p 1', which is plate 'P1'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "expect"), [c[1:] for c in TIE_CASES], ids=[c[0] for c in TIE_CASES]
)
def test_a_reader_file_tied_to_the_wrong_plate_stops(
    tmp_path: Path, files: dict[str, str], expect: str, capsys, monkeypatch
) -> None:
    experiment(tmp_path, files)
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


@pytest.mark.parametrize(
    "files",
    [
        two_plates(
            "reader/both.csv",
            "reader/both.csv",
            ("P1", "2"),
            {"reader/both.csv": block("P1", 1200) + "\n" + block("P2", 2400)},
        ),
        two_plates(  # blocks named like the plates choose themselves
            "reader/both.csv",
            "reader/both.csv",
            readers={"reader/both.csv": block("P1", 1200) + "\n" + block("P2", 2400)},
        ),
        two_plates(readers={"reader/p1.csv": block("Plate 1", 1200)}),  # the software's default
        two_plates(readers={"reader/p1.csv": "Barcode,P1\n" + READER}),
    ],
    ids=[
        "reader-plate-for-each",
        "blocks-named-like-plates",
        "unrelated-plate-name",
        "own-plate-barcode",
    ],
)
def test_reader_files_whose_ties_are_clear_pass(
    tmp_path: Path, files: dict[str, str], capsys, monkeypatch
) -> None:
    experiment(tmp_path, files)
    status, lines = run_cli(tmp_path, ["check-config"], capsys, monkeypatch)
    assert status == 0, lines


def test_every_plate_label_is_traced_to_its_reader_file_sheet_and_block(tmp_path: Path) -> None:
    """The per-plate JSON says where each plate's readings came from, and the labels are those
    readings: never another plate's (a shared file, a workbook, a plain file)."""
    from utrflow.plates.exports import workbook_bytes

    both = block("P1", 1200) + "\n" + block("P2", 2400)
    rows = [line.split(",") for line in block("P3", 4800).splitlines()]
    experiment(
        tmp_path,
        {"reader/both.csv": both, "reader/p3.xlsx": b"", "wells.tsv": WELLS},
    )
    (tmp_path / "reader" / "p3.xlsx").write_bytes(
        workbook_bytes([[float(c) if c[:1].isdigit() else c for c in row] for row in rows])
    )
    wells = WELLS + "".join(
        line.replace("P1\t", f"{p}\t") + "\n"
        for p in ("P2", "P3")
        for line in WELLS.splitlines()[1:]
    )
    (tmp_path / "wells.tsv").write_text(wells)
    readers = [
        link.ReaderFile("P1", tmp_path / "reader/both.csv", "P1"),
        link.ReaderFile("P2", tmp_path / "reader/both.csv", "2"),
        link.ReaderFile("P3", tmp_path / "reader/p3.xlsx"),
    ]
    settings = reader.FluorescenceSettings(blank_subtract=False, normalize_by="")
    tables, summaries = link.read_readers(
        readers, tmp_path / "wells.tsv", settings, tmp_path / "out"
    )
    expected = {
        "P1": ("reader/both.csv", "P1", "", "line 2", 1200.0),
        "P2": ("reader/both.csv", "P2", "", "line 8", 2400.0),
        "P3": ("reader/p3.xlsx", "P3", "Sheet", "sheet 'Sheet' row 2", 4800.0),
    }
    for plate, (file, block_name, sheet, where, a1) in expected.items():
        summary = summaries[plate]
        assert summary == json.loads((tmp_path / "out" / f"{plate}.json").read_text())
        assert summary["plate"] == plate
        assert summary["reader"].endswith(file)
        assert (summary["reader_plate"], summary["sheet"]) == (block_name, sheet)
        assert summary["blocks"] == {"signal": where}
        a1_row = tables[plate].set_index("well").loc["A1"]
        assert a1_row["signal_raw"] == a1  # the label is this block's reading


# --------------------------------------------------------------------------------------------
# Predict: sequences wider than the model


def test_a_sequence_wider_than_the_model_is_flagged_in_a_column(tmp_path: Path, caplog) -> None:
    from utrflow import config
    from utrflow.model import predict
    from utrflow.model.network import Scaler, build_network, export, layer_specs

    cfg = config.validate({"model": {"conv_filters": [2], "dense_units": 0}})["model"]
    member = export(
        build_network(6, layer_specs(cfg), "regression"), Scaler(0.0, 1.0), "regression"
    )
    member.save(tmp_path / "m.keras")
    new = tmp_path / "new.fa"
    new.write_text(">fits\nACGTAC\n>short\nGG\n>long\nTTTTACGTAC\n")
    with caplog.at_level(logging.WARNING):
        predict.run(new, [tmp_path / "m.keras"], tmp_path / "out.tsv")
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert out.set_index("id")["truncated_nt"].to_dict() == {"fits": 0, "short": 0, "long": 4}
    assert "1 sequence(s) longer than the model's width (6 nt), e.g. long" in caplog.text


# --------------------------------------------------------------------------------------------
# Workbooks as students assemble them


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """An xlsx of named sheets (cells given as written: a str starting '=' is a formula)."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def tidy_rows(a1: object) -> list[list[object]]:
    return [["well", "gfp", "od600"], ["A1", a1, 0.5], ["A2", 900, 0.4], ["A3", 100, 0.05]]


def test_a_workbook_with_a_sheet_per_plate_reads_each_plate_from_its_sheet(tmp_path: Path) -> None:
    book = workbook({"P1": tidy_rows(1200), "P2": tidy_rows(2400)})
    experiment(
        tmp_path, {**two_plates("reader/book.xlsx", "reader/book.xlsx"), "reader/book.xlsx": book}
    )
    wells = pd.DataFrame(sheets.load_wells(tmp_path / "wells.tsv"))
    chosen = reader.FluorescenceSettings(blank_subtract=False)
    for plate, a1 in (("P1", 1200), ("P2", 2400)):
        table, _ = reader.load_plate(plate, wells, tmp_path / "reader/book.xlsx", chosen)
        assert table.set_index("well").loc["A1", "signal_raw"] == a1


def test_a_workbook_whose_sheets_name_no_plate_stops(tmp_path: Path, capsys, monkeypatch) -> None:
    book = workbook({"Run 1": tidy_rows(1200), "Run 2": tidy_rows(2400)})
    experiment(tmp_path, {"plates.tsv": PLATES.replace("reader/p1.csv", "reader/book.xlsx"),
                          "reader/book.xlsx": book})  # fmt: skip
    expect = "book.xlsx: the reader file holds 2 plates ('Run 1', 'Run 2') and none is named 'P1'"
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


def test_a_workbook_whose_second_sheet_repeats_the_first_is_one_plate(tmp_path: Path) -> None:
    book = workbook({"Data": tidy_rows(1200), "Table": tidy_rows(1200), "Protocol": [["Gain", 80]]})
    # a repeat of the readings and a protocol sheet add no plate
    from utrflow.plates.workbook import read_plate_export

    (tmp_path / "r.xlsx").write_bytes(book)
    assert list(read_plate_export(tmp_path / "r.xlsx").plates) == [""]


def test_xlsx_formulas_without_saved_values_stop_with_one_line(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    rows = tidy_rows("=1000+200")
    rows[2][1] = "=SUM(800,100)"
    book = workbook({"Sheet1": rows})
    experiment(tmp_path, {"plates.tsv": PLATES.replace("reader/p1.csv", "reader/book.xlsx"),
                          "reader/book.xlsx": book})  # fmt: skip
    expect = "book.xlsx: sheet 'Sheet1' cell B2 and 1 more: a formula without a saved value"
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


# --------------------------------------------------------------------------------------------
# Settings that stopped only after six jobs, or with a message naming no cause


@pytest.mark.parametrize(("typed", "meant"), [("Auto", "auto"), (" AUTO ", "auto"), ("3", 3)])
def test_max_barcode_distance_as_people_type_it_is_taken_as_meant(
    typed: str, meant: object, tmp_path: Path, capsys, monkeypatch
) -> None:
    from utrflow import config

    experiment(tmp_path, config={"demux": {"max_barcode_distance": typed}})
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0
    validated = config.validate({"demux": {"max_barcode_distance": typed}})
    assert validated["demux"]["max_barcode_distance"] == meant


def test_a_max_barcode_distance_that_is_neither_says_what_it_may_be(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    experiment(tmp_path, config={"demux": {"max_barcode_distance": "three"}})
    expect = (
        "key 'demux.max_barcode_distance': 'three' is not a whole number from 0 to 100, or auto"
    )
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


UP = CONFIG["construct"]["upstream_flank"]
DOWN = CONFIG["construct"]["downstream_flank"]


def library_of(template: str, n: int) -> dict[str, str]:
    """A library.csv of `n` designs written as `template` ({s}: a variable region)."""
    rows = "".join(f"v{i},{template.format(s=s)}\n" for i, s in enumerate(TABLE_SEQUENCES[:n]))
    return {"library.csv": "id,sequence\n" + rows}


EARLY_CASES = [
    ("library-with-both-flanks",
     library_of(UP + "{s}" + DOWN, 5),
     {}, "library.csv: 5 of 5 designs (the first 'v0') hold construct.upstream_flank and "
     "construct.downstream_flank at their end"),
    ("library-with-the-downstream-flank",
     library_of("{s}" + DOWN, 3),
     {}, "3 of 3 designs (the first 'v0') hold construct.downstream_flank at their end"),
    ("classification-of-a-plate-run", {}, {"model": {"task": "classification"}},
     "key 'model.task': classification needs labels of 0 and 1, and a plate run's labels are "
     "log2 fluorescence ratios"),
    ("classification-of-a-simulated-plate-run", {},
     {"source": "simulate", "simulate": {"level": "run"}, "model": {"task": "classification"}},
     "key 'model.task': classification needs labels of 0 and 1"),
    ("max-length-below-the-library", {}, {"encode": {"max_length": 20}},
     "key 'encode.max_length' (20) is below the library's longest design, 'v1' of 28 nt in "
     "library.csv"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "config", "expect"), [c[1:] for c in EARLY_CASES], ids=[c[0] for c in EARLY_CASES]
)
def test_what_stopped_six_jobs_in_stops_before_any_job(
    tmp_path: Path, files: dict, config: dict, expect: str, capsys, monkeypatch
) -> None:
    experiment(tmp_path, files, config)
    assert_one_line(*run_cli(tmp_path, ["check-config"], capsys, monkeypatch), expect)


def test_a_long_library_passes_when_truncation_is_asked(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    experiment(tmp_path, config={"encode": {"max_length": 20, "truncate": True}})
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0


def test_a_design_that_happens_to_start_like_the_flank_passes(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    library = "id,sequence\nv1,{UP}ACGTACGTTT\nv2,ACGTACGTAAGG\nv3,TTTGGGCCCAAA\n".replace(
        "{UP}", UP
    )
    experiment(tmp_path, {"library.csv": library})
    assert run_cli(tmp_path, ["check-config"], capsys, monkeypatch)[0] == 0


# --------------------------------------------------------------------------------------------
# A full disk


def full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def demux_outputs(workdir: Path) -> list[str]:
    return (
        sorted(p.name for p in (workdir / DEMUX_OUT).glob("*"))
        if (workdir / DEMUX_OUT).exists()
        else []
    )


@pytest.mark.parametrize("when", ["funnel", "counts", "reads"])
def test_a_full_disk_in_demux_is_one_line_and_leaves_nothing(
    when: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    from utrflow.reads import demux
    from utrflow.reads.demux import stage

    experiment(tmp_path)
    status, _ = run_cli(tmp_path, [*DEMUX, "--out-dir", "clean"], capsys, monkeypatch)
    assert status == 0
    with monkeypatch.context() as patch:
        if when == "funnel":  # after assignments and regions are in place
            patch.setattr(stage, "write_json", full_disk)
        elif when == "counts":
            patch.setattr(stage, "write_rows", full_disk)
        else:  # while the reads stream out
            patch.setattr(demux.GroupTally, "add", full_disk)
        status, lines = run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)
    assert_one_line(status, lines, "results/demux/P1: no space left on the device")
    assert demux_outputs(tmp_path) == []  # nothing half-written, nothing that looks finished
    # space freed: the rerun gives what a clean run gives
    assert run_cli(tmp_path, [*DEMUX, "--out-dir", DEMUX_OUT], capsys, monkeypatch)[0] == 0
    for name in ("assignments.tsv.gz", "regions.tsv.gz", "well_counts.tsv"):
        written = (tmp_path / DEMUX_OUT / name).read_bytes()
        assert written == (tmp_path / "clean" / name).read_bytes()


def test_a_full_disk_in_any_stage_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    from utrflow import labelled

    experiment(tmp_path, {"lab.csv": TABLE})
    monkeypatch.setattr(labelled.io, "write_tsv", full_disk)
    status, lines = run_cli(
        tmp_path, ["import-table", "--input", "lab.csv", "--labelled", "l.tsv"], capsys, monkeypatch
    )
    assert_one_line(status, lines, "import-table: no space left on the device")


# --------------------------------------------------------------------------------------------
# A design nothing can meet


def test_design_constraints_nothing_meets_refuse_the_design_not_the_run(tmp_path: Path) -> None:
    from utrflow import config
    from utrflow.design.next_library.stage import run_design
    from utrflow.model.network import Scaler, build_network, export, layer_specs

    cfg = config.validate(
        {"model": {"conv_filters": [2], "dense_units": 0},
         "design": {"n_designs": 4, "steps": 5, "force": True, "gc_min": 0.95, "gc_max": 1.0}}
    )  # fmt: skip
    member = export(
        build_network(12, layer_specs(cfg["model"]), "regression"), Scaler(0.0, 1.0), "regression"
    )
    member.save(tmp_path / "m.keras")
    table = pd.DataFrame(
        {
            "plate": "",
            "well": "",
            "sequence": TABLE_SEQUENCES,
            "variant_id": "",
            "match": "",
            "label": np.arange(40) % 7,
            "qc": "pass",
        }
    )  # fmt: skip  (every sequence GATTACA...: GC far below 0.95)
    table.to_csv(tmp_path / "labelled.tsv", sep="\t", index=False)
    outputs = (tmp_path / "next.csv", tmp_path / "order.csv", tmp_path / "summary.json")
    metrics = {"validation": {"r2": 0.9, "rmse": 0.5, "n": 200}}
    model = tmp_path / "m.keras"
    summary = run_design(cfg, tmp_path / "labelled.tsv", model, [model], metrics, outputs)
    assert summary["status"] == "not_run" and summary["designed"] == 0
    assert "no measured sequence meets the design constraints" in summary["reason"]
    assert json.loads(outputs[2].read_text())["status"] == "not_run"
    assert pd.read_csv(outputs[0]).empty  # the report still has its inputs
