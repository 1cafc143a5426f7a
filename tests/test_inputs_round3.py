"""Bad input, round 3 (#36): the files and habits of real labs never give a wrong table silently.

Each test feeds one class of input that today's release got wrong without a word: a user path
the shell would split or run, reads whose qualities say nothing, duplex BAMs, MinKNOW's failed
reads, a reader file tied to the wrong plate, a sequence wider than the model, settings that
stopped only after six jobs, a full disk, and user tables as spreadsheets save them. Most run
in-process on the small valid experiment of test_bad_inputs; one slow test runs the workflow.
"""

from __future__ import annotations

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
    READS,
    TABLE,
    TABLE_SEQUENCES,
    experiment,
    run_cli,
)

from utrflow.errors import InputError
from utrflow.labelled import read_user_table
from utrflow.plates import link, reader
from utrflow.reads import sheets
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
