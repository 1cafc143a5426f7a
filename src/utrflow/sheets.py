"""The user's sheets for real plates: plates.tsv, wells.tsv, library.csv and the construct.

Read before any job starts (`utrflow.preflight`) and again by the jobs that need them, so a bad
row stops the run with one line naming the file, the row and the problem. Plates that share a
reads file (pooled by barcode pairs) form one *read group*: the unit that demultiplexing
scatters over, so adding a plate (a new group) reruns only its own jobs. Both the reads stages
and the plate-reader stages read these sheets, so they live beside neither.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utrflow import sheet_files
from utrflow.errors import InputError
from utrflow.geometry import normalize_well
from utrflow.sequences import IUPAC, invalid_characters

ROLES = ("sample", "blank", "control", "negative", "calibrant")
# A calibrant well's standard (its `calibrant` column), and the distinct non-zero amounts of a
# standard a plate needs for a fit (utrflow.plates.calibration).
CALIBRANTS = ("fluorescein", "microspheres")
MIN_STANDARDS = 3

PLATES_REQUIRED = ("plate", "reads")
WELLS_REQUIRED = ("plate", "well", "fwd_barcode")
# Plate names become file and folder names under results/ and job arguments: letters, digits,
# '_', '.', '-', starting with a letter or digit (so no '..', '/', leading '-' or shell syntax).
PLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
PLATE_NAME_MAX = 100  # characters; file names stop at 255 bytes
GROUP_NAME_MAX = 60  # a read group's folder name past this is shortened and hashed


Row = dict[str, Any]


@dataclass(frozen=True)
class Sheet:
    """A user's table as stripped strings: its rows (keyed by the header) and each row's line in
    the file (what an error names)."""

    rows: list[dict[str, str]]
    lines: list[int]

    def numbered(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) pairs."""
        return zip(self.lines, self.rows, strict=True)


