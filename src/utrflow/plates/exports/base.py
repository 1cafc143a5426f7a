"""What every block shape shares: cells with where they stood, reads, channels, the export,
and the context (labels, plate, wavelengths) the rows above a block give it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from utrflow.errors import InputError

Row = tuple[int, list[str]]  # line (or sheet row) number, cells stripped of spaces

WELL_ISH = re.compile(r"^[A-Za-z]{1,2}0*\d{1,3}$")  # looks like a well name, valid or not
WELL_HEADERS = {"well", "wells", "well position", "well positions", "well id", "wellid"}
PLATE_KEYS = {"plate", "plate number", "plate name", "plate id", "plate-id", "plate-id (stacker)"}
TIME_HEADER = re.compile(r"^(time|kinetic time|read time)\b", re.IGNORECASE)
CYCLE_HEADER = re.compile(r"^(cycle( nr\.?| no\.?| number)?|read( number)?|kinetic read)$", re.I)
SUBREAD = re.compile(r"^\d+;\d+$")  # i-control's x;y position of one read within a well
LIST_VALUES = {"mean", "value", "values", "average"}
LIST_IGNORED = {"stdev", "std dev", "sd", "cv", "cv %", "cv%", "median", "min", "max"}
LABEL_LINE = re.compile(r"^label:\s*(.+)$", re.IGNORECASE)
WAVELENGTH_KEY = re.compile(r"wavelength", re.IGNORECASE)
WAVELENGTH = re.compile(
    r"(?<![\d.])([2-9]\d{2}|1[01]\d{2})(?![\d.])(?:\s*nm)?(?:[-/]\d{1,2}(?!\d))?"
)
DETECTOR_MAX = re.compile(
    r"^(detector\s+)?(max(imum)?|overflow|saturation)(\s+(value|signal|count|counts|level))?"
    r"(\s*\[[^\]]*\])?\s*:?\s*([0-9][0-9.,]*)?$",
    re.IGNORECASE,
)
NUMBERING = re.compile(r"^(\d+\.\s+|results? for\s+)", re.I)  # '4. Raw Data', 'Results for X'
TIME_HMS = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
TIME_MS = re.compile(r"^(\d+):(\d{1,2}(?:\.\d+)?)$")
# Labels of blocks that summarize or lay out the plate rather than read it: sample names,
# concentrations (of standards, of a substrate), statistics of replicate groups (Gen5, SoftMax
# Pro, SMART Control).
SUMMARY_LABEL = re.compile(
    r"^(samples?#?|sample ?names?|well ?ids?|wellplatename|layout|plate ?map|platemap|"
    r"(\w+ )?\[?conc(entration)?s?\b.*|conc/dil|dilutions?|dilution ?factor|standard .*|"
    r"values?|mean ?values?|mean ?results?|results?|r|backcalcconc|avg ?od|"
    r"std\.? ?dev\.?|sd|%? ?cvs?( ?%)?|cv ?results?|%? ?rec(overy)?\.? ?%?|status.*|flag.*|range)$",
    re.IGNORECASE,
)
NUMBER_ISH = re.compile(r"^[+-]?(\d[\d.,]*([eE][+-]?\d+)?|\.\d+)$|^(ov|sat|>|<|\?|n/?a$)", re.I)


@dataclass(frozen=True)
class Cell:
    """One reading as written in the file, with where it stood (for error messages)."""

    text: str
    line: int
    sheet: str = ""

    @property
    def where(self) -> str:
        return f"sheet {self.sheet!r} row {self.line}" if self.sheet else f"line {self.line}"


@dataclass
class Read:
    """One read of a channel: its name (a number, `Mean`), time if kinetic, and per well the
    cells read (several for sub-reads, averaged)."""

    name: str
    time_s: float | None
    cells: dict[str, list[Cell]] = field(default_factory=dict)


@dataclass
class Channel:
    """A label of the file (`GFP`, `OD600:600`, `Raw Data (480-14/520-30)`) and its reads."""

    label: str
    wavelengths: tuple[int, ...]
    reads: list[Read]
    where: str
    grid_format: int = 0  # 96 or 384 when the block is a whole-plate grid

    @property
    def plate_format(self) -> int:
        """384 when the block is a 16x24 grid or reads a well past H12; else 96 when it is an
        8x12 grid; else 0 (a list of wells that fits either)."""
        beyond = any(w[0] > "H" or int(w[1:]) > 12 for r in self.reads for w in r.cells)
        return 384 if beyond else self.grid_format


@dataclass(frozen=True)
class NumberFormat:
    """The file's decimal mark, and whether it visibly groups thousands with the other mark."""

    decimal: str = "."
    grouped: bool = False


@dataclass
class Export:
    """Everything a reader file holds: plates (name -> channels, '' for an unnamed plate)."""

    instrument: str
    plates: dict[str, dict[str, Channel]]
    numbers: NumberFormat = field(default_factory=NumberFormat)
    encoding: str = ""
    detector_max: float | None = None
    repeats: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # labels seen again
    summaries: list[str] = field(default_factory=list)  # summary blocks, not channels


def words(text: str) -> str:
    return " ".join(text.strip().rstrip(":").split()).lower()


def wavelengths_of(text: str) -> tuple[int, ...]:
    """Wavelengths (nm) a label names: `485/20,530/25` -> (485, 530), `OD600` -> (600,); in a
    Gen5 `name:wavelengths` label those after the colon (`OD600:450` -> (450,))."""
    name, colon, after = text.rpartition(":")
    if colon and name and WAVELENGTH.search(after):
        text = after
    return tuple(dict.fromkeys(int(m.group(1)) for m in WAVELENGTH.finditer(text)))


