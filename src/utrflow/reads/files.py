"""Stream nanopore reads from FASTQ, FASTQ.gz, FASTA(.gz), SAM or (unaligned) BAM, in chunks.

A multi-gigabyte run never sits in memory: callers get lists of (name, sequence) a chunk at a
time. FASTQ and FASTA are parsed here, strictly, because htslib's reader forgives too much: a
record without its '+' line silently gains the quality string as bases, and a truncated last
record or a stray text line passes unnoticed. SAM (`dorado basecaller --emit-sam`) and BAM go
through pysam; a SAM header or a first line of 11+ tab-separated fields tells SAM from FASTQ.
Damaged input (a truncated gzip, a broken record, a binary file) stops with one line naming the
file and the record; a file without reads is valid (a barcode that sequenced nothing) and only
warned about.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import re
import zlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pysam

from utrflow.errors import InputError, first_line
from utrflow.sequences import reverse_complement

Record = tuple[str, str]  # name, sequence
# name, sequence, mean quality (None for FASTA), base qualities as Phred+33 bytes (b"" for FASTA)
Read = tuple[str, str, float | None, bytes]
# A file's reads, closed early by first_record.
Reads = Generator[Read, None, None]
_ERROR_PROBABILITY = 10 ** (-np.arange(94) / 10)  # Phred 0..93
# The same by FASTQ quality character (Phred + 33), so a record's qualities need no arithmetic.
_ERROR_BY_CHARACTER = _ERROR_PROBABILITY[np.clip(np.arange(256) - 33, 0, 93)]
_BAM_MAGIC = b"BAM\x01"
_SAM_HEADERS = (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t")
_SAM_FIELDS = 11
_GZIP_MAGIC = b"\x1f\x8b"
_TEXT_STARTS = (ord(">"), ord("@"))
_NOT_BASE = re.compile(rb"[^ACGTURYSWKMBDHVNacgturyswkmbdhvn]")
# Phred+33 quality characters ('!' is Phred 0, '~' is 93): a tab or a byte past '~' in a
# quality line is damage, and would break the regions file the qualities are written to.
# (Deleting the valid ones and finding nothing left is a tenth of a regular expression's cost.)
_QUALITY_CHARACTERS = bytes(range(ord("!"), ord("~") + 1))
_NOT_QUALITY = re.compile(rb"[^!-~]")
_UNREADABLE = (OSError, EOFError, zlib.error)
# dorado duplex: dx:i:1 a duplex read, dx:i:-1 a simplex read whose duplex read is in the same
# output (the molecule's other copy), dx:i:0 a simplex read without one. Each molecule counts once:
# the parents are not demultiplexed (their names are handed to the caller, which records them).
_DUPLEX_PARENT = b"dx:i:-1"
# A read this long whose every base has the same quality carries no base qualities at all (what
# converters and older pipelines write when they have none): weighing by it would trust it.
UNIFORM_QUALITY_MIN = 20
log = logging.getLogger(__name__)


def _head(path: Path, size: int = 1 << 16) -> bytes:
    """The file's first bytes, un-gzipped when gzipped (a damaged rest is the parser's to name)."""
    with open(path, "rb") as raw:
        head = raw.read(size)
    if head[:2] == _GZIP_MAGIC:
        head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, size)
    return head


def detect_format(path: str | Path) -> str:
    """'bam', 'sam', 'fastx', 'empty' or raise: by content, not by name (gzip or plain text)."""
    path = Path(path)
    try:
        head = _head(path)
    except _UNREADABLE as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    if head[:4] == _BAM_MAGIC:
        return "bam"
    first = head.split(b"\n", 1)[0]
    if not head:
        return "empty"
    if first.startswith(_SAM_HEADERS) or first.count(b"\t") >= _SAM_FIELDS - 1:
        return "sam"
    if head[0] in _TEXT_STARTS or not first.strip():
        return "fastx"
    raise InputError(f"{path}: not FASTQ, FASTA or BAM (first byte {head[:1]!r}), nor SAM text")


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


def _fastq(
    path: Path, handle: BinaryIO, header: bytes, line_no: int, skipped: list[str]
) -> Iterator[Read]:
    """Four-line FASTQ records (what every basecaller writes), each line checked; duplex
    parents' names go to `skipped`, their reads are not given."""
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
        if _DUPLEX_PARENT in header:
            skipped.append(name)
            header, line_no = readline(), line_no + 4
            continue
        if not seq and not quality:  # trimmed to nothing (cutadapt, porechop): a read still
            yield name, "", None, b""
            header, line_no = readline(), line_no + 4
            continue
        if len(quality) != len(seq):
            raise InputError(
                f"{path}: record {number} ({name}): {len(seq)} bases but {len(quality)} "
                "quality values"
            )
        if quality.translate(None, _QUALITY_CHARACTERS) and (bad := _NOT_QUALITY.search(quality)):
            raise InputError(
                f"{path}: record {number} ({name}): {bad.group().decode('latin-1')!r} at "
                f"position {bad.start() + 1} of its quality line is not a Phred+33 quality "
                "('!' to '~')"
            )
        yield name, _checked(path, number, name, seq), _fastq_mean_quality(quality), quality
        header, line_no = readline(), line_no + 4


