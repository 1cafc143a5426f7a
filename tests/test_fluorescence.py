"""Plate-reader files: tidy and grid layouts, overflow words, normalization, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utrflow import config
from utrflow.errors import InputError
from utrflow.geometry import well_names
from utrflow.plates.reader import (
    FluorescenceSettings,
    channel_values,
    check_reader_wells,
    load_plate,
    normalize_plate,
    parse_reader,
)
from utrflow.simulate.reader import grid_text


def reader_frame(plate_format: int = 96, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    wells = well_names(plate_format)
    return pd.DataFrame(
        {
            "well": wells,
            "gfp": rng.integers(300, 60000, size=len(wells)),
            "od600": np.round(rng.uniform(0.04, 1.0, size=len(wells)), 4),
        }
    )


@pytest.mark.parametrize("plate_format", [96, 384])
def test_tidy_and_grid_exports_read_the_same(tmp_path: Path, plate_format: int) -> None:
    frame = reader_frame(plate_format)
    tidy, grid = tmp_path / "tidy.csv", tmp_path / "grid.csv"
    frame.to_csv(tidy, index=False)
    grid.write_text(grid_text(frame, plate_format, ("gfp", "od600")))
    for path in (tidy, grid):
        readings = parse_reader(path)
        assert set(readings) == {"gfp", "od600"}
        for channel in ("gfp", "od600"):
            values, saturated = channel_values(readings, channel, frame["well"], path, 0)
            np.testing.assert_allclose(values, frame[channel].to_numpy())
            assert not saturated.any()


def test_excel_quirks_are_forgiven(tmp_path: Path) -> None:
    """BOM, CRLF, semicolons with decimal commas, 'A01' well names, a channel title in the
    header cell of its grid, and an extra text column in a tidy file."""
    path = tmp_path / "reader.csv"
    rows = ["Well;GFP;OD600;Content", "A01;1200;0,512;Sample X1", "a2;900;0,250;Blank B"]
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    readings = parse_reader(path)
    values, _ = channel_values(readings, "od600", ["A1", "A2"], path, 0)
    np.testing.assert_allclose(values, [0.512, 0.25])
    grid = tmp_path / "grid.tsv"
    frame = reader_frame()
    lines = ["Plate 1 read 2026-11-23", "GFP:485,528\t" + "\t".join(str(c) for c in range(1, 13))]
    for r, letter in enumerate("ABCDEFGH"):
        lines.append("\t".join([letter, *map(str, frame["gfp"].iloc[r * 12 : r * 12 + 12])]))
    grid.write_text("\n".join(lines) + "\n")
    values, _ = channel_values(parse_reader(grid), "GFP:485,528", frame["well"], grid, 0)
    np.testing.assert_allclose(values, frame["gfp"].to_numpy())


def test_overflow_words_and_the_detector_maximum_are_saturated(tmp_path: Path) -> None:
    path = tmp_path / "reader.csv"
    path.write_text("well,gfp\nA1,OVRFLW\nA2,OVER\nA3,>65000\nA4,65535\nA5,1000\nA6,\n")
    wells = ["A1", "A2", "A3", "A4", "A5", "A6"]
    values, saturated = channel_values(parse_reader(path), "gfp", wells, path, 65535)
    assert saturated.tolist() == [True, True, True, True, False, False]
    assert np.isnan(values[[0, 1, 2, 5]]).all() and values[4] == 1000
    _, only_words = channel_values(parse_reader(path), "gfp", wells, path, 0)
    assert only_words.tolist() == [True, True, True, False, False, False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("well,gfp\nA1,12x\n", "reader.csv: line 2: well A1, channel 'gfp': '12x' is not a number"),
        ("well,gfp\nQ1,5\n", "reader.csv: line 2: 'Q1' is not a well name"),
        ("well,gfp\nA1,5\nA01,6\n", "reader.csv: line 3: well A1 already read on line 2"),
        ("sample,gfp\nx,5\n", "neither a tidy table (a 'well' column) nor plate grids"),
        ("", "reader.csv: the plate-reader file is empty"),
        ("well,od600\nA1,0.5\n", "reader.csv: no channel 'gfp' (has: od600)"),
        (
            "gfp\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,4,5,6,7,8,9,10,11,12\nC,1\n",
            "reader.csv: line 4: grid 'gfp' expects row B, found 'C'",
        ),
    ],
)
def test_bad_reader_files_stop_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "reader.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        readings = parse_reader(path)
        channel_values(readings, "gfp", ["A1"], path, 0)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_layout_wells_missing_from_the_reader_stop_and_extra_ones_are_listed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "reader.csv"
    path.write_text("well,gfp\nA1,5\nA2,6\nB1,7\n")
    readings = parse_reader(path)
    assert check_reader_wells(readings, ["A1", "B1"], path) == ["A2"]
    with pytest.raises(InputError, match=r"missing from the plate-reader file: C3, D4"):
        check_reader_wells(readings, ["A1", "C3", "D4"], path)


def layout(roles: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"plate": "P1", "well": well_names(96)[: len(roles)], "role": roles})


def test_blank_subtraction_od_division_and_log2_known_answer(tmp_path: Path) -> None:
    wells = layout(["blank", "blank", "blank", "sample", "sample", "sample", "sample"])
    path = tmp_path / "reader.csv"
    gfp = [100, 110, 5000, 1100, 2100, 90, 4100]  # the third blank is an outlier: median wins
    od = [0.05, 0.05, 0.06, 0.55, 0.30, 0.50, 0.06]
    pd.DataFrame({"well": wells["well"], "gfp": gfp, "od600": od}).to_csv(path, index=False)
    table = normalize_plate("P1", wells, parse_reader(path), FluorescenceSettings(), path)
    assert table["blank_signal"].iloc[0] == 110 and table["blank_normalizer"].iloc[0] == 0.05
    sample = table.iloc[3:]
    np.testing.assert_allclose(sample["signal"].iloc[:2], [990 / 0.5, 1990 / 0.25])
    np.testing.assert_allclose(sample["label"].iloc[:2], np.log2([1980, 7960]))
    assert sample["flags"].tolist() == ["", "", "nonpositive", "low_od"]
    assert np.isnan(sample["label"].iloc[2])  # no label below the blank
    linear = normalize_plate(
        "P1",
        wells,
        parse_reader(path),
        FluorescenceSettings(log2=False, blank_subtract=False),
        path,
    )
    assert linear["label"].iloc[3] == pytest.approx(1100 / 0.55)


def test_a_plate_without_blanks_or_normalizer_still_gets_labels(tmp_path: Path) -> None:
    wells = layout(["sample", "sample"])
    path = tmp_path / "reader.csv"
    path.write_text("well,gfp\nA1,64\nA2,OVRFLW\n")
    settings = FluorescenceSettings(normalize_by="")
    table, unlisted = load_plate("P1", wells, path, settings)
    assert unlisted == []
    assert table["label"].iloc[0] == 6.0 and table["flags"].tolist() == ["", "saturated"]


def test_schema_defaults_match_the_settings_class() -> None:
    from dataclasses import fields

    defaults = config.validate({})["fluorescence"]
    for f in fields(FluorescenceSettings):
        assert defaults[f.name] == f.default, f.name
