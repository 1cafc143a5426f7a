"""Artefact regions and tandem inserts (#32): reads far shorter than the amplicon's main read
length are left out of the call and counted; of tandem inserts the copy next to the downstream
construct is taken and counted. Known answers on the simulator's recurring short artefacts
(both barcodes, primers and flanks around one made-up insert, no spacers), its tandem inserts,
and on made lengths."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

from utrflow import pipeline
from utrflow.plates.link import join_plate
from utrflow.reads.consensus import regions as regions_module
from utrflow.reads.consensus.regions import WellReads, drop_artefacts, main_length
from utrflow.simulate.reads import ARTEFACT_INSERT, TANDEM_INSERT
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def test_the_main_length_is_the_fullest_mode_and_far_reads_are_left_out() -> None:
    """30 reads near 300 nt, 12 artefacts near 200 and one of 420: the main length is ~300,
    the 12 short reads are left out and counted, the others kept in order with their
    qualities (a longer read may hold tandem inserts); a file without read lengths leaves
    everything in."""
    lengths = [295 + i % 10 for i in range(30)] + [200 + i % 5 for i in range(12)] + [420]
    wells = [WellReads([f"r{i}" for i in range(len(lengths))], ["q"] * len(lengths), lengths)]
    main = main_length(wells)
    assert main is not None and 295 <= main <= 305
    kept, dropped = drop_artefacts(wells[0], main)
    assert dropped == 12
    assert kept.regions == [f"r{i}" for i in [*range(30), 42]] and kept.qualities == ["q"] * 31
    assert main_length([WellReads(["r"] * 40, [""] * 40)]) is None
    assert drop_artefacts(WellReads(["r"], [""]), None) == (WellReads(["r"], [""]), 0)


@pytest.fixture(scope="module")
def artefact_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    run = tmp_path_factory.mktemp("artefacts")
    simulate_run(RunSimulation(n_variants=200, n_plates=1, seed=2, artefact_fraction=0.3), run)
    return run, pipeline.call_wells(run, run, 1).calls


def test_artefact_regions_are_counted_and_kept_out_of_the_calls(
    artefact_run: tuple[Path, pd.DataFrame],
) -> None:
    """Known answer: the regions left out are the artefacts' (their region is the made-up
    insert), nearly all of them and nearly nothing else; every passing well is right."""
    run, calls = artefact_run
    regions = pd.read_csv(run / "demux" / "P01" / "regions.tsv.gz", sep="\t")
    artefact = regions["region"].map(lambda r: Levenshtein.distance(r, ARTEFACT_INSERT) < 15)
    assert 0.2 < artefact.mean() < 0.35  # 30 % of full-length reads
    assert abs(int(calls["artefact_regions"].sum()) - int(artefact.sum())) <= 0.01 * len(regions)
    truth = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    wells = truth.merge(calls, on=["plate", "well"], suffixes=("_true", ""))
    passing = wells[wells["qc"] == "pass"]
    assert len(passing) >= 70
    assert (passing["sequence"] == passing["sequence_true"]).all()


def test_without_the_length_check_artefacts_spoil_calls(
    artefact_run: tuple[Path, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The same reads with nothing left out: the recurring artefact shows as a second allele
    or takes wells' calls (what the check prevents)."""
    run, calls = artefact_run
    monkeypatch.setattr(regions_module, "ARTEFACT_SHARE", 100.0)
    unchecked = pipeline.call_wells(run, tmp_path, 1).calls
    assert int(unchecked["artefact_regions"].sum()) == 0
    spoiled = unchecked["minor_sequence"].str.contains(ARTEFACT_INSERT[5:25], regex=False)
    spoiled |= unchecked["sequence"].str.contains(ARTEFACT_INSERT[5:25], regex=False)
    assert spoiled.sum() >= 5, spoiled.sum()
    assert (unchecked["qc"] == "pass").sum() < (calls["qc"] == "pass").sum()


def test_tandem_inserts_give_the_copy_next_to_the_downstream_construct(tmp_path: Path) -> None:
    """Known answer: a fifth of full-length reads hold a made-up first copy (flank · insert ·
    flank) before their colony's own. Their region is the colony's copy (no region is the
    made-up insert), each is counted in the funnel (`tandem_inserts`), and every passing well
    is right; without tandem reads the count is 0."""
    run = tmp_path / "run"
    simulate_run(RunSimulation(n_variants=200, n_plates=1, seed=4, tandem_fraction=0.2), run)
    calls = pipeline.call_wells(run, tmp_path / "calls", 1).calls
    regions = pd.read_csv(tmp_path / "calls/demux/P01/regions.tsv.gz", sep="\t")
    made_up = regions["region"].map(lambda r: Levenshtein.distance(r, TANDEM_INSERT) < 15)
    assert made_up.sum() == 0
    funnel = json.loads((tmp_path / "calls/demux/P01/funnel.json").read_text())
    truth = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t")
    full = int((truth["kind"] == "full").sum())
    # a fifth of full-length reads, less the few whose flanks errors hid (about 40 % ended as
    # chimeras while the copy was taken at the best downstream flank hit, a later copy's)
    assert 0.15 * full <= funnel["tandem_inserts"] <= 0.2 * full
    assert funnel["status"]["chimera"] <= 0.03 * full
    # each well's share of them, in the consensus table and then labelled.tsv's last columns
    assert int(calls["tandem_inserts"].sum()) == funnel["tandem_inserts"]
    labelled = join_plate(calls, None)
    assert list(labelled.columns[-2:]) == ["artefact_regions", "tandem_inserts"]
    assert labelled["tandem_inserts"].tolist() == calls["tandem_inserts"].tolist()
    wells = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    wells = wells.merge(calls, on=["plate", "well"], suffixes=("_true", ""))
    passing = wells[wells["qc"] == "pass"]
    assert len(passing) >= 75 and (passing["sequence"] == passing["sequence_true"]).all()
    plain = tmp_path / "plain"
    simulate_run(RunSimulation(n_variants=200, n_plates=1, seed=4), plain)
    pipeline.call_wells(plain, tmp_path / "plain_calls", 1)
    assert (
        json.loads((tmp_path / "plain_calls/demux/P01/funnel.json").read_text())["tandem_inserts"]
        == 0
    )