def read_sheet(path: str | Path, required: tuple[str, ...]) -> Sheet:
    """A small user table as stripped strings, one line if bad. Tab-, comma- or
    semicolon-separated text (told by its content, not its name) in UTF-8 or UTF-16 with or
    without a BOM, or xlsx; headers in any case and spacing (`Fwd Barcode` is `fwd_barcode`);
    CRLF, stray spaces, blank lines, title rows above the header (and Excel's `sep=` line) and
    empty trailing cells are forgiven; a row with more filled cells than the header is not (a
    reader would shift every column by one or drop the extra cell without a word). Plain rows,
    not a DataFrame: the reads jobs read the sheets and start without pandas."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    lines = sheet_files.read_cells(path, required)
    lines = [(number, cells) for number, cells in lines if any(cells)]
    if not lines:
        raise InputError(f"{path}: the file is empty")
    lines = lines[sheet_files.header_row(lines, required) :]  # title rows above the header
    header = [sheet_files.header_key(name) for name in lines[0][1]]
    while header and not header[-1]:
        header.pop()
    named = [c for c in header if c]
    if len(named) < len(header) or len(set(header)) < len(header):
        raise InputError(f"{path}: the header needs distinct, non-empty column names: {header}")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(header)}); "
            f"expected {sheet_files.EXPECTED}, naming {', '.join(required)}"
        )
    rows = []
    for number, cells in lines[1:]:
        if any(cells[len(header) :]):
            raise InputError(
                f"{path}: row {number}: {len(cells)} cells but the header names {len(header)} "
                "columns"
            )
        padded = cells[: len(header)] + [""] * (len(header) - len(cells))
        rows.append(dict(zip(header, padded, strict=True)))
    if not rows:
        raise InputError(f"{path}: no rows")
    return Sheet(rows, [number for number, _ in lines[1:]])


def _listed(characters: set[str]) -> str:
    """Offending characters quoted, so a space or a tab shows: 'N', ' '."""
    return ", ".join(repr(c) for c in sorted(characters))


def _row(line: int) -> str:
    """A row as the user sees it in a spreadsheet: its line (the header is row 1)."""
    return f"row {line}"


READS_SUFFIXES = (".fastq", ".fq", ".fasta", ".fa", ".fna", ".sam", ".bam")


def is_reads_file(path: Path) -> bool:
    """A file a folder of reads holds by name: FASTQ/FASTA (gzipped or not), SAM or BAM."""
    name = path.name.lower().removesuffix(".gz")
    return not path.name.startswith(".") and name.endswith(READS_SUFFIXES) and path.is_file()


# MinKNOW's folders of reads that failed its quality filter (fastq_fail, bam_fail, pod5_fail...):
# a run folder holds them beside the passing reads, and demultiplexing them with those would
# let reads MinKNOW refused into the wells without a word (demux.include_failed takes them).
FAILED_FOLDER = re.compile(r"^[a-z0-9]+_fail$", re.IGNORECASE)


def _failed(path: Path, folder: Path) -> bool:
    """Does `path` sit in a MinKNOW `*_fail` folder below `folder`?"""
    return any(FAILED_FOLDER.match(part) for part in path.relative_to(folder).parts[:-1])


def _folder_reads(folder: Path, where: str, include_failed: bool = False) -> list[str]:
    """The reads files of a folder and its subfolders (MinKNOW's `fastq_pass/barcode01/`, a
    dorado output folder), other files (summaries, indexes) left out, and so are MinKNOW's
    failed reads (`fastq_fail/`) unless `include_failed` (naming such a folder takes it)."""
    found = sorted(
        str(p)
        for p in folder.rglob("*")
        if is_reads_file(p) and (include_failed or not _failed(p, folder))
    )
    if not found:
        raise InputError(
            f"{where}: folder {folder} holds no reads files "
            f"({', '.join(READS_SUFFIXES)}, optionally .gz)"
        )
    return found


def _posix(path: str, base_dir: Path) -> str:
    """A relative path written with Windows separators (`reads\\p1.fastq`, from a sheet saved
    on Windows) as `reads/p1.fastq`, unless a file of that very name exists."""
    if "\\" not in path or Path(path).is_absolute() or (base_dir / path).exists():
        return path
    return path.replace("\\", "/")


def _expand(path: str, where: str, include_failed: bool = False) -> list[str]:
    """One existing path: a file as itself, a folder as its reads files."""
    if not Path(path).is_dir():
        return [path]
    return _folder_reads(Path(path), where, include_failed)


def resolve_reads(
    pattern: str, base_dir: Path, where: str, include_failed: bool = False
) -> tuple[str, ...]:
    """Read files for one plate, sorted: a file, a folder, a glob, or a comma-separated list of
    these. A cell that names an existing path whole is taken whole (its name may hold commas);
    names matched by a glob are kept whole whatever they hold - the comma only separates the
    sheet's own list. A folder's MinKNOW `*_fail/` subfolders are left out (`_folder_reads`)."""
    cell = pattern.strip()
    whole = cell if Path(cell).is_absolute() else str(base_dir / cell)
    parts = [cell] if cell and Path(whole).exists() else pattern.split(",")
    files: list[str] = []
    for part in (_posix(p.strip(), base_dir) for p in parts):
        if not part:
            continue
        full = part if Path(part).is_absolute() else str(base_dir / part)
        if Path(full).exists():  # a name holding '[', '*' or '?' that exists is that file
            files.extend(_expand(full, where, include_failed))
        elif glob.has_magic(part):
            matched = sorted(glob.glob(full))
            if not matched:
                raise InputError(f"{where}: reads pattern {part!r} matches no file")
            for path in matched:
                files.extend(_expand(path, where, include_failed))
        else:
            raise InputError(f"{where}: reads file not found: {part}")
    if not files:
        raise InputError(f"{where}: no reads file given")
    return tuple(sorted(dict.fromkeys(files)))


@dataclass(frozen=True)
class Construct:
    """Primers (5'->3' as ordered, IUPAC allowed) and the flanks of the variable region."""

    fwd_primer: str
    rev_primer: str
    upstream_flank: str = ""
    downstream_flank: str = ""


def load_construct(values: Mapping[str, str], source: str = "config") -> Construct:
    """The construct from the config's `construct` mapping, checked."""
    clean = {k: str(values.get(k, "")).strip().upper() for k in Construct.__dataclass_fields__}
    for key, other in (("fwd_primer", "rev_primer"), ("rev_primer", "fwd_primer")):
        if not clean[key] and clean[other]:  # neither: the barcodes sit at the read ends
            raise InputError(
                f"{source}: key 'construct.{key}' is required when source is 'reads' (or leave "
                "both primers empty when the barcodes sit at the read ends)"
            )
    for key, value in clean.items():
        allowed = IUPAC if key.endswith("primer") else "ACGT"
        bad = invalid_characters(value, allowed)
        if bad:
            raise InputError(
                f"{source}: key 'construct.{key}' has characters other than {allowed}: "
                f"{_listed(bad)}"
            )
    return Construct(**clean)


@dataclass(frozen=True)
class ReadGroup:
    """Plates whose reads come from the same files, demultiplexed together."""

    name: str
    plates: tuple[str, ...]
    files: tuple[str, ...]


