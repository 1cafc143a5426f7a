"""Stream nanopore reads from FASTQ, FASTQ.gz, FASTA(.gz) or (unaligned) BAM, in chunks.

pysam reads every format through htslib, so a multi-gigabyte run never sits in memory: callers
get lists of (name, sequence) a chunk at a time. Damaged input (a truncated gzip, a record
without a sequence line, a binary file) stops with one line naming the file and the record.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pysam

from utrflow.errors import InputError
from utrflow.sequences import reverse_complement

Record = tuple[str, str]
_BAM_MAGIC = b"BAM\x01"
_TEXT_STARTS = (ord(">"), ord("@"))


def detect_format(path: str | Path) -> str:
    """'bam', 'fastx' or raise: by content, not by name (gzip or plain text both fine)."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                first = handle.read(4)
            if first == _BAM_MAGIC:
                return "bam"
        else:
            first = head
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    if not first:
        return "empty"
    if first[0] in _TEXT_STARTS:
        return "fastx"
    raise InputError(f"{path}: not FASTQ, FASTA or BAM (first byte {first[:1]!r})")


def _fastx_records(path: Path) -> Iterator[Record]:
    """FASTQ/FASTA records via pysam, with the problems htslib only hints at named."""
    number = 0
    try:
        with pysam.FastxFile(str(path), persist=False) as handle:
            for entry in handle:
                number += 1
                seq = entry.sequence
                if not seq:
                    raise InputError(f"{path}: record {number} ({entry.name}): empty sequence")
                quality = entry.quality
                if quality is not None and len(quality) != len(seq):
                    raise InputError(
                        f"{path}: record {number} ({entry.name}): {len(seq)} bases but "
                        f"{len(quality)} quality values"
                    )
                yield entry.name, seq
    except (OSError, ValueError, EOFError) as err:
        raise InputError(
            f"{path}: damaged after record {number} ({err}); a truncated download or gzip?"
        ) from None


def _bam_records(path: Path) -> Iterator[Record]:
    """Unaligned or aligned BAM records; secondary/supplementary copies are skipped."""
    number = 0
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
                yield segment.query_name, seq
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: damaged after record {number} ({err})") from None


def iter_records(path: str | Path) -> Iterator[Record]:
    """Every read of one file as (name, sequence), upper case, in file order."""
    path = Path(path)
    kind = detect_format(path)
    if kind == "empty":
        raise InputError(f"{path}: the reads file is empty")
    records = _bam_records(path) if kind == "bam" else _fastx_records(path)
    for name, seq in records:
        yield name, seq.upper()


def iter_chunks(paths: list[str], chunk_size: int) -> Iterator[list[Record]]:
    """Reads of several files in file order, `chunk_size` at a time (the last may be short)."""
    chunk: list[Record] = []
    for path in paths:
        for record in iter_records(path):
            chunk.append(record)
            if len(chunk) >= chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
