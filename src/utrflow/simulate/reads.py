"""The simulated run's nanopore reads: templates, the read plan, true reads with errors, and
the FASTQ.gz / unaligned BAM files, chunk by chunk (flat memory)."""

from __future__ import annotations

import gzip
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow.io import atomic_path, open_gzip_out
from utrflow.sequences import reverse_complement
from utrflow.simulate import nanopore
from utrflow.simulate.library import Colonies
from utrflow.simulate.run_settings import RunSimulation

TRUTH_READS_COLUMNS = ["read_id", "plate", "well", "kind", "strand"]
KINDS = ("full", "truncated", "chimera", "junk")
_FULL, _TRUNCATED, _CHIMERA, _JUNK = range(4)
_STRANDS = "+-"

# --------------------------------------------------------------------------------------------
# Templates and the read plan


def amplicon(fwd_barcode: str, rev_barcode: str, insert: str, p: RunSimulation) -> str:
    """The well's amplicon, forward orientation: bc · primer · … · flank · UTR · flank · … · rc."""
    return "".join(
        (
            fwd_barcode,
            p.fwd_primer,
            p.upstream_spacer,
            p.upstream_flank,
            insert,
            p.downstream_flank,
            p.downstream_spacer,
            reverse_complement(p.rev_primer),
            reverse_complement(rev_barcode),
        )
    )


@dataclass(frozen=True)
class Templates:
    """All amplicons (both strands) in one pool, plus each well's major/minor template."""

    pool: np.ndarray  # ASCII: forward templates, reverse templates, adapter, adapter rc
    forward_at: np.ndarray  # offset of each template's forward strand
    reverse_at: np.ndarray  # offset of each template's reverse strand
    length: np.ndarray
    adapter_at: int
    adapter_rc_at: int
    major: np.ndarray  # template per well (-1: no reads possible)
    minor: np.ndarray  # second template of mixed wells, else -1


def build_templates(
    wells: pd.DataFrame,
    colonies: Colonies,
    major: np.ndarray,
    minor: np.ndarray,
    params: RunSimulation,
    rng: np.random.Generator,
) -> Templates:
    """One amplicon per colony in a well; blank/empty wells get a stray template: their own
    barcodes around a random colony's insert from the same plate (carry-over contamination)."""
    texts: list[str] = []
    well_major = np.full(len(wells), -1, dtype=np.int64)
    well_minor = np.full(len(wells), -1, dtype=np.int64)
    fwd = wells["fwd_barcode"].tolist()
    rev = wells["rev_barcode"].tolist()
    plates = wells["plate"].to_numpy()
    for i in range(len(wells)):
        source = major[i]
        if source < 0:
            donors = major[(plates == plates[i]) & (major >= 0)]
            if donors.size == 0:
                donors = major[major >= 0]
            if donors.size == 0:
                continue
            source = int(rng.choice(donors))
        well_major[i] = len(texts)
        texts.append(amplicon(fwd[i], rev[i], colonies.sequence[source], params))
        if minor[i] >= 0:
            well_minor[i] = len(texts)
            texts.append(amplicon(fwd[i], rev[i], colonies.sequence[minor[i]], params))
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    forward_at = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    pool = nanopore.to_array(
        "".join(texts)
        + "".join(reverse_complement(t) for t in texts)
        + nanopore.ADAPTER
        + nanopore.ADAPTER_RC
    )
    return Templates(
        pool=pool,
        forward_at=forward_at,
        reverse_at=total + forward_at,
        length=lengths,
        adapter_at=2 * total,
        adapter_rc_at=2 * total + len(nanopore.ADAPTER),
        major=well_major,
        minor=well_minor,
    )


@dataclass(frozen=True)
class ReadPlan:
    """What every read of one file is, in file order (small integer arrays)."""

    kind: np.ndarray  # int8: 0 full, 1 truncated, 2 chimera, 3 junk
    well: np.ndarray  # global well index, -1 for chimeras and junk
    first: np.ndarray  # template of the read (first part of a chimera); -1 for junk
    second: np.ndarray  # second template of a chimera, else -1
    strand: np.ndarray  # int8 strand of the first part: 0 forward, 1 reverse
    second_strand: np.ndarray  # int8 strand of a chimera's second part


