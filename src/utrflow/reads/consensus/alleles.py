"""A second allele close to the call: edits the reads share beyond their own error, and the
reads grouped by the allele they are nearer.

A second colony whose sequence lies a few edits from the call sits well inside the per-read
tolerance (`read_tolerance`, about 12 edits on a 47-nt region), so counting reads "within
tolerance" takes it for agreement, while a library's variants may be 1-7 edits apart. Its reads
share its edits, though. So each edit from the call that the reads show is tested against the
reads' own error rate of its kind (a one-sided binomial test, Bonferroni over the edits tested,
so a pure well's errors seed a false allele in about FALSE_ALLELE_RATE of wells); the most
significant edit seeds the allele; the reads nearer the seed than the call give the allele's
sequence (polished on them, toward the nearest designs); and every read is then the call's, the
allele's, or neither (as near to both).

A homopolymer's length (runs of 3 or more) never seeds an allele: nanopore reads change those
lengths at rates far above their mean error, site by site, so no rate the reads show can tell
a real difference from a slip there. Two designs that differ only there are not told apart.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

from utrflow.reads.consensus.background import SiteCounts, SiteRates, site_counts
from utrflow.reads.consensus.poa import _distances, polish
from utrflow.reads.consensus.posterior import MAX_PHRED, MIN_PHRED
from utrflow.stats import at_most, share_interval

FALSE_ALLELE_RATE = 0.01  # the chance that a pure well's errors alone seed a second allele
MIN_EDIT_RATE = 0.002  # the least per-read chance of any one edit: no error is impossible
ALLELE_READS = 200  # reads whose edits are counted (the grouping itself takes every read)
HOMOPOLYMER = 3  # runs at least this long never seed an allele
LONG_RUN = 5  # a run this long garbles the bases beside it too: edits there never seed either
GROW_ROUNDS = 12  # polishing rounds that grow an allele from its seed, one edit each
SEEDS = 2  # seeds grown into alleles and tested, most significant first
SEED_P = 0.02  # a seed's single-edit p-value, uncorrected (the grown allele's test corrects)
# shares of the reads a second allele may hold, over which its evidence is averaged
_SHARES = np.linspace(0.005, 0.5, 100)


@dataclass(frozen=True)
class Split:
    """A well's reads grouped by allele: indices into the reads given."""

    allele: str  # the second allele ('' when none)
    major: tuple[int, ...]  # reads nearer the call
    minor: tuple[int, ...]  # reads nearer the second allele


NO_SPLIT = Split("", (), ())


@dataclass(frozen=True)
class _Edit:
    kind: str  # 'replace', 'insert', 'delete'
    position: int  # in the call
    run: int  # length of the run of equal bases the edit touches in the call (1: none)


def _run_length(seq: str, position: int, base: str) -> int:
    """Length of the run of `base` in `seq` through `position` (or beside it, for an inserted
    base); 0 when neither `seq[position]` nor its left neighbour is `base`."""
    start = position if position < len(seq) and seq[position] == base else position - 1
    if start < 0 or start >= len(seq) or seq[start] != base:
        return 0
    left = start
    while left > 0 and seq[left - 1] == base:
        left -= 1
    right = start
    while right + 1 < len(seq) and seq[right + 1] == base:
        right += 1
    return right - left + 1


def _apply(call: str, other: str, tag: str, i: int, j: int) -> tuple[str, str]:
    """`call` with one edit of an alignment to `other` (editop tag, positions), and the base
    the edit puts in or takes out."""
    if tag == "replace":
        return call[:i] + other[j] + call[i + 1 :], other[j]
    if tag == "insert":
        return call[:i] + other[j] + call[i:], other[j]
    return call[:i] + call[i + 1 :], call[i]


def shared_edits(
    seqs: Sequence[str], call: str
) -> tuple[Counter[str], dict[str, tuple[str, int, str]], Counter[str]]:
    """Reads showing each one-edit neighbour of `call` (one optimal alignment per read, equal
    strings merged), each neighbour's edit (kind, position in the call, base), and how many
    edits of each kind the reads show in all."""
    votes: Counter[str] = Counter()
    edits: dict[str, tuple[str, int, str]] = {}
    kinds: Counter[str] = Counter()
    for read in seqs:
        shown: set[str] = set()
        for op in Levenshtein.editops(call, read):
            seq, base = _apply(call, read, op.tag, op.src_pos, op.dest_pos)
            tag, i = op.tag, op.src_pos
            shown.add(seq)
            kinds[tag] += 1
            if seq not in edits:
                edits[seq] = (tag, i, base)
        votes.update(shown)
    return votes, edits, kinds


