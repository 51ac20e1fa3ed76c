"""Standard agreement statistics of rankings, beside the app's own (in
labeling.consensus, which compares each ranking with the others' consensus
to weight votes). These are the figures a dataset card or a paper reports,
so a reader can compare our annotators with other projects'. Plain Python
and numpy (no Django).

Ranks. A candidate's rank is its position counting from 1 for the best;
tied candidates share the mean of the positions they cover (mid-ranks), so
[[a], [b, c]] ranks a 1, b and c 2.5. Kendall's tie correction assumes
mid-ranks, and alpha reads the same values.

Krippendorff's alpha, ordinal (Krippendorff, "Computing Krippendorff's
Alpha-Reliability", 2011; Content Analysis, 4th ed., 2019, ch. 12):

    alpha = 1 - (n - 1) * sum_ck o_ck d2_ck / sum_ck n_c n_k d2_ck

over the coincidences o_ck of the values paired within units, n_c the
pairable values equal to c, n their total, and the ordinal metric
d2_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2. A unit is one candidate of
one item and its values are the ranks the item's annotators gave it; only
units with two or more values count. 1 is perfect agreement, 0 what chance
pairing of the same ranks gives, below 0 systematic disagreement. The
`krippendorff` package computes it from value counts.

Kendall's W, the coefficient of concordance of the m rankings of one item
over its n candidates, corrected for ties (Kendall & Babington Smith, 1939;
Siegel & Castellan, Nonparametric Statistics, 2nd ed., 1988, eq. 9.16):

    W = 12 S / (m^2 (n^3 - n) - m sum_j T_j)

with R_i the sum of candidate i's ranks, S = sum_i (R_i - m (n + 1) / 2)^2
and T_j = sum (t^3 - t) over the groups of t tied candidates of ranking j.
0..1: 1 when every ranking is the same, 0 when the rank sums are all equal
(no concordance; for two annotators, one ranking the reverse of the other).

Only rankings carry ordinal judgements in this app: a demonstration is
free text, with nothing two annotators' values could be compared on.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations

import krippendorff
import numpy as np

Groups = list[list[int]]
# item -> annotator id -> that annotator's ranking of the item
Rankings = Mapping[Hashable, Mapping[int, Groups]]

# An alpha over fewer shared items than this says more about the items
# drawn than about the two annotators (with 4 candidates, 2 items are 8
# pairs of ranks), so a pair or an annotator below it shows none.
PAIR_MIN_SHARED_ITEMS = 3


def mid_ranks(groups: Groups) -> dict[int, float]:
    """Each candidate's rank in one ranking, 1 the best, tied candidates
    sharing the mean of the positions they cover."""
    ranks, before = {}, 0
    for group in groups:
        for candidate in group:
            ranks[candidate] = before + (len(group) + 1) / 2
        before += len(group)
    return ranks


def kendall_w(rankings: list[Groups]) -> float | None:
    """Kendall's W (tie-corrected, see the module's docstring) of the
    rankings of one item, each of the same candidates; None with fewer than
    two rankings or two candidates, or when every ranking ties every
    candidate (the denominator is 0: there is no order to agree on)."""
    m = len(rankings)
    if m < 2:
        return None
    ranks = [mid_ranks(groups) for groups in rankings]
    candidates = sorted(ranks[0])
    n = len(candidates)
    if n < 2:
        return None
    mean_sum = m * (n + 1) / 2
    s = sum((sum(r[c] for r in ranks) - mean_sum) ** 2 for c in candidates)
    ties = sum(len(group) ** 3 - len(group) for groups in rankings for group in groups)
    denominator = m * m * (n**3 - n) - m * ties
    if denominator <= 0:
        return None
    return 12 * s / denominator


def ordinal_alpha(units: Iterable[list[float]]) -> float | None:
    """Krippendorff's alpha, ordinal, of units given as the values each
    received (one per annotator who judged it); None when nothing can be
    measured: no unit with two values, or one value only in all of them."""
    pairable = [values for values in units if len(values) >= 2]
    domain = sorted({value for values in pairable for value in values})
    if len(domain) < 2:
        return None
    column = {value: index for index, value in enumerate(domain)}
    counts = np.zeros((len(pairable), len(domain)))
    for row, values in enumerate(pairable):
        for value in values:
            counts[row, column[value]] += 1
    return float(krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement="ordinal"))


def item_units(by_annotator: Mapping[int, Groups]) -> list[list[float]]:
    """One item's units for alpha: each candidate's ranks from the
    annotators who ranked it."""
    ranks = [mid_ranks(groups) for groups in by_annotator.values()]
    candidates = sorted({candidate for r in ranks for candidate in r})
    return [[r[c] for r in ranks if c in r] for c in candidates]


@dataclass(frozen=True)
class Summary:
    """Alpha and W of a set of items. `measured_items` counts those ranked
    by two annotators or more, the ones either figure can measure;
    `w_items` those of them with a W (not all tied)."""

    measured_items: int
    annotators: int
    alpha: float | None
    w_mean: float | None
    w_items: int

    def as_dict(self) -> dict:
        return asdict(self)


def summary(rankings: Rankings) -> Summary:
    """Ordinal alpha over every (item, candidate) and the mean Kendall's W
    over the items."""
    shared = [by_annotator for by_annotator in rankings.values() if len(by_annotator) >= 2]
    alpha = ordinal_alpha(unit for by_annotator in shared for unit in item_units(by_annotator))
    ws = [w for by_annotator in shared if (w := kendall_w(list(by_annotator.values()))) is not None]
    return Summary(
        measured_items=len(shared),
        annotators=len({annotator for by_annotator in shared for annotator in by_annotator}),
        alpha=alpha,
        w_mean=sum(ws) / len(ws) if ws else None,
        w_items=len(ws),
    )


@dataclass(frozen=True)
class PairedAlpha:
    """Alpha over `shared_items`; None under PAIR_MIN_SHARED_ITEMS or when
    nothing can be measured."""

    alpha: float | None
    shared_items: int


def pairwise_alphas(
    rankings: Rankings, min_shared: int = PAIR_MIN_SHARED_ITEMS
) -> tuple[dict[tuple[int, int], PairedAlpha], dict[int, PairedAlpha]]:
    """Alpha of every two annotators who ranked an item in common, over the
    items both ranked (keyed by the pair of ids, smaller first), and each
    annotator's alpha against the others: the pairs of ranks (theirs,
    another's) over every item they share with anyone, pooled into one
    alpha, so it is their pairwise alphas in one figure, each pair counting
    by how much it shared. An annotator's `shared_items` counts their items
    that someone else ranked too."""
    pair_units: dict[tuple[int, int], list[list[float]]] = {}
    pair_items: dict[tuple[int, int], int] = {}
    annotator_items: dict[int, int] = {}
    for by_annotator in rankings.values():
        ranks = {annotator: mid_ranks(groups) for annotator, groups in by_annotator.items()}
        for pair in combinations(sorted(ranks), 2):
            first, second = ranks[pair[0]], ranks[pair[1]]
            pair_units.setdefault(pair, []).extend([first[c], second[c]] for c in sorted(first) if c in second)
            pair_items[pair] = pair_items.get(pair, 0) + 1
        if len(ranks) >= 2:
            for annotator in ranks:
                annotator_items[annotator] = annotator_items.get(annotator, 0) + 1

    def measured(units: list[list[float]], items: int) -> PairedAlpha:
        return PairedAlpha(ordinal_alpha(units) if items >= min_shared else None, items)

    pairs = {pair: measured(units, pair_items[pair]) for pair, units in pair_units.items()}
    annotators = {
        annotator: measured([unit for pair, units in pair_units.items() if annotator in pair for unit in units], items)
        for annotator, items in annotator_items.items()
    }
    return pairs, annotators