def well_read_counts(
    wells: pd.DataFrame, templates: Templates, params: RunSimulation, rng: np.random.Generator
) -> np.ndarray:
    """Reads per well: negative binomial for colony wells, a few strays for blank/empty wells."""
    role = wells["role"].to_numpy()
    n = len(wells)
    size = params.reads_per_well_dispersion
    mean = params.reads_per_well_mean
    colony = (
        rng.negative_binomial(size, size / (size + mean), size=n)
        if size > 0
        else np.full(n, round(mean))
    )
    stray = rng.poisson(params.stray_reads_mean, size=n)
    counts = np.where(role == "sample", colony, stray)
    return np.where(templates.major >= 0, counts, 0).astype(np.int64)


def plan_reads(
    wells_in_file: np.ndarray,
    counts: np.ndarray,
    mixed_ratio: np.ndarray,
    templates: Templates,
    params: RunSimulation,
    rng: np.random.Generator,
) -> ReadPlan:
    """The reads of one file: the wells' reads, then chimeras and junk at their fractions, shuffled.

    Chimera parts are drawn from the file's own well reads, so abundant amplicons join more often.
    """
    well = np.repeat(wells_in_file, counts[wells_in_file])
    n_well = well.size
    take_minor = (templates.minor[well] >= 0) & (rng.random(n_well) >= mixed_ratio[well])
    first = np.where(take_minor, templates.minor[well], templates.major[well])
    other = params.chimera_fraction + params.junk_fraction
    scale = 1.0 / (1.0 - other)
    truncated = rng.random(n_well) < params.truncated_fraction * scale
    n_chimera = round(n_well * params.chimera_fraction * scale) if n_well else 0
    n_junk = round(n_well * params.junk_fraction * scale)
    parts = first[rng.integers(0, max(n_well, 1), size=(2, n_chimera))] if n_chimera else None
    n = n_well + n_chimera + n_junk
    kind = np.concatenate(
        [
            np.where(truncated, _TRUNCATED, _FULL).astype(np.int8),
            np.full(n_chimera, _CHIMERA, np.int8),
            np.full(n_junk, _JUNK, np.int8),
        ]
    )
    empty = np.full(n_chimera + n_junk, -1, dtype=np.int64)
    chim_first = parts[0] if parts is not None else np.zeros(0, np.int64)
    chim_second = parts[1] if parts is not None else np.zeros(0, np.int64)
    plan = ReadPlan(
        kind=kind,
        well=np.concatenate([well, empty]),
        first=np.concatenate([first, chim_first, np.full(n_junk, -1, np.int64)]),
        second=np.concatenate(
            [np.full(n_well, -1, np.int64), chim_second, np.full(n_junk, -1, np.int64)]
        ),
        strand=rng.integers(0, 2, size=n, dtype=np.int8),
        second_strand=rng.integers(0, 2, size=n, dtype=np.int8),
    )
    order = rng.permutation(n)
    # int32 indices: the plan is the only part that grows with the run (~11 bytes per read).
    return ReadPlan(*(_narrow(getattr(plan, f.name))[order] for f in fields(ReadPlan)))


def _narrow(values: np.ndarray) -> np.ndarray:
    """int64 index arrays as int32 (wells and templates number far below 2**31)."""
    return values.astype(np.int32) if values.dtype == np.int64 else values


# --------------------------------------------------------------------------------------------
# Turning a chunk of the plan into true sequences