def load_plates(
    path: str | Path, base_dir: Path | None = None, include_failed: bool = False
) -> list[Row]:
    """plates.tsv, checked, as rows: plate, reads (paths or globs), fluorescence (may be
    empty), reader_plate (which plate of a several-plate reader file, by name or number; may be
    empty) and `files`, the reads files the `reads` cell names (a folder's MinKNOW failed reads
    only with `include_failed`, config key demux.include_failed)."""
    sheet = read_sheet(path, PLATES_REQUIRED)
    base = base_dir or Path.cwd()
    seen: dict[str, int] = {}
    plates: list[Row] = []
    for i, cells in sheet.numbered():
        # reader_plate: the file's block; instrument: the reader, as the lab names it
        row: Row = {"fluorescence": "", "reader_plate": "", "instrument": "", **cells}
        where = f"{path}: {_row(i)}"
        name = row["plate"]
        if not name:
            raise InputError(f"{where}: empty plate name")
        if not PLATE_NAME.fullmatch(name):
            raise InputError(
                f"{where}: plate name {name!r} may hold only letters, digits, '_', '.' and '-', "
                "starting with a letter or digit (it names files under results/)"
            )
        if len(name) > PLATE_NAME_MAX:
            raise InputError(
                f"{where}: plate name {name[:20]!r}... has {len(name)} characters; at most "
                f"{PLATE_NAME_MAX} (it names files under results/)"
            )
        if name in seen:
            raise InputError(f"{where}: plate {name!r} already listed in {_row(seen[name])}")
        twin = next((other for other in seen if other.casefold() == name.casefold()), None)
        if twin is not None:
            raise InputError(
                f"{where}: plate {name!r} differs from plate {twin!r} ({_row(seen[twin])}) only "
                "in case: on macOS and Windows their files under results/ are one; rename one"
            )
        seen[name] = i
        row["files"] = resolve_reads(row["reads"], base, f"{where} (plate {name})", include_failed)
        fluorescence = row["fluorescence"] = _posix(row["fluorescence"], base)
        if fluorescence and not (base / fluorescence).is_file():
            raise InputError(f"{where}: fluorescence file not found: {fluorescence}")
        plates.append(row)
    return plates


def group_name(plates: tuple[str, ...]) -> str:
    """A read group's folder name: its plates joined by '+', or, past GROUP_NAME_MAX
    characters, the first plate, how many more, and a hash of them all (stable across runs,
    distinct for distinct groups): `P01+11more-3f2a9c1b0e`."""
    joined = "+".join(plates)
    if len(joined) <= GROUP_NAME_MAX:
        return joined
    digest = hashlib.sha256(joined.encode()).hexdigest()[:10]
    more = f"+{len(plates) - 1}more" if len(plates) > 1 else ""
    return f"{plates[0][:32]}{more}-{digest}"


def read_groups(plates: Iterable[Mapping[str, Any]], where: str = "plates") -> list[ReadGroup]:
    """Group plates (`load_plates` rows) by their read files; plates may share all their files,
    not some of them."""
    by_files: dict[tuple[str, ...], list[str]] = {}
    owner: dict[str, tuple[str, ...]] = {}
    for row in plates:
        plate, files = row["plate"], tuple(row["files"])
        by_files.setdefault(files, []).append(plate)
        for f in files:
            if f in owner and owner[f] != files:
                other = by_files[owner[f]][0]
                raise InputError(
                    f"{where}: plates {other!r} and {plate!r} share the reads file {f} but not "
                    "all their other files; pooled plates must list the same files"
                )
            owner[f] = files
    return [
        ReadGroup(name=group_name(tuple(members)), plates=tuple(members), files=files)
        for files, members in by_files.items()
    ]


def load_wells(path: str | Path, plates: Iterable[str] | None = None) -> list[Row]:
    """wells.tsv, checked, as rows: plate, well (normalized: a01 -> A1), fwd_barcode,
    rev_barcode (may be empty in every row), role (sample, blank, control or negative)."""
    sheet = read_sheet(path, WELLS_REQUIRED)
    known = set(plates) if plates is not None else None
    seen: dict[tuple[str, str], int] = {}
    wells: list[Row] = []
    for i, cells in sheet.numbered():
        row: Row = {"rev_barcode": "", "role": "", **cells}
        row["role"] = (row["role"] or "sample").lower()
        row["fwd_barcode"] = row["fwd_barcode"].upper().replace("U", "T")  # as RNA: read as DNA
        row["rev_barcode"] = row["rev_barcode"].upper().replace("U", "T")
        where = f"{path}: {_row(i)}"
        well = normalize_well(row["well"])
        if well is None:
            raise InputError(f"{where}: {row['well']!r} is not a well name (A1 ... P24)")
        if known is not None and row["plate"] not in known:
            raise InputError(f"{where}: plate {row['plate']!r} is not in the plates sheet")
        if row["role"] not in ROLES:
            raise InputError(f"{where}: role {row['role']!r} is not one of {', '.join(ROLES)}")
        for column in ("fwd_barcode", "rev_barcode"):
            bad = invalid_characters(row[column], "ACGT")
            if bad:
                raise InputError(
                    f"{where}: {column} {row[column]!r} has characters other than A, C, G, T: "
                    f"{_listed(bad)}"
                )
        if not row["fwd_barcode"]:
            raise InputError(f"{where}: empty fwd_barcode")
        if row["role"] == "calibrant":
            _check_calibrant(row, where)
        key = (row["plate"], well)
        if key in seen:
            raise InputError(
                f"{where}: well {well} of plate {row['plate']} already in {_row(seen[key])}"
            )
        seen[key] = i
        row["well"] = well
        wells.append(row)
    single = [line for line, row in zip(sheet.lines, wells, strict=True) if not row["rev_barcode"]]
    if single and len(single) < len(wells):
        raise InputError(
            f"{path}: {_row(single[0])}: empty rev_barcode; give every well a rev_barcode or none"
        )
    _check_series(wells, path)
    return wells


