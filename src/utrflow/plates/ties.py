"""Which plate's readings label which plate: the ties between plates.tsv and the reader files.

A reader file can reach the wrong plate without any single file looking wrong: one file given
for two plates (the second labelled from the first's readings), two plates' files swapped, two
plates taking the same block of one file. Each stops here, before any job, where the file or
the sheet says enough: a file shared by plates must have each plate's block named (plates.tsv
column `reader_plate`, or a block named like the plate), no block may label two plates, and a
file whose metadata names a plate of the sheet (`Plate ID: P2`) may not label another one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from utrflow.errors import InputError
from utrflow.plates.exports import Export, decode, text_rows, xlsx_sheets
from utrflow.plates.workbook import read_plate_export, sheet_plate_names


def squash(text: str) -> str:
    """A plate name as compared: case, spaces, '_' and '-' aside."""
    return "".join(c for c in text.lower() if c.isalnum() or c == ".")


@dataclass(frozen=True)
class Tie:
    """A plate's reader file, the block it reads, and how that block was chosen: 'reader_plate'
    (the sheet names it), 'name' (the block is named like the plate) or 'only' (the file holds
    one plate)."""

    plate: str
    path: Path
    block: str
    how: str


def choose_block(export: Export, path: Path, wanted: str, plate: str) -> Tie:
    """The file's plate for `wanted` (a name or 1-based number from `reader_plate`), else the
    one named like the layout's plate, else the only one."""
    names = list(export.plates)
    shown = ", ".join(repr(n) if n else "(unnamed)" for n in names)
    if wanted:
        by_name = [n for n in names if squash(n) == squash(wanted)]
        if by_name:
            return Tie(plate, path, by_name[0], "reader_plate")
        if wanted.isdigit() and 1 <= int(wanted) <= len(names):
            return Tie(plate, path, names[int(wanted) - 1], "reader_plate")
        raise InputError(f"{path}: no plate {wanted!r} in the reader file (has: {shown})")
    by_name = [n for n in names if plate and squash(n) == squash(plate)]
    if by_name:
        return Tie(plate, path, by_name[0], "name")
    if len(names) == 1:
        return Tie(plate, path, names[0], "only")
    raise InputError(
        f"{path}: the reader file holds {len(names)} plates ({shown}) and none is named "
        f"{plate!r}; name the block in plates.tsv column reader_plate (a name or a number)"
    )


def _identity(path: Path) -> str:
    """One file, whatever name reaches it."""
    return str(path.resolve())


def check_ties(
    readers: Mapping[str, tuple[Path, str]],
    plates: Sequence[str],
    exports: Mapping[str, Export] | None = None,
    instruments: Mapping[str, str] | None = None,
) -> list[Tie]:
    """Every plate's tie to its reader file (`readers`: plate -> (file, reader_plate)), or one
    line where a plate would read another plate's readings; `plates` are every plate of the
    sheet, `instruments` the reader each plate's sheet row names (may be empty). Returns the
    ties, in `readers` order."""
    parsed = dict(exports or {})
    ties: list[Tie] = []
    for plate, (path, wanted) in readers.items():
        key = _identity(path)
        if key not in parsed:
            parsed[key] = read_plate_export(path)
        ties.append(choose_block(parsed[key], path, str(wanted), plate))
    by_file: dict[str, list[Tie]] = {}
    for tie in ties:
        by_file.setdefault(_identity(tie.path), []).append(tie)
    for shared in by_file.values():
        _check_shared(shared)
    for tie in ties:
        _check_metadata(tie, plates, shared=len(by_file[_identity(tie.path)]) > 1)
    check_instruments(ties, parsed, instruments or {})
    return ties


def _check_shared(ties: list[Tie]) -> None:
    """One file for several plates: each names its own block, and no block labels two."""
    if len(ties) < 2:
        return
    names = " and ".join(repr(t.plate) for t in ties)
    guessed = [t for t in ties if t.how == "only"]
    if guessed:
        raise InputError(
            f"{ties[0].path}: the reader file is given for plates {names} but holds one plate; "
            "each would be labelled from the same readings: give each plate its own file, or "
            "name each plate's block in plates.tsv column reader_plate"
        )
    taken: dict[str, Tie] = {}
    for tie in ties:
        other = taken.get(tie.block)
        if other is not None:
            raise InputError(
                f"{tie.path}: plates {other.plate!r} and {tie.plate!r} both read its plate "
                f"{tie.block or '(unnamed)'!r}; name each plate's own block in plates.tsv "
                "column reader_plate"
            )
        taken[tie.block] = tie


# Metadata lines naming the labware's barcode (Gen5 `Plate Barcode`, i-control `Barcode`,
# SoftMax `Barcode:`): labs set it to the plate's name, so it ties the file to a plate too.
_BARCODE_KEYS = {"barcode", "platebarcode", "barcodes", "labwarebarcode"}


