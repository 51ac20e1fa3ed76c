"""Consensus rankings and annotator agreement, in plain Python (no Django),
so the simulation in the tests and the services run the same code.

A ranking is a list of groups of candidate ids, best group first; the
candidates of one group are tied. Consensus is a weighted Borda count: in a
ranking of K candidates a candidate earns one point for every candidate
below it and half a point for every candidate tied with it, so points lie in
0..K-1 and ties need no special case. Borda rather than ranked pairs because
its scores give every consensus pair a margin for reward-model training.

Agreement compares two rankings pair by pair: the same order (or both tied)
counts 1, the opposite order 0, a tie against an order 1/2. The mean over
the candidate pairs lies in 0..1: 1 identical, 0 reversed, about 1/2 for an
unrelated ranking (it is Kendall's tau mapped from -1..1 onto 0..1).

An annotator's agreement is measured against the consensus of the *other*
rankings of each item (leave one out): with three rankings per item, a vote
compared with a consensus that contains it would agree with itself. The
weight of a vote is that agreement mapped so that chance (1/2) counts almost
nothing, after smoothing towards a prior so one lucky ranking does not make
a newcomer an oracle. Weights and consensus are fitted in turn until stable.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from itertools import combinations

Groups = list[list[int]]

# A newcomer counts as if they had PRIOR_COUNT rankings at PRIOR_AGREEMENT.
PRIOR_AGREEMENT = 0.75
PRIOR_COUNT = 3.0
# Even a vote at chance level keeps a little weight, so an item ranked only
# by such annotators still has a consensus.
MIN_WEIGHT = 0.05
FIT_ITERATIONS = 10
SCORE_DIGITS = 9


def borda_points(groups: Groups) -> dict[int, float]:
    """Points of each candidate in one ranking: candidates below it plus half
    of those tied with it."""
    points, below = {}, sum(len(group) for group in groups)
    for group in groups:
        below -= len(group)
        for candidate in group:
            points[candidate] = below + (len(group) - 1) / 2
    return points


def consensus(rankings: Iterable[tuple[Groups, float]]) -> tuple[Groups, dict[int, float]]:
    """The weighted mean Borda points of each candidate, and the groups they
    make (equal points tie), best first. Every ranking covers the same
    candidates; no ranking (or zero total weight) gives no consensus."""
    totals: dict[int, float] = {}
    weight_sum = 0.0
    for groups, weight in rankings:
        weight_sum += weight
        for candidate, points in borda_points(groups).items():
            totals[candidate] = totals.get(candidate, 0.0) + weight * points
    if weight_sum <= 0:
        return [], {}
    scores = {candidate: round(total / weight_sum, SCORE_DIGITS) for candidate, total in totals.items()}
    by_score: dict[float, list[int]] = {}
    for candidate in sorted(scores):
        by_score.setdefault(scores[candidate], []).append(candidate)
    return [by_score[score] for score in sorted(by_score, reverse=True)], scores


def _positions(groups: Groups) -> dict[int, int]:
    return {candidate: index for index, group in enumerate(groups) for candidate in group}


def pairwise_agreement(a: Groups, b: Groups) -> float | None:
    """Agreement of two rankings of the same candidates in 0..1; None when
    there is no pair to compare (fewer than two candidates)."""
    pa, pb = _positions(a), _positions(b)
    pairs = list(combinations(sorted(pa), 2))
    if not pairs:
        return None
    total = 0.0
    for x, y in pairs:
        da, db = pa[x] - pa[y], pb[x] - pb[y]
        if (da > 0) - (da < 0) == (db > 0) - (db < 0):
            total += 1.0
        elif da == 0 or db == 0:
            total += 0.5
    return total / len(pairs)


def item_agreement(rankings: list[Groups]) -> float | None:
    """How much the rankings of one item agree with each other: the mean
    agreement over every two of them; None with fewer than two."""
    values = [pairwise_agreement(a, b) for a, b in combinations(rankings, 2)]
    values = [value for value in values if value is not None]
    return sum(values) / len(values) if values else None


def weight_for(total: float, count: int) -> tuple[float, float]:
    """(smoothed agreement, vote weight) of an annotator whose `count`
    compared rankings have leave-one-out agreements summing to `total`."""
    smoothed = (total + PRIOR_AGREEMENT * PRIOR_COUNT) / (count + PRIOR_COUNT)
    return smoothed, max(2 * smoothed - 1, MIN_WEIGHT)


PRIOR_WEIGHT = weight_for(0.0, 0)[1]


@dataclass
class ItemConsensus:
    groups: Groups
    scores: dict[int, float]
    agreement: float | None
    # Agreement of each annotator's ranking with the others' consensus.
    ranking_agreement: dict[Hashable, float | None]


def item_consensus(rankings: dict[Hashable, Groups], weights: dict[Hashable, float]) -> ItemConsensus:
    """The consensus of one item's rankings (annotator -> groups) under the
    given vote weights (an annotator without one gets PRIOR_WEIGHT)."""
    weighted = {annotator: (groups, weights.get(annotator, PRIOR_WEIGHT)) for annotator, groups in rankings.items()}
    groups, scores = consensus(weighted.values())
    loo = {}
    for annotator, (own, _) in weighted.items():
        others, _ = consensus(value for key, value in weighted.items() if key != annotator)
        loo[annotator] = pairwise_agreement(own, others) if others else None
    return ItemConsensus(groups, scores, item_agreement(list(rankings.values())), loo)


@dataclass
class Fit:
    items: dict[Hashable, ItemConsensus]
    # annotator -> (smoothed agreement, number of compared rankings, weight)
    annotators: dict[Hashable, tuple[float, int, float]] = field(default_factory=dict)


def annotator_weights(items: dict[Hashable, ItemConsensus]) -> dict[Hashable, tuple[float, int, float]]:
    """Each annotator's (smoothed agreement, compared rankings, weight) from
    the leave-one-out agreements of their rankings over `items`."""
    agreements: dict[Hashable, list[float]] = {}
    for item in items.values():
        for annotator, value in item.ranking_agreement.items():
            agreements.setdefault(annotator, [])
            if value is not None:
                agreements[annotator].append(value)
    return {
        annotator: (smoothed, len(values), weight)
        for annotator, values in agreements.items()
        for smoothed, weight in [weight_for(sum(values), len(values))]
    }


def fit(rankings: dict[Hashable, dict[Hashable, Groups]], iterations: int = FIT_ITERATIONS) -> Fit:
    """Consensus of every item (item -> annotator -> groups) and every
    annotator's agreement and weight, fitted in turn from equal weights
    until the weights stop changing."""
    weights: dict[Hashable, float] = {}
    result = Fit(items={})
    for _ in range(iterations):
        result.items = {item: item_consensus(by_annotator, weights) for item, by_annotator in rankings.items()}
        result.annotators = annotator_weights(result.items)
        new_weights = {annotator: weight for annotator, (_, _, weight) in result.annotators.items()}
        if new_weights == weights:
            break
        weights = new_weights
    return result


def weighted_votes(votes: list[tuple[float, bool, dict[int, list[str]]]]) -> tuple[bool, dict[int, list[str]]]:
    """What at least half the vote weight said: (none acceptable, flags per
    candidate), from each ranking's (weight, none acceptable, flags)."""
    total = sum(weight for weight, _, _ in votes)
    if total <= 0:
        return False, {}
    none_acceptable = sum(weight for weight, said, _ in votes if said) * 2 >= total
    tally: dict[tuple[int, str], float] = {}
    for weight, _, flags in votes:
        for candidate, names in flags.items():
            for name in names:
                tally[candidate, name] = tally.get((candidate, name), 0.0) + weight
    flags: dict[int, list[str]] = {}
    for (candidate, name), weight in sorted(tally.items()):
        if weight * 2 >= total:
            flags.setdefault(candidate, []).append(name)
    return none_acceptable, flags


def preference_pairs(groups: Groups, scores: dict[int, float], excluded_chosen: set[int] = frozenset()):
    """Every pair of candidates in different groups, better first, as
    (chosen, rejected, margin): C(K,2) pairs less the tied ones. `margin`
    is the difference of consensus scores. A candidate in
    `excluded_chosen` (flagged harmful) is never the chosen one."""
    order = _positions(groups)
    for x, y in combinations(sorted(order), 2):
        if order[x] == order[y]:
            continue
        chosen, rejected = (x, y) if order[x] < order[y] else (y, x)
        if chosen in excluded_chosen:
            continue
        yield chosen, rejected, round(scores[chosen] - scores[rejected], SCORE_DIGITS)
