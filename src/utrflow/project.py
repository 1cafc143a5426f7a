"""`utrflow init DIR`: a new project folder a lab fills in, instead of editing the clone.

It writes the config with the keys a lab sets (commented), the sheets (built from a barcode
table and a plate count, or as templates to fill), and one folder per plate for the reads and
one for the reader files; then says the three commands to run next. Nothing here reads reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from utrflow.errors import InputError
from utrflow.geometry import FORMATS
from utrflow.sheets import read_sheet

CONFIG = """\
# utrflow project: the keys a lab sets. Every other key, and its default: docs/config.md of
# the utrflow repository. Relative paths resolve against this project folder.
source: reads

plates: sheets/plates.tsv     # plate, reads (file, folder or glob), fluorescence (reader file)
wells: sheets/wells.tsv       # plate, well, fwd_barcode, rev_barcode, role
library: ""                   # optional: sheets/library.csv with id, sequence of the designs

# The amplicon, forward strand, as the reads hold it on either strand:
#   fwd_barcode.fwd_primer...upstream_flank.UTR.downstream_flank...rc(rev_primer).rc(rev_barcode)
construct:
  fwd_primer: ""        # 5'->3' as ordered, IUPAC allowed; empty: the barcodes are the read ends
  rev_primer: ""
  upstream_flank: ""    # 15-25 constant bases right before the UTR (forward strand). Left empty,
  downstream_flank: ""  # the first run stops and proposes both from your reads: paste them here

fluorescence:
  signal: gfp           # the reader's channel that measures expression, as the file names it
  normalize_by: od600   # the channel it is divided by ("" for none)
  read: last            # kinetic files: first, last, a read number or a time (2h)

consensus:
  min_reads: 3          # reads a well needs before its UTR is called

resources:
  gpus: 0               # 1 on a cluster node with a GPU: each training job asks for one
"""

FOLDER_NOTE = {
    "reads": "Put each plate's reads in its folder here (reads/P01/ ...): the basecaller's\n"
    "FASTQ, FASTQ.gz, FASTA or unaligned BAM files, as many as it wrote (MinKNOW's\n"
    "fastq_pass/barcodeNN/ folder can be copied as it is). sheets/plates.tsv names the folders.\n",
    "reader": "Put each plate's plate-reader export here, as the instrument wrote it (xlsx, CSV\n"
    "or text), named as in sheets/plates.tsv (reader/P01.xlsx ...; change the name in the\n"
    "sheet if yours is .csv or .txt). A plate without a reader file: empty its fluorescence\n"
    "cell in sheets/plates.tsv, and its wells keep their sequences only.\n",
}


@dataclass(frozen=True)
class Barcodes:
    """A lab's barcode table: forward barcodes name the rows, reverse barcodes the columns."""

    fwd: list[str]
    rev: list[str]
    negative: frozenset[str] = frozenset()  # barcodes of negative controls: no colony behind them


def read_barcodes(path: Path) -> Barcodes:
    """A barcode table (`barcode`, `end` as F/fwd/forward or R/rev/reverse, optional `name` and
    `role`), in plate order: the i-th forward barcode is row i, the j-th reverse barcode column
    j; a barcode whose `role` is `negative` makes every well it names a negative control."""
    sheet = read_sheet(path, ("barcode", "end"))
    fwd, rev, negative = [], [], set()
    for line, row in sheet.numbered():
        if row.get("role", "").lower() == "negative":
            negative.add(row["barcode"].upper())
        elif row.get("role", ""):
            raise InputError(f"{path}: row {line}: role {row['role']!r}: only negative (or empty)")
        end = row["end"].lower()
        if end in {"f", "fwd", "forward"}:
            fwd.append(row["barcode"].upper())
        elif end in {"r", "rev", "reverse"}:
            rev.append(row["barcode"].upper())
        else:
            raise InputError(f"{path}: row {line}: end {row['end']!r} is not F or R")
    if not fwd:
        raise InputError(f"{path}: no forward (F) barcodes")
    return Barcodes(fwd, rev, frozenset(negative))


def well_rows(plates: list[str], plate_format: int, barcodes: Barcodes | None) -> list[list[str]]:
    """The wells sheet's rows: every well of every plate; with barcodes, each well named by its
    row's forward and its column's reverse barcode (only the wells the table covers)."""
    n_rows, n_cols = FORMATS[plate_format]
    rows = []
    for plate in plates:
        for r in range(n_rows):
            for c in range(n_cols):
                well = f"{'ABCDEFGHIJKLMNOP'[r]}{c + 1}"
                if barcodes is None:
                    rows.append([plate, well, "", "", "sample"])
                elif r < len(barcodes.fwd) and (c < len(barcodes.rev) or not barcodes.rev):
                    if not barcodes.rev and c > 0:
                        continue  # single-barcode designs: one well per forward barcode
                    pair = (barcodes.fwd[r], barcodes.rev[c] if barcodes.rev else "")
                    role = "negative" if barcodes.negative & set(pair) else "sample"
                    rows.append([plate, well, *pair, role])
    return rows


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def init(
    folder: Path, n_plates: int = 1, plate_format: int = 96, barcodes: Path | None = None
) -> list[str]:
    """Write a new project into `folder` (which must not hold a config yet); return the three
    commands to run next."""
    config = folder / "config" / "config.yaml"
    if config.exists():
        raise InputError(f"{config}: already exists; utrflow init writes new projects only")
    if plate_format not in FORMATS:
        raise InputError(f"plate format {plate_format}: use one of {', '.join(map(str, FORMATS))}")
    table = read_barcodes(barcodes) if barcodes else None
    if table and len(table.fwd) > FORMATS[plate_format][0]:
        raise InputError(
            f"{barcodes}: {len(table.fwd)} forward barcodes for {FORMATS[plate_format][0]} rows"
        )
    plates = [f"P{i + 1:02d}" for i in range(n_plates)]
    for sub in ("config", "sheets", *FOLDER_NOTE, *(f"reads/{p}" for p in plates)):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    (folder / "sheets" / "plates.tsv").write_text(
        _tsv(
            [["plate", "reads", "fluorescence"]]
            + [[p, f"reads/{p}", f"reader/{p}.xlsx"] for p in plates]
        )
    )
    header = ["plate", "well", "fwd_barcode", "rev_barcode", "role"]
    (folder / "sheets" / "wells.tsv").write_text(
        _tsv([header, *well_rows(plates, plate_format, table)])
    )
    for name, note in FOLDER_NOTE.items():
        (folder / name / "README.txt").write_text(note)
    return next_commands(folder)


def next_commands(folder: Path) -> list[str]:
    """What to run in the project folder once the reads, reader files and construct are in:
    check, run, open (relative paths in the config resolve against the folder run in)."""
    snakefile = Path(__file__).resolve().parents[2] / "workflow" / "Snakefile"
    workflow = str(snakefile) if snakefile.is_file() else "path/to/utrflow/workflow/Snakefile"
    return [
        "utrflow check-config --config config/config.yaml",
        f"snakemake -s {workflow} --cores all",
        "xdg-open results/report/report.html   # the labelled table: results/table/labelled.tsv",
    ]
