"""PPO arithmetic on cases small enough to compute by hand."""

import math

import pytest
import torch

from training import ppo_math as pm


def t(rows):
    return torch.tensor(rows, dtype=torch.float)


class TestWhiten:
    def test_masked_entries_are_ignored(self):
        # mean 2, unbiased variance 1 over [1, 2, 3]
        out = pm.whiten(t([[1, 2, 3, 100]]), t([[1, 1, 1, 0]]))
        assert out.tolist()[0] == pytest.approx([-1, 0, 1, 0], abs=1e-6)

    def test_shift_mean_false_keeps_the_mean(self):
        out = pm.whiten(t([[1, 2, 3]]), t([[1, 1, 1]]), shift_mean=False)
        assert out.tolist()[0] == pytest.approx([1, 2, 3], abs=1e-6)


class TestKlReward:
    def test_penalty_per_token_and_score_on_last_token(self):
        rewards, kl = pm.kl_penalty_rewards(t([[-1, -2, -3]]), t([[-1.5, -2, -2]]), t([2.0]), t([[1, 1, 0]]), 0.1)
        assert kl.tolist()[0] == pytest.approx([0.5, 0, 0])
        assert rewards.tolist()[0] == pytest.approx([-0.05, 2.0, 0])


class TestGae:
    def test_gamma_lambda_one(self):
        adv, ret = pm.gae(t([[0, 0, 1]]), t([[0.5, 0.6, 0.7]]), t([[1, 1, 1]]), gamma=1.0, lam=1.0)
        assert adv.tolist()[0] == pytest.approx([0.5, 0.4, 0.3])
        assert ret.tolist()[0] == pytest.approx([1.0, 1.0, 1.0])

    def test_discounted(self):
        # d2 = 1 - .7 = .3; d1 = .9*.7 - .6 = .03; d0 = .9*.6 - .5 = .04; gamma*lam = .45
        adv, _ = pm.gae(t([[0, 0, 1]]), t([[0.5, 0.6, 0.7]]), t([[1, 1, 1]]), gamma=0.9, lam=0.5)
        assert adv.tolist()[0] == pytest.approx([0.04 + 0.45 * 0.165, 0.03 + 0.45 * 0.3, 0.3])

    def test_padding_has_no_value_and_no_advantage(self):
        adv, ret = pm.gae(t([[0, 1, 5]]), t([[0.5, 0.6, 9]]), t([[1, 1, 0]]), gamma=1.0, lam=1.0)
        assert adv.tolist()[0] == pytest.approx([0.5, 0.4, 0])
        assert ret.tolist()[0] == pytest.approx([1.0, 1.0, 0])

    def test_a_cut_off_answer_bootstraps_from_the_value_after_it(self):
        # Row 0 fills every column (cut off): its last delta is 1 + 2.0 - 0.7.
        # Row 1 ended at its second token: the bootstrap never reaches it.
        adv, ret = pm.gae(
            t([[0, 0, 1], [0, 1, 0]]),
            t([[0.5, 0.6, 0.7], [0.5, 0.6, 0]]),
            t([[1, 1, 1], [1, 1, 0]]),
            gamma=1.0,
            lam=1.0,
            bootstrap=t([2.0, 7.0]),
        )
        assert adv.tolist()[0] == pytest.approx([2.5, 2.4, 2.3])
        assert ret.tolist()[0] == pytest.approx([3.0, 3.0, 3.0])
        assert adv.tolist()[1] == pytest.approx([0.5, 0.4, 0])


def test_correlation():
    assert pm.correlation(t([1, 2, 3]), t([2, 4, 6])) == pytest.approx(1.0)
    assert pm.correlation(t([1, 2, 3]), t([3, 2, 1])) == pytest.approx(-1.0)
    assert pm.correlation(t([1, 1, 1]), t([1, 2, 3])) == 0.0


