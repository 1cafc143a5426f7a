"""The package's own tables as plain rows: the reads jobs write and read them without pandas, and
what they write must read back as the DataFrame writer's text would (one format downstream)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from utrflow import io
from utrflow.errors import InputError
from utrflow.reads.consensus import read_plate_regions
from utrflow.reads.demux import REGION_COLUMNS

COLUMNS = ["plate", "well", "n", "purity", "distance", "note"]
ROWS = [
    {"plate": "P1", "well": "A1", "n": 40, "purity": 0.912345678, "distance": 2, "note": ""},
    {"plate": "P1", "well": "A2", "n": 0, "purity": None, "distance": None, "note": 'say "hi"'},
    {"plate": "P1", "well": "A3", "n": 7, "purity": math.nan, "distance": 0, "note": "a\tb"},
    {"plate": "P1", "well": "A4", "n": 3, "purity": 123456789.0, "distance": 11, "note": "x"},
]


def test_plain_rows_are_written_as_the_dataframe_writer_writes_them(tmp_path: Path) -> None:
    io.write_rows(ROWS, COLUMNS, tmp_path / "rows.tsv")
    io.write_tsv(pd.DataFrame(ROWS, columns=COLUMNS), tmp_path / "frame.tsv")
    text = (tmp_path / "rows.tsv").read_text()
    assert text == (tmp_path / "frame.tsv").read_text()
    assert text.splitlines()[1] == "P1\tA1\t40\t0.912346\t2\t"  # 6 significant digits
    back = io.read_rows(tmp_path / "rows.tsv")
    assert [row["note"] for row in back] == ["", 'say "hi"', "a\tb", "x"]
    assert [row["purity"] for row in back] == ["0.912346", "", "", "1.23457e+08"]


def test_a_row_cut_short_is_damage_named_with_how_to_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "well_counts.tsv"
    io.write_rows(ROWS, COLUMNS, path)
    path.write_text(path.read_text()[:-12])  # the last row loses its last cells
    with pytest.raises(InputError, match=r"well_counts\.tsv: damaged or cut short \(line 5"):
        io.read_rows(path)


def regions_file(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    return path


def regions_of(path: Path, *args: Any, **kwargs: Any) -> dict[str, list[str]]:
    """read_plate_regions without the base qualities."""
    wells = read_plate_regions([path], *args, **kwargs)
    return {well: reads.regions for well, reads in wells.items()}


def test_regions_are_read_per_plate_capped_per_well_with_their_flank_ends(tmp_path: Path) -> None:
    """In a file from before the quality column too (six columns)."""
    rows = ["P1\tA1\tr1\tACGT\tgg\tcc", "P2\tA1\tr2\tTTTT\tgg\tcc", "P1\tA1\tr3\tACGA\tgg\tcc"]
    rows += ["P1\tB2\tr4\t\tgg\tcc"]  # a read whose region is empty
    path = regions_file(tmp_path / "regions.tsv.gz", ["\t".join(REGION_COLUMNS[:6]), *rows])
    assert regions_of(path, "P1", 5) == {"A1": ["ACGT", "ACGA"], "B2": [""]}
    assert regions_of(path, "P1", 1, context=True) == {"A1": ["ggACGTcc"], "B2": ["ggcc"]}
    assert regions_of(path, "P3", 5) == {}
    assert read_plate_regions([path], "P1", 5)["A1"].qualities == ["", ""]


def test_a_deep_wells_best_reads_come_first_in_file_order(tmp_path: Path) -> None:
    """With more reads than the consensus sample, the sample's size of best mean quality come
    first (ties to the earlier read), each part in file order; a shallow well, or reads without
    qualities (FASTA), stay as they came."""
    rows = ["P1\tA1\tr1\tAAAA\t\t\t12.0", "P1\tA1\tr2\tCCCC\t\t\t21.5"]
    rows += ["P1\tA1\tr3\tGGGG\t\t\t12.0", "P1\tA1\tr4\tTTTT\t\t\t30.2"]
    rows += ["P1\tB1\tr5\tACAC\t\t\t", "P1\tB1\tr6\tGTGT\t\t\t", "P1\tB1\tr7\tCACA\t\t\t"]
    path = regions_file(tmp_path / "regions.tsv.gz", ["\t".join(REGION_COLUMNS[:7]), *rows])
    regions = regions_of(path, "P1", 10, sample=3)
    assert regions == {"A1": ["AAAA", "CCCC", "TTTT", "GGGG"], "B1": ["ACAC", "GTGT", "CACA"]}
    assert regions_of(path, "P1", 10, sample=2)["A1"] == ["CCCC", "TTTT", "AAAA", "GGGG"]
    assert regions_of(path, "P1", 10, sample=4)["A1"] == ["AAAA", "CCCC", "GGGG", "TTTT"]
    assert regions_of(path, "P1", 10)["A1"] == ["AAAA", "CCCC", "GGGG", "TTTT"]
    # max_reads caps in file order (memory stays flat), before the best are chosen
    assert regions_of(path, "P1", 3, sample=1)["A1"] == ["CCCC", "AAAA", "GGGG"]


def test_base_qualities_follow_their_region_and_its_flank_ends(tmp_path: Path) -> None:
    """region_quality covers left + region + right: with the flank ends kept it comes whole,
    with the region alone it is cut to the region's bases, and it follows the sample's order."""
    rows = ["P1\tA1\tr1\tACGT\tgg\tc\t10.0\t!!ABCD#", "P1\tA1\tr2\tAC\t\t\t30.0\tIJ"]
    path = regions_file(tmp_path / "regions.tsv.gz", ["\t".join(REGION_COLUMNS[:8]), *rows])
    assert read_plate_regions([path], "P1", 5, context=True)["A1"].qualities == ["!!ABCD#", "IJ"]
    # with each read's length (read_length, the last column): the lengths follow their regions
    lengths = [f"{row}\t{n}" for row, n in zip(rows, (250, 90), strict=True)]
    whole = regions_file(tmp_path / "lengths.tsv.gz", ["\t".join(REGION_COLUMNS), *lengths])
    assert read_plate_regions([whole], "P1", 5, sample=1)["A1"].lengths == [90, 250]
    assert read_plate_regions([path], "P1", 5)["A1"].qualities == ["ABCD", "IJ"]
    best = read_plate_regions([path], "P1", 5, sample=1)["A1"]
    assert (best.regions, best.qualities) == (["AC", "ACGT"], ["IJ", "ABCD"])
    plain = read_plate_regions([path], "P1", 5, qualities=False)["A1"]
    assert plain.qualities == ["", ""]


@pytest.mark.parametrize(
    "lines",
    [["plate\twell\tregion"], ["\t".join(REGION_COLUMNS), "P1\tA1\tr1\tACGT"]],
    ids=["another-header", "a-row-short"],
)
def test_a_regions_file_not_as_written_is_damage(tmp_path: Path, lines: list[str]) -> None:
    path = regions_file(tmp_path / "regions.tsv.gz", lines)
    with pytest.raises(InputError, match=r"regions\.tsv\.gz: damaged or cut short"):
        read_plate_regions([path], "P1", 5)
