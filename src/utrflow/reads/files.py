"""Stream nanopore reads from FASTQ, FASTQ.gz, FASTA(.gz) or (unaligned) BAM, in chunks.

A multi-gigabyte run never sits in memory: callers get lists of (name, sequence) a chunk at a
time. FASTQ and FASTA are parsed here, strictly, because htslib's reader forgives too much: a
record without its '+' line silently gains the quality string as bases, and a truncated last
record or a stray text line passes unnoticed. BAM goes through pysam. Damaged input (a truncated
gzip, a broken record, a binary file) stops with one line naming the file and the record; a file
without reads is valid (a barcode that sequenced nothing) and only warned about.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import zlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pysam

from utrflow.errors import InputError
from utrflow.sequences import reverse_complement

Record = tuple[str, str]  # name, sequence
Read = tuple[str, str, float | None]  # name, sequence, mean quality (None for FASTA)
# A file's reads, closed early by first_record.
Reads = Generator[Read, None, None]
_ERROR_PROBABILITY = 10 ** (-np.arange(94) / 10)  # Phred 0..93
_BAM_MAGIC = b"BAM\x01"
_GZIP_MAGIC = b"\x1f\x8b"
_TEXT_STARTS = (ord(">"), ord("@"))
_NOT_BASE = re.compile(rb"[^ACGTURYSWKMBDHVNacgturyswkmbdhvn]")
_UNREADABLE = (OSError, EOFError, zlib.error)
log = logging.getLogger(__name__)


def detect_format(path: str | Path) -> str:
    """'bam', 'fastx', 'empty' or raise: by content, not by name (gzip or plain text both fine)."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
        if head == _GZIP_MAGIC:
            with gzip.open(path, "rb") as handle:
                first = handle.read(4)
            if first == _BAM_MAGIC:
                return "bam"
        else:
            first = head
    except _UNREADABLE as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    if not first:
        return "empty"
    if first[0] in _TEXT_STARTS:
        return "fastx"
    raise InputError(f"{path}: not FASTQ, FASTA or BAM (first byte {first[:1]!r})")


@contextmanager
def _open_text(path: Path) -> Iterator[BinaryIO]:
    """A plain or gzipped text file as one buffered binary stream (big reads: gzip is the cost)."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw) as unzipped, io.BufferedReader(unzipped, 1 << 20) as text:
            yield text


def _checked(path: Path, number: int, name: str, seq: bytes) -> str:
    """The record's bases as text, or a one-line error when there are none or some aren't bases."""
    where = f"{path}: record {number} ({name})"
    if not seq:
        raise InputError(f"{where}: empty sequence")
    bad = _NOT_BASE.search(seq)
    if bad:
        char = bad.group().decode("latin-1")
        raise InputError(f"{where}: {char!r} at position {bad.start() + 1} is not a base")
    return seq.decode("ascii")


def _name(header: bytes) -> str:
    """The read id: the header's first word, without its '@' or '>'."""
    words = header[1:].split(maxsplit=1)
    return words[0].decode("utf-8", "replace") if words else ""


def _fastq(path: Path, handle: BinaryIO, header: bytes, line_no: int) -> Iterator[Read]:
    """Four-line FASTQ records (what every basecaller writes), each line checked."""
    readline = handle.readline
    number = 0
    while header:
        header = header.rstrip(b"\r\n")
        if not header:  # blank lines between records or at the end
            header, line_no = readline(), line_no + 1
            continue
        number += 1
        if header[:1] != b"@":
            raise InputError(
                f"{path}: record {number} (line {line_no}): expected a '@' header, found "
                f"{header[:30].decode('latin-1')!r}"
            )
        name = _name(header)
        seq, plus, quality = readline(), readline(), readline()
        if not quality:
            raise InputError(f"{path}: record {number} ({name}): the file ends inside the record")
        if plus[:1] != b"+":
            raise InputError(f"{path}: record {number} ({name}): no '+' line after the sequence")
        seq, quality = seq.rstrip(b"\r\n"), quality.rstrip(b"\r\n")
        if len(quality) != len(seq):
            raise InputError(
                f"{path}: record {number} ({name}): {len(seq)} bases but {len(quality)} "
                "quality values"
            )
        phred = np.frombuffer(quality, dtype=np.uint8).astype(np.int16) - 33
        yield name, _checked(path, number, name, seq), mean_quality(phred)
        header, line_no = readline(), line_no + 4


def mean_quality(phred: np.ndarray) -> float | None:
    """A read's mean quality as basecallers report it: the Phred value of the mean error
    probability (not the mean Phred value, which flatters reads with a few bad stretches)."""
    if not len(phred):
        return None
    error = _ERROR_PROBABILITY[np.clip(phred, 0, 93)].mean()
    return float(-10 * np.log10(error))