def int_text(text: str) -> int | None:
    """'7', '07' and '7.0' (xlsx) -> 7; anything else None."""
    match = re.fullmatch(r"0*(\d+)(\.0+)?", text)
    return int(match.group(1)) if match else None


def seconds(text: str, unit: str) -> float | None:
    """A read time as written: `0:06:17`, `6:17`, or a number in the header's unit."""
    hms = TIME_HMS.match(text)
    if hms:
        return int(hms.group(1)) * 3600 + int(hms.group(2)) * 60 + float(hms.group(3))
    ms = TIME_MS.match(text)
    if ms:
        return int(ms.group(1)) * 60 + float(ms.group(2))
    try:
        value = float(text)
    except ValueError:
        return None
    return value * {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}.get(unit, 1.0)


def time_unit(header: str) -> str:
    unit = re.search(r"\[(ms|s|sec|min|h)\]|\((ms|s|sec|min|h)\)", header, re.IGNORECASE)
    if not unit:
        return "s"
    text = (unit.group(1) or unit.group(2)).lower()
    return "s" if text == "sec" else text


@dataclass
class SoftMaxPlate:
    """A SoftMax Pro `Plate:` line: one label and wavelengths per wavelength it reads, the
    plate's wells (96, 384; 0 when not said), and whether data is in plate (grid) format."""

    labels: list[str]
    wavelengths: list[tuple[int, ...]]
    plate_format: int
    first_column: int = 1
    columns: int = 0  # 0: not said
    rows: int = 0
    spectrum: bool = False


@dataclass
class Context:
    """What the metadata above a block says about it."""

    label: str = ""  # an i-control 'Label: X' line: names the blocks until the next one
    label_wavelengths: list[int] = field(default_factory=list)
    mode: str = ""  # a SparkControl `Mode` line just read: the next `Name` line is a label
    named: str = ""  # ... that label: names a block without a title of its own
    title: str = ""  # the last line with a single text cell
    plate: str = ""
    wavelengths: list[int] = field(default_factory=list)  # every stated wavelength
    block_wavelengths: list[int] = field(default_factory=list)  # a 'Wavelength:' title line
    detector_max: float | None = None
    softmax: SoftMaxPlate | None = None  # what the last SoftMax Pro 'Plate:' line said


@dataclass
class Scan:
    """Blocks found so far: plate -> label -> channel."""

    path: Path
    sheet: str
    plates: dict[str, dict[str, Channel]] = field(default_factory=dict)
    repeats: dict[str, dict[str, list[str]]] = field(
        default_factory=dict
    )  # plate -> label -> where
    summaries: list[str] = field(default_factory=list)  # blocks not offered as channels

    def cell(self, text: str, line: int) -> Cell:
        return Cell(text, line, self.sheet)

    def where(self, line: int) -> str:
        return Cell("", line, self.sheet).where

    def add(self, plate: str, channel: Channel) -> None:
        """A block's channel; a label seen before in this plate is kept aside as a repeat, so
        only choosing it stops the run (group tables repeat column names). Summary and layout
        blocks (statistics, standards' concentrations, sample names) are noted, never offered."""
        if is_summary(channel):
            self.summaries.append(f"{channel.label!r} ({channel.where})")
            return
        channels = self.plates.setdefault(plate, {})
        if channel.label in channels and _continues(channels[channel.label], channel):
            for read, more in zip(channels[channel.label].reads, channel.reads, strict=True):
                read.cells.update(more.cells)  # Gen5 writes a 384-well read in 96-well parts
            return
        if channel.label in channels:
            seen = self.repeats.setdefault(plate, {}).setdefault(channel.label, [])
            seen.append(channel.where)
            return
        channels[channel.label] = channel


def _continues(first: Channel, then: Channel) -> bool:
    """Whether `then` holds other wells of the same reads as `first` (same count and times,
    whole blocks of rows: 24 wells or more each)."""
    if len(first.reads) != len(then.reads) or min(len(then.reads[0].cells), 24) < 24:
        return False
    return all(
        a.time_s == b.time_s and not set(a.cells) & set(b.cells)
        for a, b in zip(first.reads, then.reads, strict=True)
    )


def is_summary(channel: Channel) -> bool:
    """A block that summarizes or lays out the plate: its label says so, or most of its cells
    are text (a layout of sample names) rather than readings."""
    if SUMMARY_LABEL.match(" ".join(channel.label.split())):
        return True
    texts = [c.text for r in channel.reads for cells in r.cells.values() for c in cells if c.text]
    return len(texts) >= 8 and sum(1 for x in texts if NUMBER_ISH.match(x)) < len(texts) / 2


def title_of(ctx: Context, corner: str, line: int, scan: Scan) -> tuple[str, tuple[int, ...]]:
    """A block's channel label and wavelengths: its corner cell, else the 'Label:' line
    above, else the title line above."""
    if corner and corner != "<>":
        label = corner
    elif ctx.label:
        label = ctx.label
    elif ctx.title:
        label = ctx.title
    elif ctx.named:
        label = ctx.named
    else:
        label = f"block at {scan.where(line)}"
    label = NUMBERING.sub("", label.strip().rstrip(":").strip())
    own = wavelengths_of(label)
    if not own and ctx.label and label == ctx.label:
        own = tuple(ctx.label_wavelengths)
    return label, own


def put(read: Read, well: str, cell: Cell, path: Path, label: str) -> None:
    if well in read.cells:
        first = read.cells[well][0]
        raise InputError(
            f"{path}: {cell.where}: well {well} already read on {first.where}"
            + (f" (channel {label!r})" if label else "")
        )
    read.cells[well] = [cell]


def at(cells: list[str], k: int) -> str:
    return cells[k] if 0 <= k < len(cells) else ""
