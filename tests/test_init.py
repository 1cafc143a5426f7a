"""`utrflow init`: a new project folder, then the workflow on it to the labelled table."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SHARED, run_workflow

from utrflow import cli
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def barcode_table(path: Path, fwd: list[str], rev: list[str]) -> Path:
    rows = [("name", "barcode", "end")]
    rows += [(f"F{i + 1}", b, "F") for i, b in enumerate(fwd)]
    rows += [(f"R{j + 1}", b, "R") for j, b in enumerate(rev)]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_init_builds_the_sheets_from_a_barcode_table(tmp_path: Path, capsys) -> None:
    table = barcode_table(
        tmp_path / "barcodes.csv", ["AAAACCCC", "CCCCGGGG"], ["GGGGTTTT", "TTTTAAAA", "ACACACAC"]
    )
    assert cli.main(["init", str(tmp_path / "lab"), "--plates", "2", "--barcodes", str(table)]) == 0
    wells = read_tsv(tmp_path / "lab" / "sheets" / "wells.tsv")
    assert len(wells) == 2 * 2 * 3  # the wells the table covers, on each plate
    assert wells[0] == {
        "plate": "P01",
        "well": "A1",
        "fwd_barcode": "AAAACCCC",
        "rev_barcode": "GGGGTTTT",
        "role": "sample",
    }
    assert wells[5]["well"] == "B3" and wells[5]["fwd_barcode"] == "CCCCGGGG"
    assert wells[5]["rev_barcode"] == "ACACACAC" and wells[-1]["plate"] == "P02"
    plates = read_tsv(tmp_path / "lab" / "sheets" / "plates.tsv")
    assert [p["reads"] for p in plates] == ["reads/P01", "reads/P02"]
    assert (tmp_path / "lab" / "reads" / "P02").is_dir()
    config = yaml.safe_load((tmp_path / "lab" / "config" / "config.yaml").read_text())
    assert config["source"] == "reads" and set(config["construct"]) == {
        "fwd_primer", "rev_primer", "upstream_flank", "downstream_flank"
    }  # fmt: skip
    out = capsys.readouterr().out
    assert "utrflow check-config --config config/config.yaml" in out and "--cores all" in out
    # a second init into the same folder refuses, and says why, in one line
    assert cli.main(["init", str(tmp_path / "lab")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_negative_control_barcodes_make_negative_wells(tmp_path: Path) -> None:
    """nano_tools' barcode table as a lab writes it: six forward and seven reverse barcodes and
    one negative-control barcode for each end (Fn, Rn), marked with role negative."""
    source = SHARED / "data" / "ont_nano_tools_dual20" / "barcodes_dual_index.csv"
    if not source.is_file():
        pytest.skip("shared real data not present")
    rows = [line.split(",") for line in source.read_text().split()]
    table = tmp_path / "barcodes.csv"
    table.write_text("name,barcode,end,role\n" + "".join(
        f"{name},{barcode},{end},{'negative' if name.endswith('n') else ''}\n"
        for name, barcode, end in rows
    ))  # fmt: skip
    assert cli.main(["init", str(tmp_path / "lab"), "--barcodes", str(table)]) == 0
    wells = read_tsv(tmp_path / "lab" / "sheets" / "wells.tsv")
    assert len(wells) == 7 * 8  # F1-F6 and Fn name rows A-G; R1-R6, Rn and R7 columns 1-8
    negative = {w["well"] for w in wells if w["role"] == "negative"}
    assert negative == {f"G{c}" for c in range(1, 9)} | {f"{r}7" for r in "ABCDEFG"}


def test_init_without_barcodes_writes_every_well_to_fill_in(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path / "lab"), "--format", "384"]) == 0
    wells = read_tsv(tmp_path / "lab" / "sheets" / "wells.tsv")
    assert len(wells) == 384 and wells[-1]["well"] == "P24" and wells[-1]["fwd_barcode"] == ""


@pytest.mark.slow
def test_init_then_the_workflow_reaches_the_labelled_table(tmp_path: Path) -> None:
    """A lab's first run, as the README tells it: init a project from the barcode table, put the
    reads and the reader file where it says, mark the blank wells, give the primers; the first
    run stops with the flanks the reads propose, pasted they take it to the labelled table.
    The plate is simulated, so the proposal and the calls can be held to the truth."""
    sim = tmp_path / "sim"
    simulate_run(RunSimulation(n_variants=150, n_plates=1, reads_per_well_mean=12), sim)
    truth = {row["well"]: row for row in read_tsv(sim / "wells.tsv")}
    fwd = [truth[f"{r}1"]["fwd_barcode"] for r in "ABCDEFGH"]
    rev = [truth[f"A{c}"]["rev_barcode"] for c in range(1, 13)]
    lab = tmp_path / "lab"
    assert (
        cli.main(["init", str(lab), "--barcodes", str(barcode_table(tmp_path / "b.csv", fwd, rev))])
        == 0
    )
    shutil.copy(sim / "reads" / "P01.fastq.gz", lab / "reads" / "P01")
    shutil.copy(sim / "reader" / "P01.csv", lab / "reader" / "P01.csv")
    shutil.copy(sim / "library.csv", lab / "sheets" / "library.csv")
    plates = lab / "sheets" / "plates.tsv"
    plates.write_text(plates.read_text().replace("reader/P01.xlsx", "reader/P01.csv"))
    wells = lab / "sheets" / "wells.tsv"
    rows = read_tsv(wells)
    for row in rows:
        row["role"] = truth[row["well"]]["role"]
    with open(wells, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    construct = yaml.safe_load((sim / "construct.yaml").read_text())
    config = lab / "config" / "config.yaml"
    text = config.read_text().replace('library: ""', "library: sheets/library.csv")
    for key in ("fwd_primer", "rev_primer"):  # the lab knows its primers, not yet its flanks
        text = text.replace(f'  {key}: ""', f"  {key}: {construct[key]}", 1)
    config.write_text(text)
    first = run_workflow(lab, "results/table/labelled.tsv")
    assert first.returncode != 0
    (line,) = {x for x in (first.stdout + first.stderr).splitlines() if x.startswith("utrflow:")}
    proposed = dict(pair.split(": ") for pair in line.split("the reads propose ")[1].split(", "))
    assert proposed == {k: construct[k] for k in ("upstream_flank", "downstream_flank")}
    for key, value in proposed.items():  # pasted as the line says
        text = text.replace(f'  {key}: ""', f"  {key}: {value}", 1)
    config.write_text(text)
    run = run_workflow(lab, "results/table/labelled.tsv")
    assert run.returncode == 0, run.stderr[-3000:]
    table = read_tsv(lab / "results" / "table" / "labelled.tsv")
    assert len(table) == 96
    passing = [row for row in table if row["qc"] == "pass"]
    assert len(passing) > 40
    true_variant = {row["well"]: row["variant_id"] for row in read_tsv(sim / "truth_wells.tsv")}
    right = sum(row["variant_id"] == true_variant[row["well"]] for row in passing)
    assert right >= 0.97 * len(passing)
    check = yaml.safe_load((lab / "results" / "qc" / "construct_check.json").read_text())
    assert check["status"] == "ok"
