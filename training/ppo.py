"""RLHF with PPO: the policy (from SFT) learns to raise a reward model's
score while a per-token KL penalty keeps it near a frozen reference.

Data: prompts lines (format in training/data.py).

One step: sample answers to `rollout_batch_size` prompts; score each with
the reward model, normalised by the mean and standard deviation it saved
(training.reward.score_statistics), with the score's linear trend in
answer length taken out when `length_neutral` is on (ppo_math.LengthTrend),
minus `missing_eos_penalty` (in those units, off by default) when it never
ends; per-token
rewards = -kl_coef * (log pi - log pi_ref), plus the score at the last
token; advantages by GAE from a value model (the reward model's weights
with its score head applied at every token); then `ppo_epochs` passes over
minibatches with the clipped policy and value losses. An answer cut off at
`max_new_tokens` is not an ending: its return bootstraps from the value of
the state after its last token. With LoRA the
reference is the policy with its adapter disabled (one copy of the
weights). `synthetic_reward` ("contains:TOKEN", "fraction:TOKEN" or
"length:RATE") replaces the reward model, for tests. The arithmetic lives in training.ppo_math.

Sources: Ziegler et al. 2019; Ouyang et al. 2022 (InstructGPT); Huang et
al. 2024, "The N+ implementation details of RLHF with PPO".
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from . import device as hw
from . import ppo_math as pm
from .config import ConfigError, non_negative, positive
from .data import DataError, load_prompts
from .data_order import ShuffledOrder
from .distributed import all_reduce_grads, all_reduce_mean
from .metrics import keep_lines_through
from .models import check_model_dir, lora_config, save_pretrained, upcast_trainable, weights_dtype
from .recipe_run import RecipeRun


@dataclass
class PpoRecipeConfig:
    kind: ClassVar[str] = "ppo"
    # --- models
    output_dir: str
    policy_model: str
    prompts_file: str
    reward_model: str | None = None
    synthetic_reward: str | None = None  # "contains:TOKEN" | "fraction:TOKEN" (TOKEN: a token, or #id) | "length:RATE"
    lora: bool = False  # on policy and value model; the reference is the adapter-free policy
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    # --- rollouts
    max_prompt_length: int = 256  # the last tokens of each prompt
    max_new_tokens: int = 48
    temperature: float = 1.0
    reward_max_length: int | None = None  # None: what the reward model was trained on (its config), else 512
    normalize_reward: bool = True  # (score - mean) / std with the statistics the reward model saved
    eval_prompts: int = 4  # the first N prompts, answered greedily to samples.jsonl
    eval_every: int = 10
    # --- PPO
    max_steps: int = 30  # rollout batches
    rollout_batch_size: int = 8
    minibatch_size: int = 4
    ppo_epochs: int = 2
    lr: float = 1e-5
    value_lr: float | None = None  # None: lr
    grad_clip: float = 1.0
    kl_coef: float = 0.05
    adaptive_kl: bool = False
    kl_target: float = 6.0
    kl_horizon: int | None = None  # None: a third of the run's rollouts, so the coefficient can move within it
    gamma: float = 1.0
    lam: float = 0.95
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    whiten_rewards: bool = False
    # Take the reward model's trend in answer length out of its score, so
    # that length alone earns nothing (ppo_math.LengthTrend). For reward
    # models that never saw answers as long as the policy's.
    length_neutral: bool = False
    # Subtracted (in normalised reward units) from answers that never end. Off
    # by default: against an unnormalised score and a cap that a third of the
    # demonstrations exceed, a penalty of 1.0 taught the policy to stop early
    # and nothing else (../shared/reviews/rlhf-2026-12-06.md).
    missing_eos_penalty: float | None = None
    bootstrap_truncated: bool = True  # a cut-off answer's return continues from V, not 0
    log_every: int = 1
    device: str = "auto"
    seed: int = 0
    # --- checkpoints (training.checkpoint)
    checkpoint_every: int = 10  # steps; 0: only when stopped. Written to output_dir/checkpoint/
    resume: bool = True  # go on from output_dir/checkpoint/ when it holds one

    def check(self):
        non_negative(self, "checkpoint_every")
        positive(
            self,
            "max_prompt_length",
            "max_new_tokens",
            "temperature",
            "max_steps",
            "rollout_batch_size",
            "minibatch_size",
            "ppo_epochs",
            "lr",
            "log_every",
            "eval_every",
            "lora_r",
        )
        if self.reward_max_length is not None and self.reward_max_length <= 0:
            raise ConfigError("reward_max_length: must be > 0")
        if self.kl_horizon is not None and self.kl_horizon <= 0:
            raise ConfigError("kl_horizon: must be > 0")
        if (self.reward_model is None) == (self.synthetic_reward is None):
            raise ConfigError("reward_model: give exactly one of reward_model and synthetic_reward")
        if self.synthetic_reward is not None:
            mode, _, argument = self.synthetic_reward.partition(":")
            if mode not in ("contains", "fraction", "length"):
                raise ConfigError("synthetic_reward: expected contains:TOKEN, fraction:TOKEN or length:RATE")
            if mode == "length":
                try:
                    float(argument)
                except ValueError:
                    raise ConfigError(f"synthetic_reward: length:RATE needs a number, not {argument!r}") from None
        if self.rollout_batch_size % self.minibatch_size:
            raise ConfigError("minibatch_size: must divide rollout_batch_size")
        if self.kl_coef < 0:
            raise ConfigError("kl_coef: must be >= 0")


class SyntheticReward:
    """contains:X -> 1.0 when the answer holds token X, else 0.0;
    fraction:X -> the share of the answer's tokens that are X;
    length:RATE -> RATE per token of the answer (negative: brevity pays), a
    reward model at its worst."""

    def __init__(self, spec: str, tokenizer):
        self.mode, _, token = spec.partition(":")
        if self.mode == "length":
            self.rate = float(token)
            return
        if token.startswith("#") and token[1:].isdigit():
            self.token_id = int(token[1:])
        else:
            ids = tokenizer.convert_tokens_to_ids([token])
            if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
                raise ConfigError(f"synthetic_reward: {token!r} is not a token of the policy's tokenizer")
            self.token_id = ids[0]

    def __call__(self, prompts: list[list[dict]], responses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.mode == "length":
            return self.rate * mask.sum(dim=1)
        hits = ((responses == self.token_id).float() * mask).sum(dim=1)
        if self.mode == "contains":
            return (hits > 0).float()
        return hits / mask.sum(dim=1).clamp(min=1)


class ValueModel(torch.nn.Module):
    """A per-token value head: a sequence-classification model's score
    layer applied to every position's hidden state instead of the last."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids, attention_mask, position_ids):
        inner = self.classifier.get_base_model() if hasattr(self.classifier, "get_base_model") else self.classifier
        base = getattr(inner, inner.base_model_prefix)
        hidden = base(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).last_hidden_state
        return inner.score(hidden).squeeze(-1).float()


