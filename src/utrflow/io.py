"""Atomic file output: a killed job never leaves a file that looks complete.

pandas is imported by the functions that take or give a DataFrame, not here: the reads jobs
write and read their tables as plain rows and start without it (a third of a second each).
"""

from __future__ import annotations

import csv
import errno
import gzip
import json
import math
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utrflow.errors import InputError, first_line

if TYPE_CHECKING:
    import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes), dir=path.parent
    )
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should be readable like any file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full(err: OSError, where: str | Path) -> InputError:
    """One line for a write that found the disk (or the user's quota) full."""
    return InputError(
        f"{where}: no space left on the device ({err.strerror or 'disk full'}); free space and "
        "rerun: nothing this job was writing was kept"
    )


@contextmanager
def all_or_nothing(paths: Sequence[str | Path], where: str | Path) -> Iterator[None]:
    """A job's outputs, written one after another, kept only if all of them are: a failure
    on the way (a full disk, a damaged input) removes those already in place, so nothing that
    looks finished is left. A full disk becomes one line naming `where`."""
    try:
        yield
    except BaseException as err:
        for path in paths:
            Path(path).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno in DISK_FULL:
            raise disk_full(err, where) from None
        raise


def write_tsv(frame: pd.DataFrame, path: str | Path, exact: Sequence[str] = ()) -> None:
    """Write a tab-separated table atomically, floats to 6 significant digits (labels read back
    are these, not the float64 they came from), except the `exact` columns: every digit (raw
    readings: a 24-bit reader's 8168026 must not become 8.16803e+06)."""
    out = frame.copy() if exact else frame
    for column in exact:
        out[column] = [exact_number(v) for v in frame[column]]
    with atomic_path(path) as tmp:
        out.to_csv(tmp, sep="\t", index=False, float_format="%.6g", lineterminator="\n")


def cell_text(value: Any) -> str:
    """One cell as `write_tsv` writes it: floats to 6 significant digits, None and NaN empty."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else "%.6g" % value  # noqa: UP031 (pandas' float_format)
    return str(value)


def write_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], path: str | Path) -> None:
    """`write_tsv` for plain rows (dicts holding `columns`), without pandas, to the same text."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([cell_text(row[c]) for c in columns] for row in rows)


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """A table this package wrote, as rows of strings (empty cells ""), without pandas; a row
    with more or fewer cells than the header is damage (see reading_output)."""
    with reading_output(path), open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise ValueError("no header")
        rows = []
        for cells in reader:
            if len(cells) != len(header):
                raise ValueError(
                    f"line {reader.line_num}: {len(cells)} cells, {len(header)} columns"
                )
            rows.append(dict(zip(header, cells, strict=True)))
        return rows


def exact_number(value: float) -> str:
    """A number as the shortest text that reads back to the same float ('' for NaN)."""
    value = float(value)
    if np.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def json_safe(data: Any) -> Any:
    """`data` with NumPy scalars and arrays as plain values and every non-finite number (NaN,
    infinity) as None: JSON has no NaN, and a metric that cannot be computed is `null`."""
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple | np.ndarray):
        return [json_safe(value) for value in data]
    if isinstance(data, np.generic):
        data = data.item()
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def write_json(data: Any, path: str | Path) -> None:
    """Write indented JSON atomically: NumPy values become plain ones, NaN and infinity `null`
    (what every JSON reader accepts); anything else that is not JSON stops before writing."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=False, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npy(array: np.ndarray, path: str | Path) -> None:
    """Save a NumPy array atomically (plain .npy, no pickle)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


# What reading a file cut short or overwritten with garbage raises (a zlib stream that ends,
# a table row cut in half, JSON that stops mid-object, an .npy shorter than its header says).
_DAMAGE = (
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    csv.Error,
    UnicodeDecodeError,
    ValueError,  # json.JSONDecodeError, pandas' ParserError and EmptyDataError, a short .npy
)


