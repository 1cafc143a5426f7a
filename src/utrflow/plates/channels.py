"""Choosing what a reader file's channels hold: the channel a user names, the read (kinetic
files), the loop (Gen5 repeats a channel as `GFP_1` ... `GFP_5`), and each well's number."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from utrflow.errors import InputError
from utrflow.plates.exports import (
    AmbiguousNumber,
    Cell,
    Channel,
    NumberFormat,
    parse_number,
    wavelengths_of,
)

# Words readers write instead of a number when the detector overflowed (BioTek, Tecan, BMG).
_OVERFLOW = re.compile(r"^(ov(e)?r(flo?w)?|ovrflw|overflow|sat(urated)?\.?|>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class ChannelReading:
    """One channel's values at the wells asked for, and which read of the file they are."""

    label: str
    values: np.ndarray
    saturated: np.ndarray
    read: str  # the read's name in the file ('1', a cycle number, 'Mean')
    read_number: int  # 1-based among the channel's reads
    reads: int  # how many reads the channel has
    time_s: float | None  # the read's time, for kinetic files
    wavelengths: tuple[int, ...] = ()  # as the file states them (nm)

    def describe(self) -> dict[str, object]:
        loop = _LOOP.match(_name_of(self.label))
        return {
            "channel": self.label,
            "wavelengths": list(self.wavelengths),
            "loop": int(loop.group(2)) if loop else None,
            "read": self.read_number,
            "read_name": self.read,
            "reads": self.reads,
            "time_s": self.time_s,
        }


def squash(text: str) -> str:
    """Case- and space-insensitive form of a name."""
    return "".join(text.split()).rstrip(":").lower()


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _name_of(label: str) -> str:
    """A label's name without its wavelengths: 'OD600_1:600' -> 'OD600_1', 'Raw Data (480-14/
    520-30)' -> 'Raw Data'."""
    return re.split(r"[:(]", label, maxsplit=1)[0].strip()


_LOOP = re.compile(r"^(.*\S)_(\d+)$")  # Gen5 names each kinetic loop's channel GFP_1, GFP_2, ...


def _loops(found: list[Channel]) -> dict[int, Channel]:
    """Loop number -> channel when `found` are one channel's Gen5 loops, else {}."""
    names = [_LOOP.match(_name_of(c.label)) for c in found]
    if not all(names) or len({m.group(1).lower() for m in names if m}) != 1:
        return {}
    return {int(m.group(2)): c for m, c in zip(names, found, strict=True) if m}


def choose_loop(found: list[Channel], name: str, loop: str, path: str | Path) -> Channel | None:
    """The loop `loop` asks for (first, last, a number) when `found` are one channel's loops;
    None when they are not; stops when the loop is not said or not there."""
    loops = _loops(found)
    if not loops:
        return None
    numbers = sorted(loops)
    shown = ", ".join(loops[n].label for n in numbers)
    text = str(loop).strip().lower()
    if text in ("first", "last"):
        return loops[numbers[0] if text == "first" else numbers[-1]]
    if text.isdigit() and int(text) in loops:
        return loops[int(text)]
    said = f"fluorescence.loop {loop!r} is not one of them" if text else "which one?"
    raise InputError(
        f"{path}: channel {name!r} was read in {len(loops)} kinetic loops ({shown}); {said} "
        f"Set fluorescence.loop to first, last or a loop number ({numbers[0]}..{numbers[-1]})"
    )


def find_channel(
    readings: Mapping[str, Channel], name: str, path: str | Path, loop: str = ""
) -> Channel:
    """The channel a user means by `name`: its label, its name before the wavelengths, its
    wavelength(s) (`600`, `485/520`) or a unique run of its words, case- and space-insensitive.
    A name that fits one channel's Gen5 loops takes the loop `loop` asks for. A name that fits
    none, or several, stops with the channels the file holds."""
    channels = list(readings.values())
    wanted = squash(name)
    query_numbers = wavelengths_of(name)
    numeric = bool(query_numbers) and re.fullmatch(r"[\d\s/,.\-nm]+", name.strip().lower())
    levels = [
        [c for c in channels if squash(c.label) == wanted],
        [c for c in channels if squash(_name_of(c.label)) == wanted],
        [c for c in channels if numeric and c.wavelengths == query_numbers],
        [c for c in channels if numeric and _contains(c.wavelengths, query_numbers)],
        [c for c in channels if _contains(tuple(_tokens(c.label)), tuple(_tokens(name)))],
    ]
    shown = ", ".join(c.label for c in channels)
    repeats: dict[str, list[str]] = getattr(readings, "repeats", {})
    for found in levels:
        if len(found) == 1 and found[0].label in repeats:
            again = ", ".join(repeats[found[0].label])
            raise InputError(
                f"{path}: channel {found[0].label!r} appears more than once in the file "
                f"({found[0].where}, then {again}); keep one of them in the export"
            )
        if len(found) == 1:
            return found[0]
        looped = choose_loop(found, name, loop, path) if len(found) > 1 else None
        if looped is not None:
            return looped
        if len(found) > 1:
            raise InputError(
                f"{path}: channel {name!r} is ambiguous: it fits "
                f"{', '.join(repr(c.label) for c in found)} (has: {shown}); "
                "set fluorescence.signal / fluorescence.normalize_by to one of them"
            )
    raise InputError(
        f"{path}: no channel {name!r} (has: {shown}); "
        "set fluorescence.signal / fluorescence.normalize_by"
    )


