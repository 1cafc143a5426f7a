"""The start-up checks of `source: reads`: every sheet, every reads file's first record, every
barcode set and every reader file, read before any job starts, so a bad row stops the run with
one line, not a job hours in.

They tie the stages' inputs together (a plate's wells, its reads files, its reader file), so they
live here, above both `utrflow.reads` and `utrflow.plates`, which stay independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from utrflow import config as config_module
from utrflow import sheets
from utrflow.errors import InputError
from utrflow.plates import reader as fluorescence
from utrflow.plates.ties import check_ties
from utrflow.reads import barcodes
from utrflow.reads.files import check_overlap
from utrflow.reads.library_checks import check_library
from utrflow.sheets import ReadGroup, Row


def check_every_plate_has_wells(
    plates: Iterable[Mapping[str, Any]],
    wells: Iterable[Mapping[str, Any]],
    plates_path: str | Path,
    wells_path: str | Path,
) -> None:
    """A plate without rows in the wells sheet would fail its demultiplexing job: stop now."""
    listed = {row["plate"] for row in wells}
    for i, row in enumerate(plates):
        name = row["plate"]
        if name not in listed:
            raise InputError(
                f"{plates_path}: row {i + 2}: plate {name!r} has no rows in the wells sheet "
                f"{wells_path}"
            )


def check_reads_files(groups: list[ReadGroup]) -> list[str]:
    """Open every reads file and parse its first record, so a file that is not reads or is
    broken from the start stops the run now, not hours in, as does one file reaching two
    places of the run (two names of one file, a copy, a file concatenated with itself: every
    read would count twice); returns a warning per file without reads (valid: a barcode that
    sequenced nothing, whose wells end as `no_reads`)."""
    places = {
        path: f"plate(s) {', '.join(group.plates)}" for group in groups for path in group.files
    }
    firsts = check_overlap(places)
    return [
        f"{path}: the reads file holds no reads; {places[path]} get none from it"
        for path, first in firsts.items()
        if first is None
    ]


def check_readers(
    plates: Iterable[Mapping[str, Any]],
    wells: list[Row],
    settings: Mapping[str, Any],
    base_dir: Path,
) -> dict[str, str]:
    """Parse and normalize every plate's reader file once, up front, so a missing channel, text
    in a number column or a file of another plate format stops the run before any job; returns
    plate -> reader file for the plates that have one."""
    readers = {row["plate"]: row["fluorescence"] for row in plates if row["fluorescence"]}
    if not readers:
        return {}
    chosen = config_module.settings_from(fluorescence.FluorescenceSettings, settings)
    layout = pd.DataFrame(wells)
    blocks = {row["plate"]: row["reader_plate"] for row in plates}
    names = [row["plate"] for row in plates]
    instruments = {row["plate"]: row["instrument"] for row in plates}
    ties = {plate: (base_dir / path, blocks[plate]) for plate, path in readers.items()}
    check_ties(ties, names, instruments=instruments)
    for plate, reader in readers.items():
        fluorescence.load_plate(plate, layout, base_dir / reader, chosen, blocks[plate])
    return readers


def load_reads_setup(
    config: Mapping[str, Any], base_dir: Path | None = None, source: str = "config"
) -> dict[str, Any]:
    """Every sheet of `source: reads`, checked, as the Snakefile needs them."""
    base = base_dir or Path.cwd()
    for key in ("plates", "wells"):
        if not config[key]:
            raise InputError(f"{source}: key '{key}' must name a file when source is 'reads'")
    construct = sheets.load_construct(config["construct"], source)
    plates = sheets.load_plates(base / config["plates"], base, config["demux"]["include_failed"])
    wells = sheets.load_wells(base / config["wells"], [row["plate"] for row in plates])
    check_every_plate_has_wells(plates, wells, base / config["plates"], config["wells"])
    groups = sheets.read_groups(plates, str(config["plates"]))
    empty = check_reads_files(groups)
    for group in groups:
        barcodes.check_group_barcodes(
            wells, group, config["demux"]["min_barcode_set_distance"], str(config["wells"])
        )
    library = sheets.load_library(base / config["library"]) if config["library"] else None
    if library:
        check_library(library, config, config["library"], source)
    readers = check_readers(plates, wells, config["fluorescence"], base)
    return {
        "construct": construct,
        "plates": plates,
        "wells": wells,
        "groups": groups,
        "library": library,
        "readers": readers,
        "reader_plates": {row["plate"]: row["reader_plate"] for row in plates},
        "warnings": empty,
    }