def _same_vocab(policy_tokenizer, reward_tokenizer) -> bool:
    reward_vocab = reward_tokenizer.get_vocab()
    return all(reward_vocab.get(token) == index for token, index in policy_tokenizer.get_vocab().items())


def load_models(config: PpoRecipeConfig, device: str):
    """(tokenizer, policy, reference or None, value model, reward scorer)."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    check_model_dir(config.policy_model)
    # Trained weights in fp32, read-only ones in bf16 where fast (models.weights_dtype).
    trained_dtype = weights_dtype(device, trained=not config.lora)
    frozen_dtype = weights_dtype(device, trained=False)
    tokenizer = AutoTokenizer.from_pretrained(config.policy_model)
    if tokenizer.eos_token_id is None:
        raise DataError(f"policy {config.policy_model}: the tokenizer has no EOS token")
    if tokenizer.pad_token_id is None:
        # Prompts are left-padded (and the padding masked out): EOS will do.
        tokenizer.pad_token = tokenizer.eos_token
    policy = AutoModelForCausalLM.from_pretrained(config.policy_model, dtype=trained_dtype)
    reward_tokenizer = reward = None
    if config.reward_model:
        check_model_dir(config.reward_model)
        reward_tokenizer = AutoTokenizer.from_pretrained(config.reward_model)
        reward = AutoModelForSequenceClassification.from_pretrained(config.reward_model, dtype=frozen_dtype)
        reward = reward.to(device).eval()
        reward.requires_grad_(False)
        if reward.config.pad_token_id is None:
            raise DataError(f"reward model {config.reward_model}: no pad token (train it with training.reward)")
    if reward is not None and _same_vocab(tokenizer, reward_tokenizer):
        value_source = AutoModelForSequenceClassification.from_pretrained(config.reward_model, dtype=trained_dtype)
    else:
        if reward is not None:
            print(
                "ppo: the reward model's vocabulary differs from the policy's; the value model starts from the policy",
                flush=True,
            )
        value_source = AutoModelForSequenceClassification.from_pretrained(
            config.policy_model, num_labels=1, dtype=trained_dtype
        )
        torch.nn.init.zeros_(value_source.score.weight)
    reference = None
    if config.lora:
        from peft import get_peft_model

        policy = get_peft_model(
            policy,
            lora_config(r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="CAUSAL_LM"),
        )
        value_source = get_peft_model(
            value_source,
            lora_config(r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="SEQ_CLS"),
        )
        upcast_trainable(policy)
        upcast_trainable(value_source)
    else:
        reference = copy.deepcopy(policy).to(device=device, dtype=frozen_dtype).eval()
        reference.requires_grad_(False)
    if config.synthetic_reward:
        scorer = SyntheticReward(config.synthetic_reward, tokenizer)
    else:
        scorer = ModelReward(reward, reward_tokenizer, tokenizer, config, device)
    # No dropout anywhere: the log-probabilities of rollout and update must
    # come from the same function.
    return tokenizer, policy.to(device).eval(), reference, ValueModel(value_source).to(device).eval(), scorer


class ModelReward:
    """PPO's reward: the reward model judges the decoded conversation (so it
    may use its own tokenizer and chat template), in standard units."""

    def __init__(self, model, tokenizer, policy_tokenizer, config: PpoRecipeConfig, device: str):
        from .reward import RewardJudge

        self.policy_tokenizer = policy_tokenizer
        self.judge = RewardJudge(
            model, tokenizer, device, max_length=config.reward_max_length, normalize=config.normalize_reward
        )
        if config.normalize_reward and not self.judge.normalized:
            print("ppo: the reward model saved no score statistics; its scores are used as they are", flush=True)

    def __call__(self, prompts: list[list[dict]], responses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        answers = [
            self.policy_tokenizer.decode(ids[row_mask.bool()], skip_special_tokens=True)
            for ids, row_mask in zip(responses, mask, strict=True)
        ]
        return self.judge.score(prompts, answers)


def encode_prompts(tokenizer, prompts: list[list[dict]], max_length: int) -> list[list[int]]:
    encoded = []
    for messages in prompts:
        if tokenizer.chat_template:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            text = "\n\n".join(m["content"] for m in messages) + "\n\n"
        encoded.append(tokenizer(text, add_special_tokens=False)["input_ids"][-max_length:])
    return encoded


def left_pad(sequences: list[list[int]], pad_id: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq) :] = torch.tensor(seq)
        mask[row, width - len(seq) :] = 1
    return ids.to(device), mask.to(device)


def _positions(attention_mask: torch.Tensor) -> torch.Tensor:
    return (attention_mask.cumsum(dim=1) - 1).clamp(min=0)


def response_logprobs(
    model, input_ids, attention_mask, prompt_width: int, temperature: float, device: str, with_entropy: bool = False
):
    """Log-probabilities (at the sampling temperature) of the response
    tokens, which follow a left-padded prompt of `prompt_width`."""
    with hw.autocast(device):
        logits = model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=_positions(attention_mask)
        ).logits
    logits = logits[:, prompt_width - 1 : -1].float() / temperature
    responses = input_ids[:, prompt_width:]
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, responses.unsqueeze(-1)).squeeze(-1)
    if with_entropy:
        return logprobs, pm.entropy_from_logits(logits)
    return logprobs


def token_values(
    value_model, input_ids, attention_mask, prompt_width: int, device: str, *, through_end: bool = False
) -> torch.Tensor:
    """V(s_t) for each response token t: the value of the state before the
    token is chosen, read at the position that predicts it; `through_end`
    adds one more column, the value of the state after the last token."""
    with hw.autocast(device):
        values = value_model(input_ids, attention_mask, _positions(attention_mask))
    return values[:, prompt_width - 1 :] if through_end else values[:, prompt_width - 1 : -1]


def _reference(policy, reference):
    """The reference forward: the frozen copy, or the policy with its LoRA
    adapter disabled."""
    import contextlib

    if reference is not None:
        return reference, contextlib.nullcontext()
    return policy, policy.disable_adapter()


@torch.no_grad()
def rollout(config, tokenizer, policy, reference, value_model, scorer, prompts, encoded, kl_coef, length_trend, device):
    """Samples answers and computes everything PPO's update needs;
    `length_trend` (or None) is updated with this batch, then applied."""
    prompt_ids, prompt_mask = left_pad(encoded, tokenizer.pad_token_id, device)
    sequences = policy.generate(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        do_sample=True,
        temperature=config.temperature,
        top_k=0,
        top_p=1.0,
        max_new_tokens=config.max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    width = prompt_ids.shape[1]
    responses = sequences[:, width:]
    mask, ended = pm.response_mask(responses, tokenizer.eos_token_id)
    responses = torch.where(mask.bool(), responses, torch.full_like(responses, tokenizer.pad_token_id))
    full_ids = torch.cat([prompt_ids, responses], dim=1)
    full_mask = torch.cat([prompt_mask, mask.long()], dim=1)
    logprobs = response_logprobs(policy, full_ids, full_mask, width, config.temperature, device)
    ref_model, context = _reference(policy, reference)
    with context:
        ref_logprobs = response_logprobs(ref_model, full_ids, full_mask, width, config.temperature, device)
    values_through_end = token_values(value_model, full_ids, full_mask, width, device, through_end=True)
    values = values_through_end[:, :-1]
    # A cut-off answer fills every column, so its state after the last token
    # is the last column's; an answer that ended has nothing after it.
    bootstrap = values_through_end[:, -1] * (~ended).float() if config.bootstrap_truncated else None
    scores = scorer(prompts, responses, mask).float()
    raw_scores = scores.clone()
    if length_trend is not None:
        lengths = mask.sum(dim=1)
        moments = length_trend.batch_moments(scores, lengths)
        length_trend.update([all_reduce_mean(m, device) for m in moments])
        scores = length_trend.remove(scores, lengths)
    if config.missing_eos_penalty is not None:
        scores = scores - config.missing_eos_penalty * (~ended).float()
    rewards, kl = pm.kl_penalty_rewards(logprobs, ref_logprobs, scores, mask, kl_coef)
    if config.whiten_rewards:
        rewards = pm.whiten(rewards, mask, shift_mean=False)
    advantages, returns = pm.gae(rewards, values, mask, gamma=config.gamma, lam=config.lam, bootstrap=bootstrap)
    advantages = pm.whiten(advantages, mask)
    return {
        "input_ids": full_ids,
        "attention_mask": full_mask,
        "mask": mask,
        "width": width,
        "logprobs": logprobs,
        "values": values * mask,
        "advantages": advantages,
        "returns": returns,
        "scores": scores,
        "raw_scores": raw_scores,
        "kl": kl.sum(dim=1),
        "ended": ended,
    }


def ppo_update(config, batch, policy, value_model, optimizer, device, rng) -> dict:
    """`ppo_epochs` passes over shuffled minibatches of one rollout batch."""
    n = batch["input_ids"].shape[0]
    stats = {"policy_loss": [], "value_loss": [], "entropy": [], "clipfrac": [], "value_clipfrac": [], "approx_kl": []}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for _ in range(config.ppo_epochs):
        order = list(range(n))
        rng.shuffle(order)
        for start in range(0, n, config.minibatch_size):
            index = torch.tensor(order[start : start + config.minibatch_size], device=device)
            ids, attention = batch["input_ids"][index], batch["attention_mask"][index]
            mask = batch["mask"][index]
            logprobs, entropy = response_logprobs(
                policy, ids, attention, batch["width"], config.temperature, device, with_entropy=True
            )
            values = token_values(value_model, ids, attention, batch["width"], device)
            pg_loss, clipfrac = pm.policy_loss(
                logprobs, batch["logprobs"][index], batch["advantages"][index], mask, config.cliprange
            )
            vf_loss, vf_clipfrac = pm.value_loss(
                values, batch["values"][index], batch["returns"][index], mask, config.cliprange_value
            )
            loss = pg_loss + config.vf_coef * vf_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            all_reduce_grads(params)
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            with torch.no_grad():
                stats["policy_loss"].append(pg_loss.item())
                stats["value_loss"].append(vf_loss.item())
                stats["entropy"].append(pm.masked_mean(entropy, mask).item())
                stats["clipfrac"].append(clipfrac.item())
                stats["value_clipfrac"].append(vf_clipfrac.item())
                stats["approx_kl"].append(pm.masked_mean(0.5 * (logprobs - batch["logprobs"][index]) ** 2, mask).item())
    return {key: sum(values) / len(values) for key, values in stats.items()}


@torch.no_grad()
def write_samples(path: Path, step: int, tokenizer, policy, scorer, prompts, encoded, config, device) -> None:
    """Greedy answers to the fixed evaluation prompts, appended to
    samples.jsonl: how the policy's answers change over training."""
    ids, mask = left_pad(encoded, tokenizer.pad_token_id, device)
    sequences = policy.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
        max_new_tokens=config.max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    responses = sequences[:, ids.shape[1] :]
    response_mask, _ = pm.response_mask(responses, tokenizer.eos_token_id)
    scores = scorer(prompts, responses, response_mask)
    with open(path, "a", encoding="utf-8") as stream:
        for prompt, row, row_mask, score in zip(prompts, responses, response_mask, scores.tolist(), strict=True):
            text = tokenizer.decode(row[row_mask.bool()], skip_special_tokens=True)
            stream.write(
                json.dumps({"step": step, "prompt": prompt[-1]["content"], "response": text, "reward": score}) + "\n"
            )
    first = tokenizer.decode(responses[0][response_mask[0].bool()], skip_special_tokens=True)
    print(f"samples at step {step}: {json.dumps(first)}", flush=True)