class TestPolicyLoss:
    def test_clipped_surrogate(self):
        # ratio 1.5 on both tokens. A=+1: max(-1.5, -1.2) = -1.2 (clipped);
        # A=-1: max(1.5, 1.2) = 1.5 (not clipped). Mean 0.15.
        logprobs = t([[math.log(1.5), math.log(1.5)]])
        loss, clipfrac = pm.policy_loss(logprobs, t([[0, 0]]), t([[1, -1]]), t([[1, 1]]), 0.2)
        assert loss.item() == pytest.approx(0.15)
        assert clipfrac.item() == pytest.approx(0.5)

    def test_ratio_one_is_minus_advantage(self):
        loss, clipfrac = pm.policy_loss(t([[-1, -2]]), t([[-1, -2]]), t([[2, 4]]), t([[1, 0]]), 0.2)
        assert loss.item() == pytest.approx(-2) and clipfrac.item() == 0


class TestValueLoss:
    def test_clipping_takes_the_larger_error(self):
        # V moved 0 -> 1 with clip 0.2 (clipped V = 0.2). Return 0: errors 1
        # and .04 -> 1. Return 2: errors 1 and 3.24 -> 3.24 (clipped).
        loss, clipfrac = pm.value_loss(t([[1, 1]]), t([[0, 0]]), t([[0, 2]]), t([[1, 1]]), 0.2)
        assert loss.item() == pytest.approx(0.5 * (1 + 3.24) / 2)
        assert clipfrac.item() == pytest.approx(0.5)


class TestResponseMask:
    def test_up_to_and_including_first_eos(self):
        mask, ended = pm.response_mask(torch.tensor([[5, 2, 7, 2], [1, 3, 3, 4]]), eos_token_id=2)
        assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
        assert ended.tolist() == [True, False]


class TestKlController:
    def test_adaptive_moves_towards_target_and_clips_error(self):
        controller = pm.AdaptiveKLController(0.1, target=6.0, horizon=100)
        assert controller.update(12.0, 10) == pytest.approx(0.1 * (1 + 0.2 * 0.1))  # error 1 clipped to .2
        controller = pm.AdaptiveKLController(0.1, target=6.0, horizon=100)
        assert controller.update(5.4, 10) == pytest.approx(0.1 * (1 - 0.1 * 0.1))

    def test_entropy_of_uniform(self):
        assert pm.entropy_from_logits(torch.zeros(1, 4)).item() == pytest.approx(math.log(4))


class TestLengthTrend:
    def test_takes_the_linear_trend_out_and_keeps_the_rest(self):
        lengths = t([2, 4, 6, 8])
        quality = t([1, -1, -1, 1])  # uncorrelated with length
        trend = pm.LengthTrend()
        trend.update(trend.batch_moments(0.5 * lengths + quality, lengths))
        assert trend.slope == pytest.approx(0.5)
        neutral = trend.remove(0.5 * lengths + quality, lengths)
        assert neutral.tolist() == pytest.approx((quality + 2.5).tolist())  # centred on the mean length, 5
        assert pm.correlation(neutral, lengths) == pytest.approx(0.0, abs=1e-9)

    def test_averages_batches_and_resumes(self):
        trend = pm.LengthTrend(decay=0.5)
        trend.update(trend.batch_moments(t([1, 2, 3]), t([1, 2, 3])))  # slope 1
        trend.update(trend.batch_moments(t([3, 3, 3]), t([1, 2, 3])))  # slope 0
        assert 0 < trend.slope < 1
        resumed = pm.LengthTrend()
        resumed.load_state_dict(trend.state_dict())
        assert resumed.slope == trend.slope and resumed.decay == 0.5

    def test_no_trend_before_a_batch_or_when_lengths_are_equal(self):
        trend = pm.LengthTrend()
        assert trend.remove(t([1, 2]), t([3, 3])).tolist() == [1, 2]
        trend.update(trend.batch_moments(t([1, 2]), t([3, 3])))
        assert trend.slope == 0.0
