"""labeling.agreement_stats against hand-computed cases and published
values."""

import pytest

from labeling.agreement_stats import (
    PAIR_MIN_SHARED_ITEMS,
    PairedAlpha,
    item_units,
    kendall_w,
    mid_ranks,
    ordinal_alpha,
    pairwise_alphas,
    summary,
)

A_B_C = [[1], [2], [3]]
A_C_B = [[1], [3], [2]]
C_B_A = [[3], [2], [1]]


def _groups(ranks: list[int]) -> list[list[int]]:
    """Candidates 0..n-1 best first, from the rank each was given."""
    return [[candidate] for candidate in sorted(range(len(ranks)), key=lambda c: ranks[c])]


def test_tied_candidates_share_the_mean_of_their_positions():
    assert mid_ranks([[7], [3, 5], [1]]) == {7: 1, 3: 2.5, 5: 2.5, 1: 4}
    assert mid_ranks([[4, 5, 6]]) == {4: 2, 5: 2, 6: 2}


class TestKendallW:
    def test_identical_rankings_concord_fully(self):
        assert kendall_w([A_B_C] * 4) == pytest.approx(1.0)
        # Ties included: the correction keeps identical tied rankings at 1.
        assert kendall_w([[[1, 2], [3]]] * 3) == pytest.approx(1.0)

    def test_two_reversed_rankings_have_no_concordance(self):
        assert kendall_w([A_B_C, C_B_A]) == pytest.approx(0.0)

    def test_by_hand_without_ties(self):
        """a>b>c and a>c>b: rank sums 2, 5, 5 around 4, S = 6,
        W = 12 * 6 / (2^2 (27 - 3)) = 0.75."""
        assert kendall_w([A_B_C, A_C_B]) == pytest.approx(0.75)

    def test_textbook_example_of_three_judges_and_six_objects(self):
        """Siegel & Castellan (1988, §9.4): three executives rank six
        applicants; rank sums 8, 14, 11, 11, 11, 8 around 10.5, S = 25.5,
        W = 12 * 25.5 / (9 * 210) = 0.16."""
        judges = [[1, 6, 3, 2, 5, 4], [1, 5, 6, 4, 2, 3], [6, 3, 2, 5, 4, 1]]
        assert kendall_w([_groups(ranks) for ranks in judges]) == pytest.approx(17 / 105)

    def test_by_hand_with_the_tie_correction(self):
        """a>b>c>d, a>b=c>d, a=b>c>d: rank sums 3.5, 6, 8.5, 12 around 7.5,
        S = 39.5; two pairs tied, sum T = 2 * (8 - 2) = 12;
        W = 12 * 39.5 / (9 * 60 - 3 * 12) = 79/84 (0.878 uncorrected)."""
        rankings = [[[1], [2], [3], [4]], [[1], [2, 3], [4]], [[1, 2], [3], [4]]]
        assert kendall_w(rankings) == pytest.approx(79 / 84)

    def test_nothing_to_measure_is_none(self):
        assert kendall_w([A_B_C]) is None
        assert kendall_w([[[1]], [[1]]]) is None
        assert kendall_w([[[1, 2, 3]], [[1, 2, 3]]]) is None


class TestOrdinalAlpha:
    def test_published_example(self):
        """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
        four observers and twelve units with missing values: ordinal alpha
        0.815. Units are given as the values each received."""
        observers = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
        ]
        units = [[row[u] for row in observers if row[u] is not None] for u in range(12)]
        assert ordinal_alpha(units) == pytest.approx(0.815, abs=5e-4)

    def test_by_hand_for_two_rankings_of_one_item(self):
        """a>b>c against a>c>b: units (1,1), (2,3), (3,2); o_11 = o_23 =
        o_32 = 2, n_v = 2 each, n = 6; d2_23 = (2 + 2 - 2)^2 = 4,
        d2_12 = 4, d2_13 = (6 - 2)^2 = 16;
        alpha = 1 - 5 * (4 * 4) / (2 * 4 * (4 + 16 + 4)) = 7/12."""
        assert ordinal_alpha(item_units({1: A_B_C, 2: A_C_B})) == pytest.approx(7 / 12)

    def test_identical_rankings_agree_perfectly(self):
        assert ordinal_alpha(item_units({1: A_B_C, 2: A_B_C, 3: A_B_C})) == pytest.approx(1.0)

    def test_units_judged_once_do_not_count(self):
        assert ordinal_alpha([[1, 1], [2, 2], [3]]) == pytest.approx(1.0)
        assert ordinal_alpha([[1], [2]]) is None
        assert ordinal_alpha([[2, 2], [2, 2]]) is None


class TestSummary:
    def test_alpha_and_mean_w_over_the_items_ranked_twice(self):
        rankings = {
            "agreed": {1: A_B_C, 2: A_B_C},
            "split": {1: A_B_C, 2: A_C_B},
            "alone": {3: A_B_C},
        }
        result = summary(rankings)
        assert (result.measured_items, result.annotators, result.w_items) == (2, 2, 2)
        assert result.w_mean == pytest.approx((1.0 + 0.75) / 2)
        units = item_units(rankings["agreed"]) + item_units(rankings["split"])
        assert result.alpha == pytest.approx(ordinal_alpha(units))
        assert 7 / 12 < result.alpha < 1

    def test_no_item_ranked_twice_measures_nothing(self):
        result = summary({"alone": {1: A_B_C}})
        assert result.as_dict() == {"measured_items": 0, "annotators": 0, "alpha": None, "w_mean": None, "w_items": 0}


class TestPairwiseAlphas:
    def test_each_pair_over_the_items_both_ranked(self):
        """1 and 2 agree on every item, 3 reverses them; 4 ranked too few
        items with anyone to be measured."""
        rankings = {item: {1: A_B_C, 2: A_B_C, 3: C_B_A} for item in range(PAIR_MIN_SHARED_ITEMS)}
        rankings["with 4"] = {1: A_B_C, 4: A_C_B}
        pairs, annotators = pairwise_alphas(rankings)
        assert pairs[1, 2] == PairedAlpha(1.0, PAIR_MIN_SHARED_ITEMS)
        # Reversed, by hand: per item o_13 = o_31 = o_22 = 2, n_v = 6 each,
        # n = 18; d2_13 = 144; alpha = 1 - 17 * 12 * 144 / (2 * 36 * 216) = -17/9.
        assert pairs[1, 3].alpha == pytest.approx(1 - 17 / 9)
        assert pairs[1, 3].shared_items == PAIR_MIN_SHARED_ITEMS
        assert pairs[1, 4] == PairedAlpha(None, 1)
        assert (2, 4) not in pairs

    def test_an_annotator_against_the_others_pools_their_pairs(self):
        rankings = {item: {1: A_B_C, 2: A_B_C, 3: C_B_A} for item in range(4)}
        pairs, annotators = pairwise_alphas(rankings)
        pooled = [
            unit
            for item in rankings.values()
            for other in (1, 2)
            for unit in item_units({other: item[other], 3: item[3]})
        ]
        assert annotators[3].shared_items == 4
        assert annotators[3].alpha == pytest.approx(ordinal_alpha(pooled))
        assert annotators[3].alpha < 0
        # 1 agrees with 2 and not with 3: between the two pairs.
        assert pairs[1, 3].alpha < annotators[1].alpha < pairs[1, 2].alpha