@contextmanager
def reading_output(path: str | Path) -> Iterator[None]:
    """Read one of the workflow's own intermediate files inside this block: damage to it (a
    disk that filled up, a copy cut short) stops the job with one line naming the file and how
    to rebuild it, instead of a traceback; a plain rerun would not, the file looks finished."""
    try:
        yield
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; {_REBUILD.format(path=path)}") from None
    except _DAMAGE as err:
        raise InputError(
            f"{path}: damaged or cut short ({first_line(err)}); {_REBUILD.format(path=path)}"
        ) from None


_REBUILD = "rebuild it and what follows from it: snakemake --forcerun {path}"


def read_json(path: str | Path) -> Any:
    """Read a JSON file the workflow wrote (damage stops in one line, see reading_output)."""
    with reading_output(path):
        return json.loads(Path(path).read_text())


def read_tsv(path: str | Path) -> pd.DataFrame:
    """Read a tab-separated table written by this package (empty strings stay empty; damage
    stops in one line, see reading_output)."""
    import pandas as pd

    with reading_output(path):
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])


def _table_bytes(path: str | Path) -> bytes:
    """A user table's bytes, un-gzipped when gzipped (user tables are small)."""
    with open(path, "rb") as handle:
        data = handle.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _text_encoding(path: str | Path) -> str:
    """UTF-8 (a byte-order mark forgiven) where the bytes are UTF-8, else Windows-1252: what
    Excel on Windows saves a CSV as (an 'é' or 'µ' in a note column is one byte there)."""
    try:
        data = _table_bytes(path)
    except (OSError, EOFError):
        return "utf-8-sig"  # the reader names the problem
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def _separator_in_use(path: str | Path, sep: str, encoding: str) -> str:
    """The separator the header line uses where the name promised another: a tab-separated
    table saved under a .csv name (or a comma-separated one under .tsv) has one column else."""
    try:
        header = _table_bytes(path).split(b"\n", 1)[0].decode(encoding, errors="replace")
    except (OSError, EOFError):
        return sep
    other = "\t" if sep == "," else ","
    return other if sep not in header and other in header else sep


def read_text_table(path: str | Path, sep: str) -> pd.DataFrame:
    """A user's CSV/TSV (a byte-order mark forgiven) as stripped strings, empty cells "".

    UTF-8 or, failing that, Windows-1252; the separator is the one the header uses (a tab
    under a .csv name is read as a tab).

    A column name given twice stops the run (pandas renames the second `label.1` and goes on,
    so the table would be read with the wrong column); an unnamed column that is empty
    throughout (a spreadsheet's trailing separator) is dropped."""
    import pandas as pd

    encoding = _text_encoding(path)
    sep = _separator_in_use(path, sep, encoding)
    try:
        raw = pd.read_csv(
            path, sep=sep, dtype=str, header=None, keep_default_na=False, encoding=encoding
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as err:
        raise InputError(f"{path}: cannot be read as a table: {first_line(err)}") from None
    raw = raw.apply(lambda column: column.str.strip())
    header = raw.iloc[0].tolist()
    twice = [name for i, name in enumerate(header) if name in header[:i]]
    if twice:
        raise InputError(
            f"{path}: line 1: column {twice[0]!r} given twice; keep one (only one can be read)"
        )
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = header
    unnamed = [name for name in header if not name and not frame[name].str.len().any()]
    return frame.drop(columns=unnamed)


def open_gzip_out(stack: ExitStack, path: str | Path) -> gzip.GzipFile:
    """A gzip stream written atomically (renamed into place when `stack` closes cleanly), at
    level 1 for speed, with no name or time in the header so the same content gives the same
    bytes."""
    tmp = stack.enter_context(atomic_path(path))
    raw = stack.enter_context(open(tmp, "wb"))  # noqa: SIM115 (closed by the stack)
    return stack.enter_context(
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0)
    )