def _number(row: Row, column: str, where: str, positive: bool) -> float:
    """A calibrant row's number, one line naming the row when it is missing or out of range."""
    text = str(row.get(column) or "")
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a number above 0" if positive else "a number, 0 or more"
        raise InputError(f"{where}: {column} {text!r} of a calibrant well is not {need}")
    return value


def _check_calibrant(row: Row, where: str) -> None:
    """A `role: calibrant` row names its standard and its concentration (µM of fluorescein,
    microspheres per mL); `volume_ul`, when given, is above 0."""
    row["calibrant"] = str(row.get("calibrant") or "").lower()
    if row["calibrant"] not in CALIBRANTS:
        raise InputError(
            f"{where}: calibrant {row['calibrant']!r} is not one of {', '.join(CALIBRANTS)} "
            "(a role: calibrant well names its standard in the calibrant column)"
        )
    _number(row, "concentration", where, positive=False)
    if row.get("volume_ul"):
        _number(row, "volume_ul", where, positive=True)


def _check_series(wells: list[Row], path: str | Path) -> None:
    """Each plate's standards are a series (MIN_STANDARDS non-zero concentrations or more), and
    the plates are calibrated alike: labels in MEFL and in reader units must not mix."""
    series: dict[str, dict[str, set[float]]] = {}
    for row in wells:
        if row["role"] == "calibrant" and float(row["concentration"]) > 0:
            found = series.setdefault(row["plate"], {}).setdefault(row["calibrant"], set())
            found.add(float(row["concentration"]))
    for plate, standards in series.items():
        for standard, levels in standards.items():
            if len(levels) < MIN_STANDARDS:
                raise InputError(
                    f"{path}: plate {plate}: {len(levels)} non-zero {standard} concentrations; "
                    f"a calibration needs {MIN_STANDARDS} or more"
                )
    kinds = {
        plate: sorted(series.get(plate, {})) for plate in dict.fromkeys(r["plate"] for r in wells)
    }
    if len({tuple(k) for k in kinds.values()}) > 1:
        shown = "; ".join(f"{p}: {', '.join(k) or 'none'}" for p, k in kinds.items())
        raise InputError(
            f"{path}: plates carry different calibrants ({shown}); calibrate every plate alike "
            "or none, so that all labels share one unit"
        )


def group_wells(
    wells: Iterable[Mapping[str, Any]], plates: Iterable[str]
) -> list[Mapping[str, Any]]:
    """The rows of `wells` (`load_wells`) on `plates`, in the sheet's order."""
    chosen = set(plates)
    return [row for row in wells if row["plate"] in chosen]


def layout_digest(wells: Iterable[Mapping[str, Any]], plates: tuple[str, ...]) -> str:
    """A short hash of some plates' rows: a rule param that changes only when they change."""
    columns = ("plate", "well", "fwd_barcode", "rev_barcode", "role")
    rows = [[row[c] for c in columns] for row in group_wells(wells, plates)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def load_library(path: str | Path) -> list[Row]:
    """library.csv (or .tsv), checked, as rows of id and sequence: unique ids and sequences,
    ACGT only (U read as T)."""
    sheet = read_sheet(path, ("id", "sequence"))
    ids: dict[str, int] = {}
    seqs: dict[str, int] = {}
    designs: list[Row] = []
    for i, row in sheet.numbered():
        vid, seq = row["id"], row["sequence"].upper().replace("U", "T")
        where = f"{path}: {_row(i)}"
        if not vid:
            raise InputError(f"{where}: empty id")
        if vid in ids:
            raise InputError(f"{where}: id {vid!r} already in {_row(ids[vid])}")
        bad = invalid_characters(seq, "ACGT")
        if bad or not seq:
            raise InputError(
                f"{where}: sequence of {vid!r} is empty or has characters other than A, C, G, T"
            )
        if seq in seqs:
            raise InputError(f"{where}: {vid!r} has the same sequence as {_row(seqs[seq])}")
        ids[vid] = i
        seqs[seq] = i
        designs.append({"id": vid, "sequence": seq})
    return designs
