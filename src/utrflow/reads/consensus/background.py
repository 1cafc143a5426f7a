"""The run's error background by site: how often the reads of a plate's wells show each edit
in each sequence context, so an allele's edit is judged against its own site's error rate.

A well of 10-20 reads cannot measure its own error rate at one site, and the floor its base
qualities imply is a mean over every site and kind (about 7.5 % at R9, which a substitution to
one given base shows at about a third of). Nanopore errors repeat across wells where the
sequence context repeats (a homopolymer's length, a base beside a run), so a plate's wells,
each called against its own consensus, measure each context's rate on thousands of read-sites:
a substitution between unremarkable bases at its measured rate, a slip where slips happen at
theirs. A well is judged against the plate less its own reads (its own second colony, if it
has one, is not its background).

Keys (`edit_key`): a substitution by its base, the new base and both neighbours; an insertion
or a deletion by its base, the length of the run it makes or shortens (up to RUN_CAP) and the
bases either side of that run (so a slip keeps its place: an AT read as GA, written as an
insertion and a deletion, is not pooled with every insertion of its kind). An
edit within EDGE bases of a flank end (where the demultiplexer cut the region, a site every
well of the plate shares) is keyed by that end and its base instead: pure wells showed the
UTR's last base lost there more often than its context elsewhere loses it.
Rates are shrunk by PRIOR_SITES read-sites toward a coarser context's (`parent`: a run of four
lost anywhere, for a run of four between A and C), and that toward the kind's plate-wide rate,
so a rare context is neither read as error-free nor as an unremarkable base.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

RUN_CAP = 6  # runs this long or longer share one key
EDGE = 2  # edits this near a flank end are keyed by the end
PRIOR_SITES = 400.0  # read-sites of weight given to the kind's plate-wide rate
MIN_SITES = 5000  # read-sites of a kind a plate needs before its background is used
BASES = "ACGT"

Key = tuple[str, ...]


def _run(seq: str, position: int) -> tuple[int, str, str]:
    """Length of the run of equal bases through `position` of `seq`, and the bases either
    side of it ('^' and '$' at the ends)."""
    base = seq[position]
    left = right = position
    while left > 0 and seq[left - 1] == base:
        left -= 1
    while right + 1 < len(seq) and seq[right + 1] == base:
        right += 1
    before = seq[left - 1] if left > 0 else "^"
    after = seq[right + 1] if right + 1 < len(seq) else "$"
    return right - left + 1, before, after


def edit_key(call: str, kind: str, position: int, base: str, ends: tuple[int, int] = (0, 0)) -> Key:
    """The context an edit of `call` falls in (see the module's docstring); `base` is the new
    base of a substitution or an insertion, the deleted base of a deletion; `ends`: bases of
    the call at each end that are flank (none: no edge keys)."""
    for side, edge in (("left", ends[0]), ("right", len(call) - ends[1])):
        if any(ends) and abs(position - edge) <= EDGE:
            return (kind, "edge", side, base)
    if kind == "replace":
        left = call[position - 1] if position > 0 else "^"
        right = call[position + 1] if position + 1 < len(call) else "$"
        return ("replace", left, call[position], base, right)
    seq = call[:position] + base + call[position:] if kind == "insert" else call
    run, before, after = _run(seq, position)
    return (kind, base, str(min(RUN_CAP, run)), before, after)


def opportunities(call: str, ends: tuple[int, int] = (0, 0)) -> Counter[Key]:
    """Every distinct one-edit neighbour of `call`, counted by its key: 3 substitutions a base,
    one deletion a run, and one insertion of each base a gap, a run's gaps counted once."""
    out: Counter[Key] = Counter()
    for i, here in enumerate(call):
        for new in BASES:
            if new != here:
                out[edit_key(call, "replace", i, new, ends)] += 1
        if i == 0 or call[i - 1] != here:
            out[edit_key(call, "delete", i, here, ends)] += 1
    for gap in range(len(call) + 1):
        for new in BASES:
            if gap == 0 or call[gap - 1] != new:
                out[edit_key(call, "insert", gap, new, ends)] += 1
    return out


@dataclass
class SiteCounts:
    """Reads showing each keyed edit (`events`), and the read-sites where one could show
    (`sites`: each read times its call's `opportunities`)."""

    events: Counter[Key] = field(default_factory=Counter)
    sites: Counter[Key] = field(default_factory=Counter)

    def add(self, other: SiteCounts, sign: int = 1) -> None:
        for mine, theirs in ((self.events, other.events), (self.sites, other.sites)):
            for key, count in theirs.items():
                mine[key] += sign * count


def site_counts(
    n_reads: int,
    call: str,
    shown: Iterable[tuple[tuple[str, int, str], int]],
    ends: tuple[int, int] = (0, 0),
) -> SiteCounts:
    """One well's counts: `shown` pairs each one-edit neighbour's edit (kind, position, base)
    with the reads showing it (`alleles.shared_edits`), against `n_reads` reads of `call`."""
    counts = SiteCounts()
    for (kind, position, base), reads in shown:
        counts.events[edit_key(call, kind, position, base, ends)] += reads
    for key, count in opportunities(call, ends).items():
        counts.sites[key] = count * n_reads
    return counts


def parent(key: Key) -> Key:
    """The coarser context a key's rate is shrunk toward: a substitution's bases without their
    neighbours, an indel's kind and run without its base and neighbours, an edge's kind and
    end without the base."""
    if key[1] == "edge":
        return key[:3]
    return key[:1] + key[2:4] if key[0] == "replace" else key[:1] + key[2:3]


@dataclass(frozen=True)
class SiteRates:
    """Each keyed edit's per-read rate on a plate, less one well's own reads, shrunk toward
    its parent context's rate (`parent`), and that toward its kind's (PRIOR_SITES each)."""

    counts: SiteCounts  # by key, and by parent key
    kinds: dict[str, float]  # each kind's plate-wide rate per read-site
    ends: tuple[int, int] = (0, 0)  # as `edit_key` takes them

    def _shrunk(self, key: Key, prior: float) -> float:
        events, sites = max(0, self.counts.events[key]), max(0, self.counts.sites[key])
        return (events + PRIOR_SITES * prior) / (sites + PRIOR_SITES)

    def rate(self, call: str, kind: str, position: int, base: str) -> float:
        """The rate of this edit of `call` at its site (see `edit_key`)."""
        key = edit_key(call, kind, position, base, self.ends)
        return self._shrunk(key, self._shrunk(parent(key), self.kinds[kind]))


def site_rates(
    plate: SiteCounts, own: SiteCounts | None = None, ends: tuple[int, int] = (0, 0)
) -> SiteRates | None:
    """The plate's background without the well's `own` counts; None when any kind has fewer
    than MIN_SITES read-sites (a plate too small to measure its contexts)."""
    counts = SiteCounts()
    counts.add(plate)
    if own is not None:
        counts.add(own, -1)
    kinds = {}
    for kind in ("replace", "insert", "delete"):
        sites = sum(n for key, n in counts.sites.items() if key[0] == kind)
        events = sum(n for key, n in counts.events.items() if key[0] == kind)
        if sites < MIN_SITES:
            return None
        kinds[kind] = max(0, events) / sites
    parents = SiteCounts()
    for mine, theirs in ((parents.events, counts.events), (parents.sites, counts.sites)):
        for key, n in theirs.items():
            mine[parent(key)] += n
    counts.add(parents)
    return SiteRates(counts, kinds, ends)


def total(wells: Sequence[SiteCounts]) -> SiteCounts:
    """A plate's counts: the sum of its wells'."""
    out = SiteCounts()
    for counts in wells:
        out.add(counts)
    return out