def metadata_barcodes(path: Path) -> list[str]:
    """The plate barcodes a reader file's metadata states (the cell after a barcode key)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        rows = [row for _, sheet in xlsx_sheets(path, data) for row in sheet]
    else:
        rows = text_rows(decode(data, path)[0])[0]
    found = []
    for _, cells in rows:
        filled = [c for c in cells if c]
        if len(filled) >= 2 and squash(filled[0].rstrip(":")) in _BARCODE_KEYS:
            found.append(filled[1])
    return found


def _check_metadata(tie: Tie, plates: Sequence[str], shared: bool = False) -> None:
    """A file taken as a plate's only because it holds one plate may not name another plate of
    the sheet in its metadata (`Plate ID:`, `Plate name:`...), nor may any file state a plate
    barcode that is another plate's name and not this one's (a file of one plate: `shared`
    files hold several, each block its own): swapped files."""
    others = [p for p in plates if p != tie.plate and squash(p) == squash(tie.block)]
    if tie.how == "only" and tie.block and others:
        raise InputError(
            f"{tie.path}: the file names its plate {tie.block!r}, which is plate "
            f"{others[0]!r} of plates.tsv, but it is given for plate {tie.plate!r}: swapped "
            "files? give each plate its own file, or name the block in column reader_plate"
        )
    _check_sheet_name(tie, plates)
    barcodes = [] if shared else metadata_barcodes(tie.path)
    if any(squash(b) == squash(tie.plate) for b in barcodes):
        return
    for barcode in barcodes:
        others = [p for p in plates if p != tie.plate and squash(p) == squash(barcode)]
        if others:
            raise InputError(
                f"{tie.path}: the file states plate barcode {barcode!r}, which is plate "
                f"{others[0]!r} of plates.tsv, but it is given for plate {tie.plate!r}: "
                "swapped files? give each plate its own file"
            )


def _check_sheet_name(tie: Tie, plates: Sequence[str]) -> None:
    """A workbook sheet read for a plate may not name another plate of the sheet in its own
    metadata (sheet 'P1' holding `Plate ID: P2`: sheets renamed or pasted in the wrong tab)."""
    if tie.how == "reader_plate" or not tie.block:
        return  # the sheet chosen by name in plates.tsv: the user's word
    named = sheet_plate_names(tie.path).get(tie.block, "")
    if not named or squash(named) == squash(tie.plate):
        return
    others = [p for p in plates if p != tie.plate and squash(p) == squash(named)]
    if others:
        raise InputError(
            f"{tie.path}: sheet {tie.block!r} names its plate {named!r} (its own metadata), "
            f"which is plate {others[0]!r} of plates.tsv, but it is read for plate "
            f"{tie.plate!r}: sheets renamed or pasted in the wrong tab? check the sheet names "
            "against the plates, or name the sheet in column reader_plate"
        )


# Reader families: the words a lab writes for a reader or its software (squashed), by maker.
# A sheet's `instrument` is checked only where it names one of these, and the file's software
# another: a nickname or an unknown reader is not judged.
_FAMILIES = {
    "Agilent BioTek": ("biotek", "gen5", "synergy", "cytation", "epoch", "lionheart", "elx",
                       "powerwave", "neo2", "agilent"),
    "Tecan": ("tecan", "spark", "icontrol", "magellan", "infinite", "sunrise", "genios",
              "safire", "m200", "m1000"),
    "BMG Labtech": ("bmg", "mars", "smartcontrol", "clariostar", "pherastar", "fluostar",
                    "polarstar", "omega", "vantastar", "spectrostar", "novostar"),
    "Molecular Devices": ("moleculardevices", "softmax", "spectramax", "flexstation",
                          "filtermax", "gemini", "paradigm", "emax", "vmax"),
    "PerkinElmer / Revvity": ("perkinelmer", "revvity", "envision", "victor", "enspire",
                              "ensight", "kaleido"),
    "Thermo": ("thermo", "skanit", "varioskan", "multiskan", "fluoroskan", "luminoskan"),
    "Promega": ("promega", "glomax"),
}  # fmt: skip


def family(text: str) -> str:
    """The maker whose readers or software `text` names ('' when none or several)."""
    flat = squash(text)
    found = {name for name, words in _FAMILIES.items() if any(w in flat for w in words)}
    return found.pop() if len(found) == 1 else ""


def check_instruments(
    ties: Sequence[Tie], exports: Mapping[str, Export], named: Mapping[str, str]
) -> None:
    """A plate whose sheet row names its reader (`instrument`: `Gen5`, `Spark`, `CLARIOstar`)
    may not take a file another maker's software wrote: another instrument's export, the file
    of a plate read elsewhere that week."""
    for tie in ties:
        wanted = named.get(tie.plate, "")
        written = exports[_identity(tie.path)].instrument
        mine, theirs = family(wanted), family(written)
        if mine and theirs and mine != theirs:
            raise InputError(
                f"{tie.path}: the file was written by {written} ({theirs}), but plates.tsv "
                f"gives plate {tie.plate!r} instrument {wanted!r} ({mine}): another "
                "instrument's file? give the plate's own export, or correct its instrument"
            )