def mean_quality(phred: np.ndarray) -> float | None:
    """A read's mean quality as basecallers report it: the Phred value of the mean error
    probability (not the mean Phred value, which flatters reads with a few bad stretches)."""
    if not len(phred):
        return None
    error = _ERROR_PROBABILITY[np.clip(phred, 0, 93)].mean()
    return float(-10 * np.log10(error))


def _fastq_mean_quality(quality: bytes) -> float:
    """`mean_quality` of a FASTQ quality string (not empty), by one table look-up per read:
    the parser's main cost otherwise, ahead of gzip."""
    error = _ERROR_BY_CHARACTER[np.frombuffer(quality, dtype=np.uint8)].sum() / len(quality)
    return -10 * math.log10(error)


def _fasta(path: Path, handle: BinaryIO, header: bytes, line_no: int) -> Iterator[Read]:
    """FASTA records; sequences may span several lines."""
    number, name, parts = 1, _name(header), list[bytes]()
    for line in handle:
        if line[:1] == b">":
            yield name, _checked(path, number, name, b"".join(parts)), None, b""
            number, name, parts = number + 1, _name(line), []
        else:
            parts.append(line.strip())
    yield name, _checked(path, number, name, b"".join(parts)), None, b""


def _fastx_records(path: Path, skipped: list[str]) -> Reads:
    """FASTQ or FASTA (by the first character), plain or gzipped; damage named by record."""
    count = 0
    try:
        with _open_text(path) as handle:
            line_no, first = 1, handle.readline()
            while first and not first.strip():
                line_no, first = line_no + 1, handle.readline()
            if not first:
                return
            if b"\r" in first.rstrip(b"\r\n"):
                raise InputError(
                    f"{path}: line {line_no}: lines end in a carriage return alone (old Mac "
                    "text); convert the file to LF line ends (e.g. tr '\\r' '\\n')"
                )
            records = (
                _fastq(path, handle, first, line_no, skipped)
                if first[:1] == b"@"
                else _fasta(path, handle, first, line_no)
            )
            for record in records:
                count += 1
                yield record
    except _UNREADABLE as err:
        raise InputError(
            f"{path}: damaged after record {count} ({err}); a truncated download or gzip?"
        ) from None


def _quality(segment: pysam.AlignedSegment) -> tuple[float | None, bytes]:
    """Mean quality from the base qualities, else dorado's `qs` tag, else None; and the base
    qualities as Phred+33 bytes in the stored order (b"" without them)."""
    phred = segment.query_qualities
    if phred is not None:
        values = np.minimum(np.asarray(phred, dtype=np.uint8), 93)
        return mean_quality(values), (values + 33).tobytes()
    if segment.has_tag("qs"):
        return float(segment.get_tag("qs")), b""
    return None, b""


def _alignment_records(path: Path, mode: str, skipped: list[str]) -> Reads:
    """SAM ('r') or BAM ('rb') records, unaligned (dorado's, tags and all) or aligned;
    secondary/supplementary copies are skipped."""
    number = 0
    pysam.set_verbosity(0)  # htslib's own stderr lines would break the one-line error
    try:
        with pysam.AlignmentFile(str(path), mode, check_sq=False) as handle:
            for segment in handle.fetch(until_eof=True):
                number += 1
                if segment.is_secondary or segment.is_supplementary:
                    continue
                if segment.has_tag("dx") and segment.get_tag("dx") == -1:
                    # a duplex read's simplex parent: the molecule counts once
                    skipped.append(segment.query_name or "")
                    continue
                seq = segment.query_sequence
                if not seq:
                    raise InputError(f"{path}: record {number} ({segment.query_name}): no sequence")
                mean, phred = _quality(segment)
                if segment.is_reverse:  # aligned files store the reference strand
                    seq, phred = reverse_complement(seq), phred[::-1]
                yield segment.query_name or "", seq, mean, phred  # always named
    except InputError:
        raise
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: damaged after record {number} ({first_line(err)})") from None