def _fasta(path: Path, handle: BinaryIO, header: bytes, line_no: int) -> Iterator[Read]:
    """FASTA records; sequences may span several lines."""
    number, name, parts = 1, _name(header), list[bytes]()
    for line in handle:
        if line[:1] == b">":
            yield name, _checked(path, number, name, b"".join(parts)), None
            number, name, parts = number + 1, _name(line), []
        else:
            parts.append(line.strip())
    yield name, _checked(path, number, name, b"".join(parts)), None


def _fastx_records(path: Path) -> Reads:
    """FASTQ or FASTA (by the first character), plain or gzipped; damage named by record."""
    count = 0
    try:
        with _open_text(path) as handle:
            line_no, first = 1, handle.readline()
            while first and not first.strip():
                line_no, first = line_no + 1, handle.readline()
            if not first:
                return
            parser = _fastq if first[:1] == b"@" else _fasta
            for record in parser(path, handle, first, line_no):
                count += 1
                yield record
    except _UNREADABLE as err:
        raise InputError(
            f"{path}: damaged after record {count} ({err}); a truncated download or gzip?"
        ) from None


def _bam_records(path: Path) -> Reads:
    """Unaligned or aligned BAM records; secondary/supplementary copies are skipped."""
    number = 0
    pysam.set_verbosity(0)  # htslib's own stderr lines would break the one-line error
    try:
        with pysam.AlignmentFile(str(path), "rb", check_sq=False) as handle:
            for segment in handle.fetch(until_eof=True):
                number += 1
                if segment.is_secondary or segment.is_supplementary:
                    continue
                seq = segment.query_sequence
                if not seq:
                    raise InputError(f"{path}: record {number} ({segment.query_name}): no sequence")
                if segment.is_reverse:  # aligned BAMs store the reference strand
                    seq = reverse_complement(seq)
                phred = segment.query_qualities
                quality = mean_quality(np.asarray(phred)) if phred is not None else None
                yield segment.query_name or "", seq, quality  # BAM always names a record
    except InputError:
        raise
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: damaged after record {number} ({err})") from None


def _records(path: Path) -> Reads:
    """The records of one file in the parser its content calls for."""
    return _bam_records(path) if detect_format(path) == "bam" else _fastx_records(path)


def first_record(path: str | Path) -> Record | None:
    """The first read of a file, or None when it holds none: the cheap check before any job."""
    records = _records(Path(path))
    try:
        first = next(records, None)
    finally:
        records.close()
    return None if first is None else (first[0], first[1])


def _as_bases(seq: str) -> str:
    """A read's bases as every caller sees them: upper case, U read as T."""
    return seq.upper().replace("U", "T")


def iter_reads(path: str | Path) -> Iterator[Read]:
    """Every read of one file as (name, sequence, mean quality), upper case with U read as T,
    in file order; the quality is None for FASTA.

    A file without reads is warned about, not refused: its plate's wells end as `no_reads`."""
    path = Path(path)
    count = 0
    for name, seq, quality in _records(path):
        count += 1
        yield name, _as_bases(seq), quality
    if count == 0:
        log.warning("%s: the reads file holds no reads", path)


def iter_records(path: str | Path) -> Iterator[Record]:
    """Every read of one file as (name, sequence): iter_reads without the quality."""
    for name, seq, _quality in iter_reads(path):
        yield name, seq


def overlap_error(path: str | Path, name: str, other: str | Path) -> InputError:
    """One line for two files of a read group that hold the same read."""
    return InputError(
        f"{path}: read {name} is also in {other}: the files overlap (a merged file listed or "
        "matched along with its parts, or one file twice); give each read once"
    )


def first_reads(paths: list[str]) -> dict[str, Record | None]:
    """Each file's first read (name, sequence as `iter_reads` gives it), None for a file without
    reads; two files that start with the same read (name and bases) stop here."""
    owners: dict[Record, str] = {}
    firsts: dict[str, Record | None] = {}
    for path in paths:
        first = first_record(path)
        if first is not None:
            first = (first[0], _as_bases(first[1]))
            if first in owners:
                raise overlap_error(path, first[0], owners[first])
            owners[first] = path
        firsts[path] = first
    return firsts


def iter_chunks(paths: list[str], chunk_size: int) -> Iterator[list[Read]]:
    """Reads of several files in file order, `chunk_size` at a time (the last may be short).

    Every file's first read is a sentinel: met in another file (same name, same bases), the
    files overlap (a merged file beside its parts) and every read would count twice, so the
    run stops. One read per file keeps memory flat where a set of all read names would not;
    files whose reads were renamed 1, 2, 3... share names but not bases, and pass.
    """
    sentinels = {
        first[0]: (first[1], path)
        for path, first in first_reads(paths).items()
        if first is not None
    }
    chunk: list[Read] = []
    for path in paths:
        for read in iter_reads(path):
            sentinel = sentinels.get(read[0])
            if sentinel is not None and sentinel[1] != path and sentinel[0] == read[1]:
                raise overlap_error(path, read[0], sentinel[1])
            chunk.append(read)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
