"""Elo and Bradley-Terry on hand-made cases and on simulated votes."""

import math
import random

import pytest

from arena import ratings
from arena.ratings import Game


class TestElo:
    def test_equal_ratings_win_moves_half_k_each_way(self):
        assert ratings.elo_update(1000, 1000, 1.0, k=32) == (1016, 984)

    def test_update_is_symmetric_and_conserves_points(self):
        for a, b, score in [(1200, 1000, 0.0), (1000, 1400, 1.0), (1100, 1050, 0.5)]:
            new_a, new_b = ratings.elo_update(a, b, score)
            assert new_a - a == pytest.approx(b - new_b)
            swapped_b, swapped_a = ratings.elo_update(b, a, 1.0 - score)
            assert (swapped_a, swapped_b) == pytest.approx((new_a, new_b))

    def test_expected_score_at_400_points_is_ten_to_one(self):
        assert ratings.elo_expected(1400, 1000) == pytest.approx(10 / 11)

    def test_draw_between_equals_changes_nothing_and_upset_moves_more(self):
        assert ratings.elo_update(1000, 1000, 0.5) == (1000, 1000)
        upset_gain = ratings.elo_update(1000, 1400, 1.0)[0] - 1000
        expected_gain = ratings.elo_update(1400, 1000, 1.0)[0] - 1400
        assert upset_gain > 25 > 3 > expected_gain

    def test_ratings_follow_games_in_order(self):
        games = [Game("x", "y", 1.0), Game("x", "y", 1.0), Game("y", "x", 1.0)]
        result = ratings.elo_ratings(games, k=32)
        assert result["x"] + result["y"] == pytest.approx(2000)
        assert result["x"] > 1000 > result["y"]


class TestBradleyTerry:
    def test_two_players_match_the_closed_form(self):
        # 3 wins to 1 with no prior: p_x / p_y = 3.
        games = [Game("x", "y", 1.0)] * 3 + [Game("x", "y", 0.0)]
        strength = ratings.bradley_terry(games, prior_games=1e-9)
        assert strength["x"] / strength["y"] == pytest.approx(3.0, rel=1e-4)

    def test_draws_count_half_each_way(self):
        strength = ratings.bradley_terry([Game("x", "y", 0.5)] * 4)
        assert strength["x"] == pytest.approx(strength["y"])

    def test_unbeaten_player_stays_finite(self):
        strength = ratings.bradley_terry([Game("x", "y", 1.0)] * 5)
        assert math.isfinite(strength["x"]) and strength["x"] > strength["y"] > 0

    def test_recovers_a_known_ordering_from_simulated_votes(self):
        true = {"a": 4.0, "b": 2.0, "c": 1.0, "d": 0.5}
        rng = random.Random(7)
        players = list(true)
        games = []
        for _ in range(3000):
            left, right = rng.sample(players, 2)
            p_left = true[left] / (true[left] + true[right])
            games.append(Game(left, right, 1.0 if rng.random() < p_left else 0.0))
        strength = ratings.bradley_terry(games)
        assert sorted(players, key=strength.get, reverse=True) == ["a", "b", "c", "d"]
        # Ratios recovered within 15% (the fit has one free scale).
        for x, y in [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]:
            assert strength[x] / strength[y] == pytest.approx(true[x] / true[y], rel=0.15)
        elo = ratings.elo_ratings(games, k=16)
        assert elo["a"] > elo["d"]

    def test_standard_errors_match_a_hand_computed_case(self):
        # Two equals, one game each way, one prior game each against the
        # anchor: information [[0.75, -0.5], [-0.5, 0.75]], covariance
        # [[2.4, 1.6], [1.6, 2.4]]; from the mean, var((x - y) / 2) = 0.4.
        games = [Game("x", "y", 1.0), Game("x", "y", 0.0)]
        strength = ratings.bradley_terry(games)
        assert strength["x"] == pytest.approx(1.0) and strength["y"] == pytest.approx(1.0)
        errors = ratings.bradley_terry_standard_errors(games, strength)
        assert errors["x"] == pytest.approx(math.sqrt(0.4)) and errors["y"] == pytest.approx(math.sqrt(0.4))

    def test_standard_errors_shrink_as_one_over_root_n(self):
        def error(n):
            games = [Game("x", "y", 1.0)] * (3 * n) + [Game("x", "y", 0.0)] * n + [Game("y", "z", 0.5)] * (2 * n)
            strength = ratings.bradley_terry(games, prior_games=0.01)
            return ratings.bradley_terry_standard_errors(games, strength, prior_games=0.01)

        few, many = error(25), error(400)
        for player in "xyz":
            assert many[player] / few[player] == pytest.approx(0.25, rel=0.1)

    def test_intervals_cover_the_true_strengths_about_95_percent_of_the_time(self):
        true = {"v1": 2.0, "v2": 1.4, "v3": 1.0, "v4": 0.7, "v5": 0.5}
        true_mean = sum(math.log(v) for v in true.values()) / len(true)
        rng = random.Random(11)
        covered = total = 0
        for _ in range(60):
            games = []
            for _ in range(200):
                left, right = rng.sample(list(true), 2)
                games.append(Game(left, right, 1.0 if rng.random() < true[left] / (true[left] + true[right]) else 0.0))
            strength = ratings.bradley_terry(games)
            errors = ratings.bradley_terry_standard_errors(games, strength)
            fit_mean = sum(math.log(v) for v in strength.values()) / len(strength)
            for player in true:
                total += 1
                gap = (math.log(strength[player]) - fit_mean) - (math.log(true[player]) - true_mean)
                covered += abs(gap) <= 1.96 * errors[player]
        assert 0.88 <= covered / total <= 0.995

    def test_scale_puts_equal_strength_at_1000(self):
        assert ratings.bt_to_elo_scale(1.0) == 1000
        assert ratings.bt_to_elo_scale(10.0) == pytest.approx(1400)


def test_records_count_wins_losses_draws_and_win_rate():
    table = ratings.records([Game("x", "y", 1.0), Game("y", "x", 0.5), Game("x", "z", 0.0)])
    assert (table["x"].games, table["x"].wins, table["x"].losses, table["x"].draws) == (3, 1, 1, 1)
    assert table["x"].win_rate == pytest.approx(0.5)
    assert table["z"].win_rate == 1.0
