"""End to end from nanopore reads: simulated plates through every stage, a new plate that
reruns only its jobs, and sheet errors that stop before any job."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_workflow, write_config
from workflow_checks import (
    MODEL_JOBS,
    MODEL_JOBS_PLANNED,
    check_contract,
    jobs_planned,
    jobs_run,
    reads_config,
)


@pytest.mark.slow
def test_reads_to_the_model_and_a_new_plate_reruns_only_its_jobs(tmp_path):
    from utrflow.simulate.run import simulate_run
    from utrflow.simulate.run_settings import RunSimulation

    run = tmp_path / "run"
    simulate_run(
        RunSimulation(
            # 25 reads per well: wells with fewer than 7 regions can't rule out a second
            # colony (purity_unproven), and the negative binomial leaves some at any mean
            n_variants=400,
            n_plates=3,
            reads_per_well_mean=25,
            seed=2,
            reader_format="grid",
        ),
        run,
    )
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    wells = pd.read_csv(run / "wells.tsv", sep="\t")
    # paths in plates.tsv are relative to the working directory: make them so
    for column in ("reads", "fluorescence"):
        plates[column] = plates[column].map(lambda p: str(Path(p).relative_to(tmp_path)))
    plates.loc[1, "fluorescence"] = None  # a plate not read yet: sequences only
    plates.iloc[:2].to_csv(run / "plates.tsv", sep="\t", index=False)
    wells[wells["plate"] != "P03"].to_csv(run / "wells.tsv", sep="\t", index=False)
    write_config(tmp_path, reads_config(run))

    first = run_workflow(tmp_path)
    assert first.returncode == 0, first.stderr
    for plate in ("P01", "P02"):
        table = pd.read_csv(tmp_path / f"results/consensus/{plate}.tsv", sep="\t")
        assert len(table) == 96 and table["qc"].eq("pass").mean() > 0.8
        assert table.loc[table["qc"] == "pass", "match"].isin(["exact", "synthesis_variant"]).all()
        funnel = json.loads((tmp_path / f"results/demux/{plate}/funnel.json").read_text())
        assert funnel["status"]["assigned"] == table["n_reads"].sum()
    labelled = check_contract(tmp_path)
    table = pd.read_csv(tmp_path / "results/table/labelled.tsv", sep="\t", keep_default_na=False)
    assert len(table) == 192
    by_plate = table.groupby("plate")["qc"]
    assert by_plate.apply(lambda q: (q == "pass").mean())["P01"] > 0.8
    assert set(by_plate.get_group("P02")) <= {
        "no_fluorescence",
        "blank",
        "no_reads",
        "low_reads",
        "mixed",
        "variant_unconfirmed",
        "sequence_unconfirmed",
        "purity_unproven",
    }
    assert table.loc[table["role"] == "blank", "qc"].eq("blank").all()
    assert labelled["test"]["n"] > 0
    summary = json.loads((tmp_path / "results/table/summary.json").read_text())
    assert sum(summary["qc"].values()) == 192
    report = (tmp_path / "results/report/report.html").read_text()
    assert '<section id="plates">' in report and report.count('data-plate="') == 2
    for figure in ("Demultiplexing funnel", "Read length and quality", "Purity and library match"):
        assert f'alt="{figure}"' in report
    assert "<code>n_regions</code>, those of them whose" in report  # the calls say which count

    # The third plate arrives: its rows join the sheets, and only its jobs and the gathers run.
    plates.to_csv(run / "plates.tsv", sep="\t", index=False)
    wells.to_csv(run / "wells.tsv", sep="\t", index=False)
    per_plate = {"demux": 1, "consensus": 1, "link": 1}  # link reads the new reader file
    # the construct is checked again on a sample of every reads file, the new one's included
    reruns = {"all": 1, "construct_check": 1, **per_plate}
    assert jobs_planned(tmp_path) == {**reruns, **MODEL_JOBS_PLANNED}
    second = run_workflow(tmp_path)
    assert second.returncode == 0, second.stderr
    assert jobs_run(second.stderr) == {**reruns, **MODEL_JOBS}
    assert (tmp_path / "results/consensus/P03.tsv").is_file()
    assert jobs_planned(tmp_path) == {}

    # Plate centring is the gather's setting: the per-plate jobs stay as they are.
    config = reads_config(run)
    config["fluorescence"] = {"plate_centering": "median"}
    write_config(tmp_path, config)
    assert jobs_planned(tmp_path) == {"all": 1, "link": 1, **MODEL_JOBS_PLANNED}
    write_config(tmp_path, reads_config(run))

    # Editing one row of P01 reruns P01's jobs only, and the gathers after them.
    wells.loc[0, "role"] = "control"
    wells.to_csv(run / "wells.tsv", sep="\t", index=False)
    assert jobs_planned(tmp_path) == {"all": 1, **per_plate, **MODEL_JOBS_PLANNED}


def test_reads_sheet_errors_stop_before_any_job(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "construct.yaml").write_text("fwd_primer: ACGTACGTAC\nrev_primer: TTGGCCAATT\n")
    (run / "plates.tsv").write_text("plate\treads\nP1\treads/*.fastq.gz\n")
    (run / "wells.tsv").write_text("plate\twell\tfwd_barcode\nP1\tA1\tACGT\n")
    (run / "library.csv").write_text("id,sequence\nv1,ACGT\n")
    write_config(tmp_path, reads_config(run))
    result = run_workflow(tmp_path, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("utrflow: error:")]
    assert len(lines) == 1
    assert (
        "plates.tsv: row 2 (plate P1): reads pattern 'reads/*.fastq.gz' matches no file" in lines[0]
    )
    assert not (tmp_path / "results").exists()
