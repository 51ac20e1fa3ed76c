"""Consensus, agreement and pair expansion, and a simulation of annotators
with known noise ranking items whose true order is hidden from them."""

from math import comb

import pytest

from bench.labeling import RANDOM, simulate
from labeling.consensus import (
    PRIOR_WEIGHT,
    borda_points,
    consensus,
    item_consensus,
    pairwise_agreement,
    preference_pairs,
    weight_for,
    weighted_votes,
)


class TestConsensus:
    def test_unanimous_rankings_give_their_order(self):
        ranking = [[3], [1], [2]]
        groups, scores = consensus([(ranking, 1.0)] * 3)
        assert groups == ranking
        assert scores == {3: 2.0, 1: 1.0, 2: 0.0}

    def test_a_split_vote_follows_the_majority(self):
        groups, _ = consensus([([[1], [2], [3]], 1.0), ([[1], [2], [3]], 1.0), ([[2], [1], [3]], 1.0)])
        assert groups == [[1], [2], [3]]

    def test_an_even_split_is_a_tie(self):
        groups, scores = consensus([([[1], [2]], 1.0), ([[2], [1]], 1.0)])
        assert groups == [[1, 2]]
        assert scores == {1: 0.5, 2: 0.5}

    def test_ties_in_rankings_share_points(self):
        assert borda_points([[1, 2], [3]]) == {1: 1.5, 2: 1.5, 3: 0.0}
        assert borda_points([[1], [2, 3, 4]]) == {1: 3.0, 2: 1.0, 3: 1.0, 4: 1.0}
        groups, _ = consensus([([[1, 2], [3]], 1.0), ([[1], [2], [3]], 1.0)])
        assert groups == [[1], [2], [3]]

    def test_weights_decide_between_disagreeing_annotators(self):
        trusted, doubtful = [[1], [2], [3]], [[3], [2], [1]]
        assert consensus([(trusted, 0.9), (doubtful, 0.3), (doubtful, 0.3)])[0] == trusted
        assert consensus([(trusted, 0.5), (doubtful, 0.3), (doubtful, 0.3)])[0] == doubtful

    def test_no_weight_no_consensus(self):
        assert consensus([]) == ([], {})

    def test_weighted_majority_decides_flags_and_none_acceptable(self):
        none_acceptable, flags = weighted_votes(
            [(0.9, True, {1: ["harmful"]}), (0.2, False, {1: ["spam"], 2: ["harmful"]}), (0.2, False, {})]
        )
        assert none_acceptable is True
        assert flags == {1: ["harmful"]}


class TestAgreement:
    def test_identical_reversed_and_tied(self):
        order = [[1], [2], [3], [4]]
        assert pairwise_agreement(order, order) == 1.0
        assert pairwise_agreement(order, order[::-1]) == 0.0
        assert pairwise_agreement(order, [[1, 2, 3, 4]]) == 0.5

    def test_one_swapped_pair_of_six(self):
        assert pairwise_agreement([[1], [2], [3], [4]], [[2], [1], [3], [4]]) == pytest.approx(5 / 6)

    def test_single_candidate_has_no_pairs(self):
        assert pairwise_agreement([[1]], [[1]]) is None

    def test_agreement_is_measured_against_the_others(self):
        item = item_consensus({"a": [[1], [2]], "b": [[1], [2]], "c": [[1], [2]], "d": [[2], [1]]}, {})
        assert item.groups == [[1], [2]]
        assert item.ranking_agreement == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0}
        assert item.agreement == pytest.approx(3 / 6)
        # Two against one: each of the two sees a tie among the others.
        item = item_consensus({"a": [[1], [2]], "b": [[1], [2]], "c": [[2], [1]]}, {})
        assert item.ranking_agreement == {"a": 0.5, "b": 0.5, "c": 0.0}
        assert item_consensus({"a": [[1], [2]]}, {}).ranking_agreement == {"a": None}

    def test_weights_grow_with_agreement_and_start_at_the_prior(self):
        assert weight_for(0.0, 0)[1] == PRIOR_WEIGHT == pytest.approx(0.5)
        assert weight_for(20 * 0.95, 20)[1] > PRIOR_WEIGHT > weight_for(20 * 0.6, 20)[1]
        assert weight_for(20 * 0.1, 20)[1] > 0


class TestPairExpansion:
    @pytest.mark.parametrize("k", range(2, 10))
    def test_every_pair_of_a_strict_ranking(self, k):
        groups = [[i] for i in range(k)]
        scores = borda_points(groups)
        pairs = list(preference_pairs(groups, scores))
        assert len(pairs) == comb(k, 2)
        # Best first: the lower id is chosen, by the rank distance.
        assert all(chosen < rejected and margin == rejected - chosen for chosen, rejected, margin in pairs)

    def test_ties_are_skipped(self):
        groups = [[1, 2], [3], [4, 5, 6]]
        pairs = list(preference_pairs(groups, borda_points(groups)))
        assert len(pairs) == comb(6, 2) - 1 - 3
        assert {(c, r) for c, r, _ in pairs} == {(a, b) for a in (1, 2) for b in (3, 4, 5, 6)} | {
            (3, 4),
            (3, 5),
            (3, 6),
        }
        assert all(margin > 0 for _, _, margin in pairs)

    def test_a_harmful_candidate_is_never_chosen(self):
        groups = [[1], [2], [3]]
        pairs = list(preference_pairs(groups, borda_points(groups), {1}))
        assert [(c, r) for c, r, _ in pairs] == [(2, 3)]


NOISE = [0.1, 0.15, 0.2, 0.25, 0.3]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulation_consensus_beats_every_annotator_and_agreement_ranks_them_by_noise(seed):
    result = simulate(seed, NOISE)
    assert result["weighted_consensus"] > max(result["annotators"])
    assert result["weighted_consensus"] >= result["unweighted_consensus"]
    agreement = result["fitted_agreement"]
    assert agreement == sorted(agreement, reverse=True), "less noise, more agreement"
    assert len(set(agreement)) == len(agreement)


def test_simulation_weighting_discounts_a_random_annotator():
    """Two careful annotators and three who rank at random: unweighted,
    the random ones drown the careful; weighted, they barely count."""
    result = simulate(7, [0.1, 0.1, RANDOM, RANDOM, RANDOM])
    assert result["weighted_consensus"] > result["unweighted_consensus"] + 0.05
    agreement = result["fitted_agreement"]
    assert min(agreement[:2]) > max(agreement[2:])
