"""The report rendered in-process on small made-up runs: after any stage (QC only, the model not
run and why, the whole run), every well in one table, every plate drawn, legible figures and
honest claims; the model stage's go/no-go on a pilot plate's table."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

from utrflow import config as config_module
from utrflow.model import readiness
from utrflow.report import claims, provenance, render
from utrflow.report.figures import DPI, MIN_FONT_PT

rng = np.random.default_rng(5)
CONFIG = config_module.validate({"source": "simulate"}, source="test")
LEGIBLE_PX = MIN_FONT_PT * DPI / 72  # the smallest text a figure may hold, in image pixels


def base4(i: int, digits: int = 6) -> str:
    """A distinct sequence per number: its base-4 digits as bases."""
    return "".join("ACGT"[(i // 4**d) % 4] for d in range(digits))


def plate_table(n_plates: int, distinct: int, qc_fail_every: int = 5) -> pd.DataFrame:
    """n_plates 96-well plates; `distinct` sequences among the passing wells; every
    `qc_fail_every`-th well mixed (with a second reason) or without reads."""
    rows = []
    for p in range(n_plates):
        for i in range(96):
            well = f"{'ABCDEFGH'[i // 12]}{i % 12 + 1}"
            k = p * 96 + i
            fail = k % qc_fail_every == 0
            qc = ("mixed" if k % 2 else "no_reads") if fail else "pass"
            rows.append(
                {
                    "plate": f"P{p + 1:02d}", "well": well,
                    "sequence": "ACGTACGTAC" + base4(k % distinct),
                    "variant_id": f"v{k % distinct}", "match": "exact",
                    "n_reads": 0 if qc == "no_reads" else 10 + k % 7, "n_regions": 9,
                    "purity": 0.6 if qc == "mixed" else 1.0, "signal": 1000.0 + 37 * k,
                    "label": 10 + (k % 13) / 3, "qc": qc, "role": "sample",
                    "qc_detail": "mixed;low_reads" if qc == "mixed" else qc if fail else "",
                    "allele2": "TTGACA" * 8 if qc == "mixed" else "",
                    "allele2_reads": 4 if qc == "mixed" else 0,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def plate_qc(table: pd.DataFrame) -> pd.DataFrame:
    """The per-plate QC the link stage writes, enough of it for the report."""
    counts = table.groupby(["plate", "qc"]).size().unstack(fill_value=0)
    out = pd.DataFrame({"plate": counts.index, "wells": counts.sum(axis=1).to_numpy()})
    from utrflow.labelled import QC_REASONS

    for q in ("pass", *QC_REASONS):
        out[q] = counts[q].to_numpy() if q in counts else 0
    out["median_reads"] = 10
    out["flag"] = ""
    return out


def made_up_model(n_test: int = 18) -> render.ModelInputs:
    """A finished model stage on made-up numbers: a mean of a CNN and a baseline, a small test
    set."""
    n = 150
    split = ["train"] * (n - 2 * n_test) + ["validation"] * n_test + ["test"] * n_test
    labels = rng.normal(12, 1, n)
    predicted = labels + rng.normal(0, 0.5, n)
    frame = pd.DataFrame({"sequence": [f"S{i}" for i in range(n)], "split": split,
                          "label": labels, "prediction": predicted})  # fmt: skip
    scores = {"n": n_test, "pearson_r": 0.8, "r2": 0.64, "r2_score": 0.6, "spearman": 0.78,
              "rmse": 0.5}  # fmt: skip
    metrics = {
        "test": scores, "validation": scores,
        "baselines": {"gbt_kmer": {"description": "boosted trees on k-mer counts",
                                   "test": {**scores, "r2": 0.5}}},
        "selection": {"selected": "mean_top2", "kind": "ensemble",
                      "averages": ["seed", "gbt_kmer"], "baseline_won": False},
        "noise_ceiling": {"r2": {"validation": 0.964, "test": 0.964}, "ci95": [0.63, 0.98],
                          "source": "replicate wells", "test_fraction_reached": 0.66},
    }  # fmt: skip
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [1.0, 0.6, 0.5],
                            "val_loss": [1.1, 0.8, 0.7]})  # fmt: skip
    training = {"best_epoch": 3, "preset": "auto", "device": "cpu", "backend": "tensorflow",
                "parameters": 1000, "epochs_run": 3, "n_train": n - 2 * n_test,
                "n_validation": n_test, "input_length": 30}  # fmt: skip
    interpretation = {"kernel": 8, "filters_with_motif": 1, "filters_total": 2, "rows_scanned": 9,
                      "planted": {"SD": {"motif": "AGGAGG", "filter": 1, "consensus": "AGGAGG",
                                         "similarity": 0.9, "recovered": True}}}  # fmt: skip
    return render.ModelInputs(frame[["sequence", "split", "label"]], metrics, frame, history,
                              training, interpretation=interpretation)  # fmt: skip


def rendered(table: pd.DataFrame, **extra) -> str:
    summary = {"qc": table["qc"].value_counts().to_dict(),
               "noise_ceiling": {"r2": None, "reason": "no replicate wells"}}  # fmt: skip
    inputs = render.ReportInputs(
        config=copy.deepcopy(CONFIG),
        table=table,
        plate_qc=plate_qc(table),
        table_summary=summary,
        **extra,
    )
    return render.render(inputs)


def test_a_pilot_plate_too_small_to_train_is_not_run_with_the_wells_it_needs() -> None:
    table = plate_table(1, distinct=8)
    status = readiness.status(table, CONFIG, source="labelled.tsv")
    assert status["status"] == "not_run"
    assert status["distinct_passing"] == 8 and status["needed"] == 20  # 2 / 0.1 for the test
    assert status["reason"].startswith("8 distinct passing sequences; about 20 are needed")
    # 8 distinct sequences in 96 sample wells: 12 more need about 12 / (8 / 96) = 144 wells
    assert status["advice"].startswith("measure about 144 more wells")
    assert readiness.status(plate_table(1, distinct=60), CONFIG, "t")["status"] == "ok"
    dark = table.assign(qc="no_fluorescence")
    assert "plate-reader" in readiness.status(dark, CONFIG, "t")["advice"]


def test_the_report_after_qc_only_and_with_the_model_not_run() -> None:
    table = plate_table(2, distinct=8)
    qc_only = rendered(table)
    assert "QC only" in qc_only and 'id="metrics"' not in qc_only
    status = readiness.status(table, CONFIG, source="labelled.tsv")
    html = rendered(table, model_status=status)
    assert "The model did not run:</b> 8 distinct passing sequences; about 20" in html
    assert "What would let it run:</b> measure about" in html
    assert 'id="wells"' in html and 'id="plates"' in html and 'id="provenance"' in html
    assert_the_links_follow_the_sections(html)


def assert_the_links_follow_the_sections(html: str) -> None:
    """The page's links lead to sections there, in the page's order (Wells came before Data)."""
    nav = html[html.index("<nav>") : html.index("</nav>")]
    links, sections = (
        re.findall(r'href="#([\w-]+)"', nav),
        re.findall(r'<section id="([\w-]+)"', html),
    )
    assert links == [s for s in sections if s in links] and set(links) <= set(sections)
    assert "</a>\n" not in nav.strip()  # one row of links, evenly spaced (a line break added a gap)


def test_every_well_is_in_one_table_and_every_plate_is_drawn_on_one_scale() -> None:
    table = plate_table(24, distinct=300)
    html = rendered(table)
    body = html[html.index('id="wells-table"') :]
    assert body.count("<tr data-reasons=") == 24 * 96
    assert '<th data-numeric="0">allele 2</th>' in body  # the second allele, when called
    assert f'<td class="seq">{"TTGACA" * 8}</td>' in body
    assert html.count('data-plate="') == 24  # every plate, not the first twelve
    assert len(re.findall(r'<div class="w" data-key="P\d\d:[A-H]\d+" title="', html)) == 24 * 96
    # a mixed well's hover text names both its reasons; the counts count each reason
    assert re.search(r'title="P01 B4 · variant v15 · qc: mixed, low_reads · reads 11', html)
    mixed = int((table["qc"] == "mixed").sum())
    assert f'data-reason="low_reads">low_reads <b>{mixed}</b>' in html
    # one scale for reads across all plates: a single legend, with the run's range
    assert html.count("reads per well (log10), one scale for every plate") == 1
    assert "<script>" in html and not re.search(r"(src|href)=\"(https?:)?//", html)


def test_honest_claims_name_the_mean_and_give_intervals_on_a_small_test_set() -> None:
    table = plate_table(1, distinct=60)
    html = rendered(table, model=made_up_model(n_test=18))
    name = "mean of seed (CNN) + gbt_kmer (baseline: boosted trees on k-mer counts)"
    assert f"Model: <b>{name}</b>" in html
    assert "95 % CI 0.63–0.98" in html  # the ceiling carries its interval
    assert html.count("95 % CI") >= 5  # r², R², Spearman, the ceiling, the metric rows
    # 18 test rows: no claim of a recovered motif
    assert "<td>unreliable</td>" in html and "No claim of what the model learned" in html
    trusted = rendered(table, model=made_up_model(n_test=60))
    assert "<td>yes</td>" in trusted and "unreliable" not in trusted


@pytest.mark.parametrize("n_test", [18])
def test_every_figure_keeps_its_text_legible(n_test: int) -> None:
    html = rendered(plate_table(3, distinct=60), model=made_up_model(n_test))
    fonts = [float(v) for v in re.findall(r'data-font-px="([\d.]+)"', html)]
    assert len(fonts) == html.count('<img class="fig"') >= 6
    assert min(fonts) >= LEGIBLE_PX - 0.01


def test_correlation_intervals_are_fishers() -> None:
    low, high = claims.correlation_interval(0.5, 28)  # z = 0.549 ± 1.96 / 5
    assert low == pytest.approx(0.1557, abs=1e-3) and high == pytest.approx(0.7361, abs=1e-3)
    assert claims.squared_interval(0.25, 28) == pytest.approx((0.1557**2, 0.7361**2), abs=1e-3)
    assert claims.squared_interval(0.01, 10)[0] == 0.0  # r's interval spans 0
    assert claims.interval_for({"n": 150, "r2": 0.5}, "r2") is None  # enough rows: no interval


def test_the_r2_score_interval_is_a_bootstrap_that_narrows_with_rows() -> None:
    label = np.linspace(0, 1, 20)
    small = claims.r2_score_interval(label, label + rng.normal(0, 0.2, 20))
    large = claims.r2_score_interval(
        np.tile(label, 20), np.tile(label, 20) + rng.normal(0, 0.2, 400)
    )
    assert small[0] < small[1] <= 1.0 and large[0] < large[1] <= 1.0
    assert large[1] - large[0] < (small[1] - small[0]) / 2
    assert claims.r2_score_interval(label, label) == (1.0, 1.0)  # a perfect fit stays perfect
    assert claims.r2_score_interval(np.ones(10), np.ones(10)) is None


def test_run_times_sum_the_jobs_of_a_stage(tmp_path) -> None:
    (tmp_path / "demux").mkdir()
    header = "s\th:m:s\tmax_rss\n"
    (tmp_path / "demux" / "G1.tsv").write_text(header + "2.5\t0:00:02\t100\n")
    (tmp_path / "demux" / "G2.tsv").write_text(header + "1.5\t0:00:01\t300\n")
    (tmp_path / "train_member0.tsv").write_text(header + "10\t0:00:10\t50\n")
    (tmp_path / "train_member1.tsv").write_text(header + "12\t0:00:12\t60\n")
    rows = provenance.run_times(tmp_path)
    assert rows == [
        {"stage": "train", "jobs": 2, "seconds": 22.0, "max_rss": 60.0},
        {"stage": "demux", "jobs": 2, "seconds": 4.0, "max_rss": 300.0},
    ]


def test_the_construct_check_shows_in_a_checks_section() -> None:
    check = {
        "status": "warning",
        "messages": ["the downstream flank was found in 12 % of reads"],
        "elements": [{"name": "downstream_flank", "found_share": 0.12,
                      "reverse_complement_share": 0.05, "median_edits": 3}],
        "proposed": {"upstream_flank": "ACGTAC", "downstream_flank": "ATGAGT"},
    }  # fmt: skip
    html = rendered(plate_table(1, distinct=60), construct_check=check)
    section = html[html.index('<section id="checks">') :]
    section = section[: section.index("</section>")]
    assert "Construct check: warning." in section and "found in 12 % of reads" in section
    assert "<td>12.0 %</td>" in section and "<code>ATGAGT</code>" in section
    assert 'id="checks"' not in rendered(plate_table(1, distinct=60))


def test_a_table_simulated_directly_lists_no_made_up_wells() -> None:
    from utrflow.simulate import table as simulated_table

    made = simulated_table.simulate_table(300, 20, 40, 0.4, seed=3)
    assert made.labelled["plate"].nunique() == 4  # one made-up well per sequence, in order
    inputs = render.ReportInputs(config=copy.deepcopy(CONFIG), table=made.labelled,
                                 simulation=made.summary)  # fmt: skip
    html = render.render(inputs)
    assert not render.has_wells(inputs)
    assert 'id="wells"' not in html and 'href="#wells"' not in html and "data-key=" not in html
    assert "columns only lay the rows out, one per sequence, so no wells are" in html
    assert "<td>wells in the labelled table</td><td>300</td>" in html  # the rows still counted
    assert_the_links_follow_the_sections(html)
    # the same rows from plates (a run without the simulation summary) are listed
    assert render.has_wells(render.ReportInputs(config=CONFIG, table=made.labelled))
