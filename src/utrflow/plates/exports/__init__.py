"""Plate-reader export files as instruments write them -> plates, channels, reads, cells.

A reader export is a spreadsheet or text file with metadata around one or more data blocks.
The blocks come in four shapes, and every instrument we read writes some mix of them:

- a tidy table: a `Well` (or `Well positions`) column and one column per channel, optionally a
  `Plate` column and a `Time`/`Cycle` column (Magellan, hand-made tables); or a per-label list
  `Well, Mean, StDev, 1;1, ...` (Tecan i-control multiple reads, SparkControl `Well, Value`);
- an 8x12 or 16x24 grid with rows A..H and columns 1..12 (`01..12`, `1.0..12.0` in xlsx),
  titled by its corner cell, a `Label: ...` line or the line above (i-control, SMART Control,
  EnVision), or with several reads interleaved, each row ending in its label (Gen5);
- wells as columns, one row per read (kinetic: i-control `Cycle Nr., Time [s], Temp. [°C], A1..`,
  Gen5 `Time, T° ..., A1..`), or one row per channel when the row header is `Well`; or reads as
  columns (`Cycle Nr. 1 2 ..`, then a row per well: i-control kinetic sheets);
- SoftMax Pro plate blocks: a `Plate:` line, then rows without letters holding one grid per
  wavelength side by side, one group of rows per read.

Cells are kept as text with where they stood, so a bad value is reported at its cell; numbers
are read later (`parse_number`) with the file's own decimal and thousands separators.
Text files are decoded by their byte-order mark, else UTF-8, else Windows-1252; xlsx through
openpyxl (the first sheet that holds plate data).
"""

from __future__ import annotations

from utrflow.plates.exports.base import Cell, Channel, Export, NumberFormat, Read, wavelengths_of
from utrflow.plates.exports.files import decode, text_rows, workbook_bytes, xlsx_sheets
from utrflow.plates.exports.finder import instrument_of, read_export, scan_rows
from utrflow.plates.exports.numbers import AmbiguousNumber, number_format, parse_number

__all__ = [
    "AmbiguousNumber",
    "Cell",
    "Channel",
    "Export",
    "NumberFormat",
    "Read",
    "decode",
    "instrument_of",
    "number_format",
    "parse_number",
    "read_export",
    "scan_rows",
    "text_rows",
    "wavelengths_of",
    "workbook_bytes",
    "xlsx_sheets",
]