Shared = tuple[Counter[str], dict[str, tuple[str, int, str]], Counter[str]]  # `shared_edits`


def observed_sites(
    seqs: Sequence[str], call: str, ends: tuple[int, int], shared: Shared | None = None
) -> SiteCounts:
    """The reads' edits from their call by site (`background.site_counts`), the plate's
    background is summed from; `ends` as `seeds` takes them; `shared`: `shared_edits` of the
    first ALLELE_READS reads, when already counted."""
    counted = seqs[:ALLELE_READS]
    votes, first, _ = shared or shared_edits(counted, call)
    shown = ((first[seq], n) for seq, n in votes.items())
    return site_counts(len(counted), call, shown, ends)


def _touching_run(seq: str, position: int) -> int:
    """The longest run of equal bases in `seq` at `position` or its left neighbour."""
    return max(
        (_run_length(seq, i, seq[i]) for i in (position - 1, position) if 0 <= i < len(seq)),
        default=1,
    )


def _edit(call: str, kind: str, position: int, base: str) -> _Edit:
    """An edit with the run of equal bases it touches: an indel's run, a substitution's new
    base with its neighbours (AAAATAAAA to AAAAAAAAA moves a run's end), and any run of the
    call of LONG_RUN or more it falls in or beside (TTTTTTT to TTTGTTT garbles a homopolymer),
    or makes by joining two runs (GGGCGGG to GGGGGG): reads slip there far more often than
    their mean error."""
    if kind == "replace":
        run = _run_length(call[:position] + base + call[position + 1 :], position, base)
    else:
        run = _run_length(call, position, base) + (kind == "insert")
    touching = _touching_run(call, position)
    left, right = call[position - 1 : position], call[position + 1 : position + 2]
    if kind == "delete" and left == right != call[position]:  # the two runs beside it join
        joined = _run_length(call, position - 1, left) + _run_length(call, position + 1, right)
        touching = max(touching, joined)
    return _Edit(kind, position, max(run, touching if touching >= LONG_RUN else 1, 1))


def edit_rates(
    n: int, call: str, kinds: Counter[str], shared: dict[str, tuple[_Edit, int]]
) -> dict[str, float]:
    """Per-base rate of each kind of the reads' errors against the call: their edits (`kinds`),
    less those of `shared` (candidates for an allele's edits, which a second colony's reads
    would otherwise count as errors, hiding the colony behind its own edits)."""
    counts = Counter(kinds)
    for edit, shown in shared.values():
        counts[edit.kind] -= shown
    bases = max(1, len(call) * n)
    return {kind: max(0, counts[kind]) / bases for kind in ("replace", "insert", "delete")}


def _chance(edit: _Edit, rates: dict[str, float], error: float, site: float | None = None) -> float:
    """The per-read chance that an error shows this one edit: its kind's rate (a third of it
    for a substitution, times the run an indel touches), floored by `error` (reads that say
    they are unsure of their bases cannot prove a second allele by agreeing on a few; any of
    their errors might be of the kind tested, so the floor is the whole of it) and
    MIN_EDIT_RATE. With the plate's rate at the edit's site (`background.SiteRates`), that
    rate stands for the floor: it is what errors there do show."""
    floor = error if site is None else 0.0
    rate = max(rates[edit.kind], floor)
    per_base = rate / 3 if edit.kind == "replace" else rate
    return min(0.5, max(MIN_EDIT_RATE, per_base * edit.run, site or 0.0))


def _site(
    background: SiteRates | None, call: str, kind: str, position: int, base: str
) -> float | None:
    """The plate's rate of this edit at its site, None without a background."""
    return None if background is None else background.rate(call, kind, position, base)


def seeds(
    seqs: Sequence[str],
    call: str,
    ends: tuple[int, int],
    needed: int,
    error: float = 0.0,
    background: SiteRates | None = None,
    shared: Shared | None = None,
) -> tuple[list[tuple[float, str]], dict[str, float]]:
    """Up to SEEDS one-edit neighbours of `call` its reads share more than their error makes
    likely (one-sided binomial p below SEED_P, uncorrected: the grown allele's joint test,
    `allele_evidence`, is the corrected one), most significant first, each with its p-value;
    and the reads' error rate of each kind (`edit_rates`). `ends`: bases at each end
    of the call that are construct (the flank ends the reads carry), where no allele differs.
    `error`: the per-base error the reads' base qualities imply, a floor under each kind's
    rate (reads that say they are unsure of their bases cannot prove a second allele by
    agreeing on a few; any of their errors might be of the kind tested)."""
    return seeds_of(
        len(seqs), call, ends, needed, error, background, shared or shared_edits(seqs, call)
    )