def train(config: PpoRecipeConfig, *, progress=None) -> dict:
    with RecipeRun(config, progress=progress, seed_per_rank=True) as run:
        device, main, world_size = run.device, run.main, run.world_size
        prompts = load_prompts(config.prompts_file)
        tokenizer, policy, reference, value_model, scorer = load_models(config, device)
        encoded = encode_prompts(tokenizer, prompts, config.max_prompt_length)
        eval_prompts, eval_encoded = prompts[: config.eval_prompts], encoded[: config.eval_prompts]
        value_lr = config.value_lr if config.value_lr is not None else config.lr
        optimizer = torch.optim.AdamW(
            [
                {"params": [p for p in policy.parameters() if p.requires_grad], "lr": config.lr},
                {"params": [p for p in value_model.parameters() if p.requires_grad], "lr": value_lr},
            ],
            weight_decay=0.0,
            eps=1e-5,
            fused=hw.is_cuda(device),
        )
        # Ziegler et al.'s 10,000 is a horizon in samples: at a few hundred
        # rollouts per run the coefficient could hardly move within it.
        horizon = config.kl_horizon or max(1, config.rollout_batch_size * world_size * config.max_steps // 3)
        controller = (
            pm.AdaptiveKLController(config.kl_coef, config.kl_target, horizon)
            if config.adaptive_kl
            else pm.FixedKLController(config.kl_coef)
        )
        print(
            f"ppo: {len(prompts)} prompts, device {device}, world {world_size}, "
            f"reward {'synthetic ' + config.synthetic_reward if config.synthetic_reward else config.reward_model}",
            flush=True,
        )
        # One generator for the prompt order and the minibatches; each process its own.
        rng = random.Random(config.seed + run.rank)
        order = ShuffledOrder(len(prompts), rng)
        length_trend = pm.LengthTrend() if config.length_neutral else None
        run.track(policy=policy, value_model=value_model, optimizer=optimizer, kl_controller=controller)
        if length_trend is not None:
            run.track(length_trend=length_trend)
        run.track_local(order=order, rng=rng)
        step = run.start(config.max_steps)
        samples_path = run.out / "samples.jsonl"
        if main and step:
            keep_lines_through(samples_path, step - 1)  # the resumed run writes the checkpoint step's again
        elif main:
            samples_path.write_text("")
        while step < config.max_steps:
            if run.should_stop(step):
                break
            if main and eval_prompts and step % config.eval_every == 0:
                write_samples(samples_path, step, tokenizer, policy, scorer, eval_prompts, eval_encoded, config, device)
            chosen = order.take(config.rollout_batch_size)
            batch = rollout(
                config,
                tokenizer,
                policy,
                reference,
                value_model,
                scorer,
                [prompts[i] for i in chosen],
                [encoded[i] for i in chosen],
                controller.value,
                length_trend,
                device,
            )
            stats = ppo_update(config, batch, policy, value_model, optimizer, device, rng)
            step += 1
            no_eos_fraction = all_reduce_mean((~batch["ended"]).float().mean().item(), device)
            if main and step == 1 and config.missing_eos_penalty and no_eos_fraction > 0.2:
                print(
                    f"ppo: warning: {no_eos_fraction:.0%} of the first answers reach max_new_tokens "
                    f"({config.max_new_tokens}) and take the missing-EOS penalty: the policy will learn to stop "
                    "early rather than to answer better. Raise max_new_tokens or turn the penalty off.",
                    flush=True,
                )
            kl = all_reduce_mean(batch["kl"].mean().item(), device)
            kl_coef = controller.value
            controller.update(kl, config.rollout_batch_size * world_size)
            if step % config.log_every == 0 or step == config.max_steps:
                run.writer.write(
                    step,
                    reward=all_reduce_mean(batch["raw_scores"].mean().item(), device),
                    reward_with_penalty=all_reduce_mean(batch["scores"].mean().item(), device),
                    # What PPO maximises: the score minus the KL penalty (TRL's objective/rlhf_reward).
                    rlhf_reward=all_reduce_mean((batch["scores"] - kl_coef * batch["kl"]).mean().item(), device),
                    # Whether the score pays for length: the reward-hacking signal to watch.
                    score_length_correlation=all_reduce_mean(
                        pm.correlation(batch["raw_scores"], batch["mask"].sum(dim=1)), device
                    ),
                    kl=kl,
                    kl_coef=kl_coef,
                    **({"length_slope": length_trend.slope} if length_trend is not None else {}),
                    **{k: all_reduce_mean(v, device) for k, v in stats.items()},
                    response_length=batch["mask"].sum(dim=1).float().mean().item(),
                    no_eos_fraction=no_eos_fraction,
                    learning_rate=config.lr,
                )
        if main and eval_prompts:
            write_samples(samples_path, step, tokenizer, policy, scorer, eval_prompts, eval_encoded, config, device)
        run.end(step, dict(run.writer.last), save=lambda: save_pretrained(policy, tokenizer, run.out))
    return run.summary


if __name__ == "__main__":
    from .cli import run

    run("ppo", PpoRecipeConfig, train)