_PARSERS = {
    "bam": lambda path, skipped: _alignment_records(path, "rb", skipped),
    "sam": lambda path, skipped: _alignment_records(path, "r", skipped),
}


def _records(path: Path, skipped: list[str] | None = None) -> Reads:
    """The records of one file in the parser its content calls for."""
    return _PARSERS.get(detect_format(path), _fastx_records)(
        path, [] if skipped is None else skipped
    )


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


def iter_reads(
    path: str | Path, stats: dict[str, int] | None = None, parents: list[str] | None = None
) -> Iterator[Read]:
    """Every read of one file as (name, sequence, mean quality, base qualities), upper case
    with U read as T, in file order; the mean quality is None and the base qualities b"" for
    FASTA and for reads whose bases all carry one quality (no information: see
    UNIFORM_QUALITY_MIN; `stats`, when given, counts them under `uniform_quality_reads`, and
    the duplex parents left out under `duplex_parents`). A
    read trimmed to nothing comes as an empty sequence; a dorado duplex read's simplex parents
    (dx:i:-1) do not come as reads: their names are appended to `parents`, when given, so the
    caller can still account for them.

    A file without reads is warned about, not refused: its plate's wells end as `no_reads`."""
    path = Path(path)
    count = uniform = duplex = 0
    skipped: list[str] = []  # parents met since the last read, handed on as they come
    for name, seq, quality, phred in _records(path, skipped):
        count += 1
        if skipped:
            duplex += len(skipped)
            if parents is not None:
                parents.extend(skipped)
            skipped.clear()
        if len(phred) >= UNIFORM_QUALITY_MIN and phred.count(phred[:1]) == len(phred):
            uniform += 1
            quality, phred = None, b""
        yield name, _as_bases(seq), quality, phred
    if count == 0:
        log.warning("%s: the reads file holds no reads", path)
    duplex += len(skipped)
    if parents is not None:
        parents.extend(skipped)
    if stats is not None:
        stats["uniform_quality_reads"] = stats.get("uniform_quality_reads", 0) + uniform
        stats["duplex_parents"] = stats.get("duplex_parents", 0) + duplex
    if duplex:
        log.info(
            "%s: %d simplex reads whose duplex read is in the file (dx:i:-1) not demultiplexed "
            "(status duplex_parent): each molecule counts once",
            path,
            duplex,
        )
    if uniform:
        log.warning(
            "%s: %d of %d reads carry one base quality throughout (a converter's placeholder): "
            "their qualities are ignored and their wells called by counting reads, as from FASTA",
            path,
            uniform,
            count,
        )


def iter_records(path: str | Path) -> Iterator[Record]:
    """Every read of one file as (name, sequence): iter_reads without the quality."""
    for name, seq, *_qualities in iter_reads(path):
        yield name, seq


def overlap_error(path: str | Path, name: str, other: str | Path, places: str = "") -> InputError:
    """One line for a read met twice: in two files, or twice in one file; `places` says where
    the files are listed."""
    if str(path) == str(other):
        return InputError(
            f"{path}: read {name} occurs twice in the file: it repeats its own reads (a file "
            "concatenated with itself?); give each read once"
        )
    return InputError(
        f"{path}: read {name} is also in {other}{places}: the files overlap (a merged file "
        "listed or matched along with its parts, a copy, or one file twice); give each read once"
    )


# A nanopore read's name: the UUID MinKNOW gives the molecule. Met in two files with other
# bases, it is the same molecule basecalled twice (a re-basecall with another model beside the
# first), which would count each molecule twice.
READ_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def basecalled_twice(path: str, name: str, other: str, places: str = "") -> InputError:
    return InputError(
        f"{path}: read {name} is also in {other}{places} with other bases: the same molecules "
        "basecalled twice (a re-basecall beside the first, e.g. hac and sup)? give one "
        "basecall's files"
    )


