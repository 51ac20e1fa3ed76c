"""The arithmetic of PPO for language models, as small pure functions on
[batch, response tokens] tensors with a 0/1 `mask` of real tokens.

Sources: Ziegler et al. 2019 "Fine-Tuning Language Models from Human
Preferences" (per-token KL penalty, adaptive KL controller); Schulman et al.
2016 (GAE) and 2017 (clipped surrogate); the N+ implementation details of
RLHF with PPO (Huang et al. 2024: whitening, value clipping, EOS penalty).
"""

from __future__ import annotations

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


def masked_var(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased variance over the masked entries."""
    mean = masked_mean(values, mask)
    count = mask.sum()
    var = (((values - mean) ** 2) * mask).sum() / count.clamp(min=1)
    return var * count / (count - 1).clamp(min=1)


def whiten(values: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True) -> torch.Tensor:
    """(values - mean) / std over the masked entries; with shift_mean=False
    the mean is kept (rewards are scaled, not centred). Masked-out entries
    come back as 0."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real token (rows are right-padded)."""
    return (mask.sum(dim=1) - 1).clamp(min=0).long()


def kl_penalty_rewards(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: -kl_coef * (log pi - log pi_ref) at every response
    token (the k1 KL estimator), plus the sequence's score at its last
    token. Returns (rewards, per-token kl), both zero on padding."""
    kl = (logprobs - ref_logprobs) * mask
    rewards = -kl_coef * kl
    rows = torch.arange(len(scores), device=scores.device)
    rewards[rows, last_token_index(mask)] += scores
    return rewards * mask, kl


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    gamma: float,
    lam: float,
    bootstrap: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation. delta_t = r_t + gamma V_{t+1} - V_t
    (V past the last real token is 0, or `bootstrap`'s value for rows that
    fill every column: answers cut off, not ended), A_t = delta_t + gamma
    lam A_{t+1}; returns = A + V. Both zero on padding."""
    values = values * mask
    rewards = rewards * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    length = rewards.shape[1]
    after_last = torch.zeros_like(running) if bootstrap is None else bootstrap * mask[:, -1]
    for t in reversed(range(length)):
        next_value = values[:, t + 1] if t + 1 < length else after_last
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def policy_loss(
    logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, cliprange: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped surrogate: mean of max(-A r, -A clip(r, 1-e, 1+e)) with
    r = exp(log pi - log pi_old). Returns (loss, fraction of tokens clipped)."""
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac


def value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, cliprange_value: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """0.5 * mean of max((V - R)^2, (V_clipped - R)^2), V_clipped kept within
    cliprange_value of the rollout's value. Returns (loss, clip fraction)."""
    clipped_values = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    unclipped = (values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac


def correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's r of two 1-D tensors; 0.0 when either is constant."""
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.square().sum() * y.square().sum()).sqrt()
    return (x * y).sum().item() / denominator.item() if denominator > 0 else 0.0


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Per-position entropy of the softmax of `logits` (last dim)."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def response_mask(responses: torch.Tensor, eos_token_id: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, ended): mask covers each response up to and including its
    first EOS (everything when it has none); ended says which have one."""
    if eos_token_id is None:
        return torch.ones_like(responses, dtype=torch.float), torch.zeros(
            len(responses), dtype=torch.bool, device=responses.device
        )
    is_eos = responses == eos_token_id
    ended = is_eos.any(dim=1)
    first = torch.where(
        ended, is_eos.float().argmax(dim=1), torch.full_like(ended, responses.shape[1] - 1, dtype=torch.long)
    )
    positions = torch.arange(responses.shape[1], device=responses.device).unsqueeze(0)
    return (positions <= first.unsqueeze(1)).float(), ended


class LengthTrend:
    """How much the reward model's score rises per token of answer length,
    followed over the run so that PPO can take it out of the score.

    A reward model trained on answers cut off at a short cap has not learnt
    what length is worth, yet its score still moves with length (Singhal et
    al. 2023, "A Long Way to Go": much of RLHF's measured gain is length).
    With the trend taken out, the score within a batch carries no linear
    relation to length, so the policy gains nothing from answering longer or
    shorter, only from answering better. The slope is a least-squares fit
    on exponentially averaged moments of the rollout batches (`decay` per
    batch): one batch of eight answers is too few to fit it alone."""

    def __init__(self, decay: float = 0.9):
        self.decay = decay
        self.moments: list[float] | None = None  # E[length], E[score], E[length^2], E[length * score]

    @staticmethod
    def batch_moments(scores: torch.Tensor, lengths: torch.Tensor) -> list[float]:
        scores, lengths = scores.double(), lengths.double()
        return [t.mean().item() for t in (lengths, scores, lengths * lengths, lengths * scores)]

    def update(self, moments: list[float]) -> None:
        if self.moments is None:
            self.moments = list(moments)
        else:
            self.moments = [
                self.decay * old + (1 - self.decay) * new for old, new in zip(self.moments, moments, strict=True)
            ]

    @property
    def slope(self) -> float:
        if self.moments is None:
            return 0.0
        mean_length, mean_score, length_sq, length_score = self.moments
        variance = length_sq - mean_length**2
        return (length_score - mean_length * mean_score) / variance if variance > 1e-6 else 0.0

    def remove(self, scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The scores less the trend, centred on the averaged length."""
        if self.moments is None:
            return scores
        return scores - self.slope * (lengths.to(scores.dtype) - self.moments[0])

    def state_dict(self) -> dict:
        return {"decay": self.decay, "moments": self.moments}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.moments = state["decay"], state["moments"]


class AdaptiveKLController:
    """Ziegler et al.'s controller: kl_coef *= 1 + clip(KL/target - 1,
    -0.2, 0.2) * n_steps / horizon, steering the measured KL to `target`."""

    def __init__(self, init_kl_coef: float, target: float, horizon: int):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current_kl: float, n_steps: int) -> float:
        error = min(max(current_kl / self.target - 1, -0.2), 0.2)
        self.value *= 1 + error * n_steps / self.horizon
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]


class FixedKLController:
    def __init__(self, kl_coef: float):
        self.value = kl_coef

    def update(self, current_kl: float, n_steps: int) -> float:
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]