def seeds_of(
    n: int,
    call: str,
    ends: tuple[int, int],
    needed: int,
    error: float,
    background: SiteRates | None,
    shared: Shared,
) -> tuple[list[tuple[float, str]], dict[str, float]]:
    """`seeds` of `n` reads from the edits they show (`shared_edits`; of the one-edit
    neighbours only those shown by enough reads to seed are needed)."""
    votes, first, kinds = shared
    candidates = {}
    # an allele of `needed` reads shows each of its edits in fewer of them (the reads' errors)
    least = max(2, needed // 2)
    for candidate, shown in votes.items():
        if shown < least or not ends[0] <= first[candidate][1] <= len(call) - ends[1]:
            continue
        edit = _edit(call, *first[candidate])
        if edit.run < HOMOPOLYMER:
            candidates[candidate] = (edit, shown)
    rates = edit_rates(n, call, kinds, candidates)
    tested = []
    for candidate, (edit, shown) in candidates.items():
        floor = error if background is None else 0.0  # the site's rate can only raise it
        p_value = 1 - at_most(shown - 1, n, _chance(edit, rates, floor))
        if background is not None and p_value < SEED_P:
            site = _site(background, call, *first[candidate])
            p_value = 1 - at_most(shown - 1, n, _chance(edit, rates, error, site))
        if p_value < SEED_P:
            tested.append((p_value, -shown, candidate))
    return [(p_value, candidate) for p_value, _, candidate in sorted(tested)[:SEEDS]], rates


def allele_evidence(
    seqs: Sequence[str],
    call: str,
    allele: str,
    rates: dict[str, float],
    error: float,
    length: int,
    background: SiteRates | None = None,
) -> float:
    """How far the reads' evidence for a second allele exceeds what chance allows, in natural
    log units (> 0: a second allele).

    The evidence is the Bayes factor of "a share f of the reads are the allele's" (f uniform
    on 0..1/2) against "all are the call's". A read's likelihood ratio is, over the allele's
    edits from the call, (1 - c) / c for each it shows and c / (1 - c) for each it contradicts
    (nearer the call with it than without), c the chance an error shows that edit (`_chance`:
    a homopolymer's length is cheap for the reads, a substitution is not). Under a pure well
    its expectation is about 1 for any one allele, so by a union bound over every allele d
    edits from the call in `length` bases (C(length, d) 7^d of them, each weighed 2^-d), a
    pure well's reads pass for a second allele with a chance below FALSE_ALLELE_RATE. Testing
    the grown allele, every edit its reads share counts, not only the best one: two reads
    sharing five edits are a colony, where two sharing one are not."""
    ops = Levenshtein.editops(call, allele)
    d = len(ops)
    if not d or not seqs:
        return -math.inf
    singles, weights = [], []
    for op in ops:
        single, base = _apply(call, allele, op.tag, op.src_pos, op.dest_pos)
        edit = _edit(call, op.tag, op.src_pos, base)
        site = _site(background, call, op.tag, op.src_pos, base)
        chance = _chance(edit, rates, error, site)
        if single in singles:  # two edits of one run (GGGG to GG): a read's one slip shows both
            continue
        singles.append(single)
        # a long homopolymer's length is no evidence either way (see the module's docstring)
        weights.append(math.log((1 - chance) / chance) if edit.run < LONG_RUN else 0.0)
    distances = _distances([call, *singles], seqs)
    signs = np.sign(distances[:1] - distances[1:])  # +1: the read shows the edit
    log_lr = np.clip(np.asarray(weights) @ signs, -60.0, 60.0)
    terms = np.log1p(_SHARES[:, None] * (np.exp(log_lr)[None, :] - 1)).sum(axis=1)
    top = float(terms.max())
    log_bf = top + math.log(float(np.mean(np.exp(terms - top))))
    alleles = math.lgamma(length + 1) - math.lgamma(d + 1) - math.lgamma(max(length - d, 0) + 1)
    return log_bf - math.log(1 / FALSE_ALLELE_RATE) - alleles - d * math.log(14)


def group(seqs: Sequence[str], call: str, allele: str) -> tuple[list[int], list[int]]:
    """Reads nearer the call, and reads nearer the allele (a read as near to both is neither)."""
    to_call, to_allele = _distances([call, allele], seqs)
    major = np.flatnonzero(to_call < to_allele).tolist()
    minor = np.flatnonzero(to_allele < to_call).tolist()
    return major, minor


def split_alleles(
    seqs: Sequence[str],
    call: str,
    needed: int,
    ends: tuple[int, int] = (0, 0),
    nearest: Callable[[str], list[str]] = lambda _: [],
    polish_reads: int = 40,
    error: float = 0.0,
    background: SiteRates | None = None,
    shared: Shared | None = None,
    grown: dict[str, str] | None = None,
) -> Split:
    """The well's reads grouped into the call's and a second allele's, when the reads show one
    (at least `needed` reads nearer it); NO_SPLIT otherwise. Each seed (`seeds`) grows into an
    allele on the reads nearer it (polished, toward the designs `nearest` gives, one edit a
    round); the allele whose joint evidence (`allele_evidence`) is largest, and passes, is the
    second allele. `error` as `seeds` takes it."""
    counted = seqs[:ALLELE_READS]
    if len(counted) < 2 * max(needed, 1):
        return NO_SPLIT
    starts, rates = seeds(counted, call, ends, needed, error, background, shared)
    length = max(1, len(call) - ends[0] - ends[1])
    best, best_evidence = "", 0.0
    for p_value, start in starts:
        _, near_seed = group(counted, call, start)
        own = [counted[i] for i in near_seed][:polish_reads]
        if grown is not None and start in grown:  # grown at a first look (it takes no rates)
            allele = grown[start]
        else:  # one edit a round: enough rounds for an allele of designs several edits apart
            allele = polish(own, start, nearest(start), GROW_ROUNDS) if len(own) >= 2 else start
            allele = _inside(call, allele, ends)
        if grown is not None:
            grown[start] = allele
        evidence = allele_evidence(counted, call, allele, rates, error, length, background)
        if _through(call, start, allele):
            # or its seed alone, beyond its error at Bonferroni over every single edit (3
            # substitutions, 4 insertions and a deletion per base), if the allele keeps it
            alone = math.log(FALSE_ALLELE_RATE / (8 * len(call))) - math.log(max(p_value, 1e-300))
            evidence = max(evidence, alone)
        if allele != call and evidence > best_evidence:
            best, best_evidence = allele, evidence
    if not best:
        return NO_SPLIT
    major, minor = group(seqs, call, best)
    if len(minor) < needed:
        return NO_SPLIT
    return Split(best, tuple(major), tuple(minor))


def _inside(call: str, allele: str, ends: tuple[int, int]) -> str:
    """`allele` with only its edits from `call` between the flank ends (`ends` bases at each
    end of the call are construct, where no allele differs: growing an allele on a few reads
    may take up their shared slip at a region's cut end)."""
    out = call
    for op in reversed(list(Levenshtein.editops(call, allele))):
        i, j = op.src_pos, op.dest_pos
        if ends[0] <= i <= len(call) - ends[1] - (op.tag != "insert"):
            out = _apply(out, allele, op.tag, i, j)[0]
    return out


def _through(call: str, seed: str, allele: str) -> bool:
    """Whether `allele` keeps the one edit `seed` makes to `call` (grown from it, not past it)."""
    return Levenshtein.distance(call, allele) == 1 + Levenshtein.distance(seed, allele)


def quality_error(qualities: Sequence[str]) -> float:
    """The mean per-base error the base qualities (Phred+33) imply, each taken within
    MIN_PHRED..MAX_PHRED as the posterior takes them; 0 without qualities."""
    phred = np.frombuffer("".join(qualities).encode("ascii"), dtype=np.uint8)
    if not len(phred):
        return 0.0
    clipped = np.clip(phred.astype(np.float64) - 33, MIN_PHRED, MAX_PHRED)
    return float(np.mean(10 ** (-clipped / 10)))


def minor_bound(k: int, n: int) -> float:
    """The one-sided 95 % upper bound of a minor share seen `k` times in `n` reads."""
    return share_interval(k, n, 0.90)[1] if n else 1.0