def _contains(whole: tuple[object, ...], part: tuple[object, ...]) -> bool:
    """Whether `part` is a non-empty contiguous run of `whole`."""
    n = len(part)
    return n > 0 and any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds?|min|minutes?|h|hours?)\s*$", re.I)
_HMS = re.compile(r"^\s*(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$")


def read_seconds(spec: str) -> float | None:
    """A read time from the config: `2h`, `90 min`, `7200 s`, `1:30:00`; None if not a time."""
    match = _TIME.match(spec)
    if match:
        unit = match.group(2).lower()[0]
        return float(match.group(1)) * {"s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    hms = _HMS.match(spec)
    if hms:
        return int(hms.group(1)) * 3600 + int(hms.group(2)) * 60 + float(hms.group(3) or 0)
    return None


def choose_read(channel: Channel, spec: str | int, path: str | Path) -> int:
    """Index of the read `spec` asks for: first, last, a 1-based number, or the read nearest a
    time. A channel read once uses that read whatever `spec` says."""
    reads = channel.reads
    text = str(spec).strip().lower()
    if len(reads) == 1 or text in ("", "last"):
        return len(reads) - 1
    if text == "first":
        return 0
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(reads):
            raise InputError(
                f"{path}: channel {channel.label!r} has {len(reads)} reads; "
                f"fluorescence.read {spec!r} is not one of them"
            )
        return number - 1
    seconds = read_seconds(text)
    if seconds is None:
        raise InputError(
            f"{path}: fluorescence.read {spec!r} is not first, last, a read number or a time "
            "such as 2h or 7200 s"
        )
    times = [r.time_s for r in reads]
    if any(t is None for t in times):
        raise InputError(
            f"{path}: channel {channel.label!r} has no read times; set fluorescence.read to "
            "first, last or a read number"
        )
    return int(np.argmin([abs(float(t) - seconds) for t in times if t is not None]))


def channel_reading(
    readings: Mapping[str, Channel],
    name: str,
    wells: Iterable[str],
    path: str | Path,
    saturated_at: float | None = None,
    read: str | int = "last",
    loop: str = "",
) -> ChannelReading:
    """One channel's values and saturation at `wells`, from the read `read` asks for; NaN where
    the file has no reading; sub-reads of a well averaged.

    Overflow words ('OVRFLW', 'OVER', 'Sat', '>65000') always count as saturated (value NaN);
    numbers at or above `saturated_at` too, or, when it is None, at or above the detector
    maximum the file states; 0 flags the words only. Other text stops at its cell.
    """
    channel = find_channel(readings, name, path, loop)
    index = choose_read(channel, read, path)
    chosen = channel.reads[index]
    numbers = getattr(readings, "numbers", NumberFormat())
    wells = list(wells)
    values = np.full(len(wells), np.nan)
    saturated = np.zeros(len(wells), dtype=bool)
    for i, well in enumerate(wells):
        found = []
        for cell in chosen.cells.get(well, []):
            if not cell.text:
                continue
            if _OVERFLOW.match(cell.text):
                saturated[i] = True
                continue
            found.append(_number(cell, numbers, well, channel.label, path))
        if found and not saturated[i]:
            values[i] = float(np.mean(found)) if len(found) > 1 else found[0]
    limit = getattr(readings, "detector_max", None) if saturated_at is None else saturated_at
    if limit:
        saturated |= values >= limit
    return ChannelReading(
        channel.label,
        values,
        saturated,
        chosen.name,
        index + 1,
        len(channel.reads),
        chosen.time_s,
        channel.wavelengths,
    )


def _number(cell: Cell, numbers: NumberFormat, well: str, label: str, path: str | Path) -> float:
    where = f"{path}: {cell.where}: well {well}, channel {label!r}"
    try:
        value = parse_number(cell.text, numbers)
    except AmbiguousNumber:
        thousands = "," if numbers.decimal == "." else "."
        raise InputError(
            f"{where}: {cell.text!r} could be a number with a thousands '{thousands}' or a "
            f"decimal '{thousands}' in a file whose decimal mark is '{numbers.decimal}'; "
            "export without thousands separators"
        ) from None
    except ValueError:
        raise InputError(f"{where}: {cell.text!r} is not a number") from None
    if not np.isfinite(value):
        raise InputError(f"{where}: {cell.text!r} is not a finite number")
    return value


def channel_values(
    readings: Mapping[str, Channel], name: str, wells: Iterable[str], *where: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(values, saturated) of one channel for `wells`; `where` is channel_reading's path,
    saturated_at and read, in that order."""
    found = channel_reading(readings, name, wells, *where)
    return found.values, found.saturated
