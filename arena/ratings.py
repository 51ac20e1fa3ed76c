"""Ratings of model versions from pairwise games: Elo and Bradley-Terry.

A game is (left, right, score): score 1 when left won, 0 when right won,
0.5 for a draw. Arena ties and "both bad" are draws, as in LMSYS's Chatbot
Arena: they say the two are alike, which both models should hear.

- Elo updates one game at a time, in order: recent games weigh more and the
  result depends on the order, which is why the Bradley-Terry fit, which
  treats all games alike, is the one the leaderboard sorts by.
- Bradley-Terry: P(i beats j) = p_i / (p_i + p_j), fit by maximum likelihood
  with the MM (Zermelo) iteration of Hunter (2004), "MM algorithms for
  generalized Bradley-Terry models", eq. 3. A draw counts half a win each
  way. A version that never won (or never lost) has no finite MLE, so every
  version also plays `prior_games` virtual games, half won, against a fixed
  anchor of strength 1: a small prior that keeps every strength finite and
  fixes the scale (the anchor sits at 1000 on the Elo-like scale).
- Its intervals come from the observed information at the fit (the normal
  approximation), measured from the mean of all players; on simulated votes
  they cover the true strengths 95% of the time (tests/arena/test_ratings.py).
"""

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

ELO_INITIAL = 1000.0
ELO_K = 32.0
ELO_SCALE = 400.0


@dataclass(frozen=True)
class Game:
    left: Hashable
    right: Hashable
    score: float  # 1 left won, 0 right won, 0.5 draw


def elo_expected(rating_a: float, rating_b: float) -> float:
    """The score A is expected to make against B."""
    return 1.0 / (1.0 + 10 ** ((rating_b - rating_a) / ELO_SCALE))


def elo_update(rating_a: float, rating_b: float, score_a: float, k: float = ELO_K) -> tuple[float, float]:
    """Both ratings after one game: what A gains, B loses."""
    change = k * (score_a - elo_expected(rating_a, rating_b))
    return rating_a + change, rating_b - change


def elo_ratings(games: Iterable[Game], *, k: float = ELO_K, initial: float = ELO_INITIAL) -> dict:
    ratings: dict = {}
    for game in games:
        a, b = ratings.get(game.left, initial), ratings.get(game.right, initial)
        ratings[game.left], ratings[game.right] = elo_update(a, b, game.score, k)
    return ratings


def bradley_terry(
    games: Iterable[Game], *, prior_games: float = 1.0, max_iterations: int = 10_000, tolerance: float = 1e-10
) -> dict:
    """Each player's strength p (the anchor's is 1), by the MM iteration
    p_i <- W_i / sum_j n_ij / (p_i + p_j), with the anchor among the j."""
    wins: dict = {}
    pair_games: dict = {}
    for game in games:
        if game.left == game.right:
            continue
        wins[game.left] = wins.get(game.left, 0.0) + game.score
        wins[game.right] = wins.get(game.right, 0.0) + 1.0 - game.score
        pair = (game.left, game.right)
        pair_games[pair] = pair_games.get(pair, 0) + 1
    opponents: dict = {player: {} for player in wins}
    for (a, b), count in pair_games.items():
        opponents[a][b] = opponents[a].get(b, 0) + count
        opponents[b][a] = opponents[b].get(a, 0) + count
    strength = {player: 1.0 for player in wins}
    for _ in range(max_iterations):
        updated = {}
        for player, played in opponents.items():
            denominator = sum(count / (strength[player] + strength[other]) for other, count in played.items())
            denominator += prior_games / (strength[player] + 1.0)
            updated[player] = (wins[player] + prior_games / 2) / denominator
        change = max((abs(math.log(updated[p] / strength[p])) for p in strength), default=0.0)
        strength = updated
        if change < tolerance:
            break
    return strength


def _invert(matrix: list[list[float]]) -> list[list[float]]:
    """Gauss-Jordan with partial pivoting; the matrices here are one row
    per model version, so a few dozen at most."""
    size = len(matrix)
    rows = [list(row) + [1.0 if i == j else 0.0 for j in range(size)] for i, row in enumerate(matrix)]
    for column in range(size):
        pivot = max(range(column, size), key=lambda r: abs(rows[r][column]))
        rows[column], rows[pivot] = rows[pivot], rows[column]
        scale = rows[column][column]
        rows[column] = [value / scale for value in rows[column]]
        for r in range(size):
            if r != column and rows[r][column]:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [row[size:] for row in rows]


def bradley_terry_standard_errors(games: Iterable[Game], strength: dict, *, prior_games: float = 1.0) -> dict:
    """Each player's standard error in log-strength relative to the mean
    of all players, from the observed information (the negative Hessian of
    the log-likelihood in log-strengths, prior games included) at the fit
    `strength`: a pair's n games add n q (1 - q), q = p_i / (p_i + p_j), to
    both diagonals and take it off the pair's cell. The anchor makes the
    matrix invertible, but it pins the common level only through the weak
    prior; measured from the mean, that level's large variance cancels and
    what is left is how well the games place each player among the others."""
    players = list(strength)
    index = {player: i for i, player in enumerate(players)}
    information = [[0.0] * len(players) for _ in players]
    for game in games:
        if game.left == game.right:
            continue
        i, j = index[game.left], index[game.right]
        q = strength[game.left] / (strength[game.left] + strength[game.right])
        weight = q * (1.0 - q)
        information[i][i] += weight
        information[j][j] += weight
        information[i][j] -= weight
        information[j][i] -= weight
    for player, i in index.items():
        q = strength[player] / (strength[player] + 1.0)
        information[i][i] += prior_games * q * (1.0 - q)
    covariance = _invert(information)
    size = len(players)
    row_means = [sum(row) / size for row in covariance]
    grand_mean = sum(row_means) / size
    return {
        player: math.sqrt(max(covariance[i][i] - 2 * row_means[i] + grand_mean, 0.0)) for player, i in index.items()
    }


def log_strength_to_elo_points(value: float) -> float:
    """A difference in log-strength as Elo points."""
    return ELO_SCALE * value / math.log(10)


def bt_to_elo_scale(strength: float) -> float:
    """A strength on Elo's scale: 400 points are 10:1 odds, the anchor 1000."""
    return ELO_INITIAL + ELO_SCALE * math.log10(strength)


@dataclass
class Record:
    games: int = 0
    wins: int = 0
    losses: int = 0
    draws: int = 0

    @property
    def win_rate(self) -> float | None:
        """Share of points won, a draw half a point."""
        return (self.wins + self.draws / 2) / self.games if self.games else None


def records(games: Iterable[Game]) -> dict:
    table: dict = {}
    for game in games:
        for player, score in ((game.left, game.score), (game.right, 1.0 - game.score)):
            record = table.setdefault(player, Record())
            record.games += 1
            if score == 1.0:
                record.wins += 1
            elif score == 0.0:
                record.losses += 1
            else:
                record.draws += 1
    return table
