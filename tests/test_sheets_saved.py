"""Sheets as people save them: CSV or TSV whatever the name says, headers in any case and
spacing, a BOM, UTF-16, xlsx; or one line saying what is expected."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from utrflow import sheets
from utrflow.errors import InputError

WELLS = [
    ["plate", "well", "fwd_barcode", "rev_barcode", "role"],
    ["P1", "A1", "ACGTACGTAC", "TTGGCCAATT", "sample"],
    ["P1", "a02", "CATGCATGCA", "TTGGCCAATT", "Blank"],
]
EXPECTED = [
    dict(zip(WELLS[0], ["P1", "A1", "ACGTACGTAC", "TTGGCCAATT", "sample"], strict=True)),
    dict(zip(WELLS[0], ["P1", "A2", "CATGCATGCA", "TTGGCCAATT", "blank"], strict=True)),
]


def text(sep: str, header: list[str] | None = None) -> str:
    rows = [header or WELLS[0], *WELLS[1:]]
    return "".join(sep.join(row) + "\r\n" for row in rows)


SAVED = {
    "csv named .tsv": ("wells.tsv", text(",").encode()),
    "tsv named .csv": ("wells.csv", text("\t").encode()),
    "semicolons (a European Excel)": ("wells.csv", text(";").encode()),
    "headers in any case and spacing": (
        "wells.tsv",
        text("\t", ["Plate", " Well ", "Fwd Barcode", "REV-BARCODE", "Role"]).encode(),
    ),
    "a UTF-8 BOM": ("wells.tsv", codecs.BOM_UTF8 + text("\t").encode()),
    "UTF-16 with its BOM (Excel's Unicode text)": ("wells.txt", text("\t").encode("utf-16")),
    "UTF-16 without a BOM": ("wells.txt", text("\t").encode("utf-16-le")),
}


@pytest.mark.parametrize("case", SAVED, ids=list(SAVED))
def test_sheets_are_read_by_their_content(tmp_path: Path, case: str) -> None:
    name, raw = SAVED[case]
    (tmp_path / name).write_bytes(raw)
    assert sheets.load_wells(tmp_path / name) == EXPECTED


def test_an_xlsx_sheet_is_read_from_its_first_worksheet(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in WELLS:
        sheet.append(row)
    sheet.append([None] * 5)  # a blank row Excel keeps
    book.save(tmp_path / "wells.xlsx")
    assert sheets.load_wells(tmp_path / "wells.xlsx") == EXPECTED


def test_a_numeric_plate_name_in_xlsx_stays_a_whole_number(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["plate", "reads"])
    sheet.append([1, "reads/p1.fastq"])
    book.save(tmp_path / "plates.xlsx")
    (tmp_path / "reads").mkdir()
    (tmp_path / "reads" / "p1.fastq").write_text("@r1\nACGT\n+\nIIII\n")
    (row,) = sheets.load_plates(tmp_path / "plates.xlsx", tmp_path)
    assert row["plate"] == "1"


def test_a_sheet_without_the_columns_says_what_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "wells.tsv"
    path.write_text("plate well barcode\nP1 A1 ACGT\n")  # spaces: no separator at all
    with pytest.raises(InputError) as info:
        sheets.load_wells(path)
    line = str(info.value)
    assert "\n" not in line
    assert "missing column(s) plate, well, fwd_barcode (has: plate_well_barcode)" in line
    assert "tab-, comma- or semicolon-separated text, or xlsx" in line
    assert "naming plate, well, fwd_barcode" in line


def test_a_binary_file_is_not_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "wells.tsv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    with pytest.raises(InputError, match=r"wells\.tsv: not a text table"):
        sheets.load_wells(path)