def _strand_at(templates: Templates, template: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """Pool offset of each template on the requested strand."""
    safe = np.maximum(template, 0)
    return np.where(strand == 0, templates.forward_at[safe], templates.reverse_at[safe])


def true_reads(
    plan: ReadPlan, templates: Templates, params: RunSimulation, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True bases of a chunk of reads, end to end, and their lengths.

    Each read is seven segments: junk · adapter remnant · amplicon (or junk body) · [junk ·
    second amplicon, chimeras only] · adapter-rc remnant · junk. Truncated reads stop inside
    their amplicon (the 5' part, in read orientation, survives) and lose the far end.
    """
    is_junk = plan.kind == _JUNK
    lengths = _draw_lengths(plan, templates, params, rng)
    pool, junk_at = _junk_pool(templates, lengths, is_junk, rng)
    if params.clipped_fraction > 0:  # drawn last, so runs without clipped ends stay the same
        _clip_ends(lengths, plan.kind, params, rng)
    first_at = np.where(is_junk, junk_at[:, 1], _strand_at(templates, plan.first, plan.strand))
    second_at = _strand_at(templates, plan.second, plan.second_strand)
    pool, mid_at, second_at = _shape_reads(
        pool, plan, templates, params, lengths, (junk_at[:, 2], second_at), rng
    )
    starts = np.column_stack(
        [
            junk_at[:, 0],
            templates.adapter_at + len(nanopore.ADAPTER) - lengths.open,
            first_at,
            mid_at,
            second_at,
            np.full(plan.kind.size, templates.adapter_rc_at),
            junk_at[:, 3],
        ]
    )
    stacked = lengths.stacked()
    return nanopore.concat_segments(pool, starts, stacked), stacked.sum(axis=1)


@dataclass
class _Lengths:
    """Each read's seven segment lengths, in read order (see `true_reads`); the clipped ends
    and the artefact and tandem shapes change some of them after they are drawn."""

    junk_left: np.ndarray
    open: np.ndarray  # adapter remnant
    first: np.ndarray  # amplicon, its truncated part, or a junk body
    junk_mid: np.ndarray
    second: np.ndarray  # chimeras' second amplicon
    close: np.ndarray  # adapter-rc remnant
    junk_right: np.ndarray

    def stacked(self) -> np.ndarray:
        """The lengths as one (reads x 7) array, the segments in read order."""
        return np.column_stack(
            [self.junk_left, self.open, self.first, self.junk_mid, self.second, self.close,
             self.junk_right]
        )  # fmt: skip


def _draw_lengths(
    plan: ReadPlan, templates: Templates, params: RunSimulation, rng: np.random.Generator
) -> _Lengths:
    """The segment lengths of each read by its kind, drawn in a fixed order (a seeded run's
    reads depend on it): truncation cut, junk body, adapter remnants, end and middle junk."""
    n = plan.kind.size
    kind = plan.kind
    is_chimera = kind == _CHIMERA
    is_truncated = kind == _TRUNCATED
    first_len = templates.length[np.maximum(plan.first, 0)]
    cut = np.floor(rng.uniform(0.15, 0.9, size=n) * first_len).astype(np.int64)
    first_len = np.where(is_truncated, cut, first_len)
    junk_body = rng.integers(params.junk_min_length, params.junk_max_length + 1, size=n)
    first_len = np.where(kind == _JUNK, junk_body, first_len)
    second_len = np.where(is_chimera, templates.length[np.maximum(plan.second, 0)], 0)
    adapter_len = len(nanopore.ADAPTER)
    open_len = rng.integers(adapter_len // 2, adapter_len + 1, size=n)
    close_len = np.where(is_truncated, 0, rng.integers(0, 16, size=n))
    junk_left = rng.integers(0, params.end_junk_max + 1, size=n)
    junk_mid = np.where(is_chimera, rng.integers(0, 6, size=n), 0)
    junk_right = np.where(is_truncated, 0, rng.integers(0, params.end_junk_max + 1, size=n))
    return _Lengths(junk_left, open_len, first_len, junk_mid, second_len, close_len, junk_right)


def _junk_pool(
    templates: Templates, lengths: _Lengths, is_junk: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The templates' pool with one fresh random buffer after it, and where each read's four
    junk segments (left, body, middle, right) start in it: consecutive slices of the buffer."""
    junk_lens = np.column_stack(
        [lengths.junk_left, np.where(is_junk, lengths.first, 0), lengths.junk_mid,
         lengths.junk_right]
    )  # fmt: skip
    junk_at = (
        templates.pool.size + np.cumsum(junk_lens.ravel()).reshape(junk_lens.shape) - junk_lens
    )
    pool = np.concatenate([templates.pool, nanopore.random_bases(rng, int(junk_lens.sum()))])
    return pool, junk_at


def _clip_ends(
    lengths: _Lengths, kind: np.ndarray, params: RunSimulation, rng: np.random.Generator
) -> None:
    """Clip the far barcode entry of some full reads (a few bases up to half of it), with no
    adapter or junk after it, as basecallers' trimming leaves real reads."""
    entry = params.barcode_length + len(params.barcode_constant_5 + params.barcode_constant_3)
    n = kind.size
    clip = (kind == _FULL) & (rng.random(n) < params.clipped_fraction)
    lost = rng.integers(1, max(2, entry // 2 + 1), size=n)
    lengths.first = np.where(clip, lengths.first - lost, lengths.first)
    lengths.close = np.where(clip, 0, lengths.close)
    lengths.junk_right = np.where(clip, 0, lengths.junk_right)


def _shape_reads(
    pool: np.ndarray,
    plan: ReadPlan,
    templates: Templates,
    params: RunSimulation,
    lengths: _Lengths,
    starts: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn some full reads into artefacts, then others into tandem inserts (each drawn only
    when asked for, so runs without them stay the same): the pool with the spliced segments,
    and the middle and second segments' new starts (`starts`: their starts before)."""
    n = plan.kind.size
    parts: tuple[np.ndarray, ...] = (lengths.first, starts[0], lengths.junk_mid, starts[1],
                                     lengths.second)  # fmt: skip
    template = (
        _strand_at(templates, plan.first, plan.strand),
        templates.length[np.maximum(plan.first, 0)],
    )
    made = np.zeros(n, dtype=bool)
    shapes = ((params.artefact_fraction, _artefact), (params.tandem_fraction, _tandem))
    for fraction, shape in shapes:
        if fraction > 0:  # drawn last too: runs without them stay the same
            pick = (plan.kind == _FULL) & ~made & (rng.random(n) < fraction)
            core, keep, resume = shape(params, template[1])
            pool, parts = _splice(pool, plan.strand == 0, pick, core, keep, resume, parts, template)
            made |= pick
    lengths.first, mid_at, lengths.junk_mid, second_at, lengths.second = parts
    return pool, mid_at, second_at


ARTEFACT_INSERT = "GATTACAGGCCTTAAGCTTGCATGCCTGCAGGTCGACTCTAGAG"  # made up, recurring
TANDEM_INSERT = "CTGACCGTTAGCAATCGGTACTTGCAGTACGGATCCTTAAG"  # made up: tandem reads' first copy


Ends = tuple[int | np.ndarray, int | np.ndarray]  # (forward strand, reverse strand)


def _splice(
    pool: np.ndarray,
    forward: np.ndarray,
    pick: np.ndarray,
    core: str,
    keep: Ends,
    resume: Ends,
    parts: tuple[np.ndarray, ...],
    template: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The picked reads remade as the template's first `keep` bases, `core` (forward
    orientation; reverse-complemented on the reverse strand), and the template from `resume`
    bases before its end; each of `keep` and `resume` as (forward strand, reverse strand).
    `parts`: first length, middle start and length, second start and length; `template`:
    where each read's template strand starts in the pool, and its length."""
    first_len, mid_at, mid_len, second_at, second_len = parts
    start, length = template
    head = np.where(forward, keep[0], keep[1])
    tail = np.where(forward, resume[0], resume[1])
    core_at = pool.size + np.where(forward, 0, len(core))
    pool = np.concatenate([pool, nanopore.to_array(core + reverse_complement(core))])
    return pool, (
        np.where(pick, head, first_len),
        np.where(pick, core_at, mid_at),
        np.where(pick, len(core), mid_len),
        np.where(pick, start + length - tail, second_at),
        np.where(pick, tail, second_len),
    )


def _entry(params: RunSimulation) -> int:
    return params.barcode_length + len(params.barcode_constant_5 + params.barcode_constant_3)


def _artefact(params: RunSimulation, length: np.ndarray) -> tuple[str, Ends, Ends]:
    """A short artefact (`_splice`'s core, keep, resume): the template's barcode entry and
    primer at each end around upstream flank · ARTEFACT_INSERT · downstream flank, the spacers
    gone, as recurring artefact reads of real runs carry both flanks."""
    core = params.upstream_flank + ARTEFACT_INSERT + params.downstream_flank
    fwd, rev = _entry(params) + len(params.fwd_primer), _entry(params) + len(params.rev_primer)
    return core, (fwd, rev), (rev, fwd)


def _tandem(params: RunSimulation, length: np.ndarray) -> tuple[str, Ends, Ends]:
    """Tandem inserts (`_splice`'s core, keep, resume): a first copy (upstream flank ·
    TANDEM_INSERT · downstream flank) before the colony's own, which stays next to the
    downstream construct (the copy expressed)."""
    core = TANDEM_INSERT + params.downstream_flank + params.upstream_flank
    before = _entry(params) + len(params.fwd_primer + params.upstream_spacer)
    before += len(params.upstream_flank)  # the core goes in right after the first flank
    after = length - before  # forward-strand bases from the insert on
    return core, (before, after), (after, before)


# --------------------------------------------------------------------------------------------
# Writing the reads


def _truth_labels(
    wells: pd.DataFrame, wells_in_file: np.ndarray, file_plate: str
) -> tuple[list[bytes], dict[int, int]]:
    """Truth-row tails (after the read id) for every (well, kind, strand) the file can hold.

    Returns the labels and a map from global well index to its first label; label keys are
    base + kind * 2 + strand for well reads, then four chimera labels, then junk.
    """
    labels: list[bytes] = []
    first_label: dict[int, int] = {}
    plates = wells["plate"].tolist()
    names = wells["well"].tolist()
    for w in wells_in_file.tolist():
        first_label[w] = len(labels)
        for kind in (KINDS[_FULL], KINDS[_TRUNCATED]):
            for strand in _STRANDS:
                labels.append(f"\t{plates[w]}\t{names[w]}\t{kind}\t{strand}\n".encode())
    for a in _STRANDS:
        for b in _STRANDS:
            labels.append(f"\t{file_plate}\t\tchimera\t{a}{b}\n".encode())
    labels.append(f"\t{file_plate}\t\tjunk\t\n".encode())
    return labels, first_label


def _truth_rows(
    names: np.ndarray, plan: ReadPlan, labels: list[bytes], well_label: np.ndarray
) -> bytes:
    """truth_reads rows of a chunk: read id + the precomputed tail for its well/kind/strand."""
    n_wells_labels = len(labels) - 5
    kind = plan.kind.astype(np.int64)
    strand = plan.strand.astype(np.int64)
    key = np.where(
        kind == _JUNK,
        n_wells_labels + 4,
        np.where(
            kind == _CHIMERA,
            n_wells_labels + strand * 2 + plan.second_strand,
            well_label[np.maximum(plan.well, 0)] + kind * 2 + strand,
        ),
    ).tolist()
    text = names.tobytes()
    width = nanopore.NAME_WIDTH
    return b"".join(text[i * width : (i + 1) * width] + labels[k] for i, k in enumerate(key))


@dataclass
class ReadTally:
    """Running counts over all chunks of all files, for the summary."""

    kinds: np.ndarray
    plus_strand: int = 0
    stranded: int = 0
    errors: dict[str, int] | None = None
    per_well: np.ndarray | None = None

    def add(self, plan: ReadPlan, reads: nanopore.Reads, n_wells: int) -> None:
        """Fold one chunk in."""
        self.kinds += np.bincount(plan.kind, minlength=len(KINDS))
        from_well = plan.well >= 0
        self.plus_strand += int((plan.strand[from_well] == 0).sum())
        self.stranded += int(from_well.sum())
        totals = reads.errors.totals()
        self.errors = (
            totals if self.errors is None else {k: self.errors[k] + v for k, v in totals.items()}
        )
        counts = np.bincount(plan.well[from_well], minlength=n_wells)
        self.per_well = counts if self.per_well is None else self.per_well + counts


def write_read_file(
    group: str,
    wells_in_file: np.ndarray,
    wells: pd.DataFrame,
    counts: np.ndarray,
    mixed_ratio: np.ndarray,
    templates: Templates,
    params: RunSimulation,
    out_dir: Path,
    truth_out: gzip.GzipFile,
    tally: ReadTally,
    rng: np.random.Generator,
) -> dict[str, str]:
    """Simulate one read file chunk by chunk; returns its paths by format."""
    plan = plan_reads(wells_in_file, counts, mixed_ratio, templates, params, rng)
    file_plate = group if params.plate_separation == "files" else ""
    labels, first_label = _truth_labels(wells, wells_in_file, file_plate)
    well_label = np.zeros(len(wells), dtype=np.int64)
    for w, at in first_label.items():
        well_label[w] = at
    paths: dict[str, str] = {}
    model = params.error_model()
    with ExitStack() as stack:
        fastq = bam = None
        if params.reads_format in ("fastq", "both"):
            path = out_dir / "reads" / f"{group}.fastq.gz"
            fastq = open_gzip_out(stack, path)
            paths["fastq"] = str(path)
        if params.reads_format in ("bam", "both"):
            path = out_dir / "reads" / f"{group}.bam"
            tmp = stack.enter_context(atomic_path(path))
            bam = stack.enter_context(nanopore.open_ubam(tmp))
            paths["bam"] = str(path)
        for start in range(0, plan.kind.size, params.chunk_reads):
            chunk = ReadPlan(
                *(getattr(plan, f.name)[start : start + params.chunk_reads] for f in fields(plan))
            )
            seq, lengths = true_reads(chunk, templates, params, rng)
            reads = nanopore.apply_errors(rng, seq, lengths, model)
            names = nanopore.read_names(rng, lengths.size)
            if fastq is not None:
                fastq.write(nanopore.fastq_bytes(names, reads))
            if bam is not None:
                nanopore.write_ubam(bam, names, reads)
            truth_out.write(_truth_rows(names, chunk, labels, well_label))
            tally.add(chunk, reads, len(wells))
    return paths