SENTINEL_SHARE = 256  # besides each file's first read, one read name in this many is a sentinel


def _is_sampled(name: str) -> bool:
    """A fixed share of read names by their hash: the same reads are sampled wherever they are."""
    return zlib.crc32(name.encode()) % SENTINEL_SHARE == 0


def iter_chunks(
    paths: list[str],
    chunk_size: int,
    stats: dict[str, int] | None = None,
    parents: list[str] | None = None,
) -> Iterator[list[Read]]:
    """Reads of several files in file order, `chunk_size` at a time (the last may be short);
    duplex parents' names go to `parents` (see `iter_reads`).

    Every file's first read, and one read name in SENTINEL_SHARE, is a sentinel: met again
    (same name, same bases) in another file or later in its own, the files overlap (a merged
    file beside its parts, a file concatenated with itself) and reads would count twice, so the
    run stops. A share of the reads keeps memory flat where a set of all names would not, and
    still catches any repeated stretch of more than a few thousand reads; files whose reads were
    renamed 1, 2, 3... share names but not bases, and pass.
    """
    seen: dict[str, tuple[int, str, int]] = {}  # name -> (hash of bases, file, record number)
    for path, first in check_overlap(dict.fromkeys(paths, "")).items():
        if first is not None:
            seen[first[0]] = (hash(first[1]), path, 1)
    chunk: list[Read] = []
    for path in paths:
        for number, read in enumerate(iter_reads(path, stats, parents), start=1):
            sentinel = seen.get(read[0])
            if sentinel is None:
                if _is_sampled(read[0]):
                    seen[read[0]] = (hash(read[1]), path, number)
            elif sentinel[0] == hash(read[1]) and sentinel[1:] != (path, number):
                raise overlap_error(path, read[0], sentinel[1])
            elif sentinel[1] != path and READ_UUID.fullmatch(read[0]):
                raise basecalled_twice(path, read[0], sentinel[1])
            chunk.append(read)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _identity(path: str) -> tuple[int, int]:
    """The file itself (device, inode), whatever name, link or '..' reaches it."""
    stat = Path(path).stat()
    return stat.st_dev, stat.st_ino


def doubled(path: str | Path, probe: int = 4096) -> bool:
    """Is the file its own first half twice over (what `cat f f > g` makes, gzipped or not)?
    Two reads of at most `probe` bytes: the start against the middle."""
    size = Path(path).stat().st_size
    if size < 2 or size % 2:
        return False
    half = size // 2
    with open(path, "rb") as handle:
        start = handle.read(min(probe, half))
        handle.seek(half)
        middle = handle.read(len(start))
    return start == middle


def check_overlap(places: dict[str, str]) -> dict[str, Record | None]:
    """Stop when two listed files are one file under two names (a link, 'dir/../file'), start
    with the same read (a copy), or a file is itself twice over; `places` maps each file to
    where it is listed ('' for nowhere in particular), for the one-line error. Returns each
    file's first read (name, bases as `iter_reads` gives them), None for a file without reads;
    reads repeated later in a file are caught while demultiplexing (`iter_chunks`)."""

    def at(path: str) -> str:
        return f"{path} ({places[path]})" if places[path] else path

    by_identity: dict[tuple[int, int], str] = {}
    by_first: dict[Record, str] = {}
    by_name: dict[str, str] = {}  # first reads named by a nanopore UUID
    firsts: dict[str, Record | None] = {}
    for path in places:
        identity = _identity(path)
        if identity in by_identity:
            other = by_identity[identity]
            raise InputError(
                f"{at(path)} is the same file as {at(other)} under another "
                "name (a link or '..'); list each reads file once"
            )
        by_identity[identity] = path
        if doubled(path):
            raise InputError(
                f"{at(path)}: its second half repeats its first (a file concatenated with "
                "itself?); give each read once"
            )
        first = first_record(path)
        if first is not None:
            first = (first[0], _as_bases(first[1]))
            other = by_first.get(first) or by_name.get(first[0], "")
            where = f" ({places[path]}; {places[other]})" if other and places[path] else ""
            if first in by_first:
                raise overlap_error(path, first[0], other, where)
            if other:
                raise basecalled_twice(path, first[0], other, where)
            by_first[first] = path
            if READ_UUID.fullmatch(first[0]):
                by_name[first[0]] = path
        firsts[path] = first
    return firsts
