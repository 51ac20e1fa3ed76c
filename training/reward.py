"""Reward model: a one-output sequence-classification head on the SFT (or
base) model, trained on rankings as InstructGPT does.

Data: preference lines (format in training/data.py).

Pairs sharing a group_id come from one ranking of K answers. Each group is
one batch element: its distinct answers are scored once, in one forward, and
its loss is the mean over its (up to C(K,2)) pairs of
-log sigmoid(r_chosen - r_rejected [- margin]); the step's loss is the mean
over its groups. Groups are never split between training and held-out data,
and the held-out pairwise accuracy is on groups the model never saw.

The pad token is a real one, distinct from EOS (added, with the embeddings
resized, when the tokenizer has none or pads with EOS), because the score is
read at the last non-pad token. The score head starts at zero, so every
answer starts at reward 0. For speed on a CPU: keep the last `max_length`
tokens (the answer's end), LoRA, frozen lower layers (no backward through
them), and bf16 where the hardware computes it fast (CUDA, a CPU with AMX):
weights LoRA leaves frozen are stored in bf16, trained ones stay fp32 under
autocast.

Tried and dropped: running a ranking's shared prompt once and letting each
answer read its cached keys and values. On HH harmless pairs it cuts the
tokens to 62%, but a SmolLM2 step on 2 CPU cores went only from 1.04 s to
0.95 s in fp32 and from 0.89 s to 1.00 s in bf16 (two smaller forwards).
"""

from __future__ import annotations

import contextlib
import math
import random
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from . import device as hw
from .config import ConfigError, fraction, non_negative, positive
from .data import PreferenceGroup, load_preference_groups, split_groups
from .data_order import ShuffledOrder
from .distributed import all_reduce_mean, data_parallel, world
from .models import check_model_dir, lora_config, merged, save_pretrained, upcast_trainable, weights_dtype
from .recipe_run import RecipeRun

PAD_TOKEN = "<|pad|>"


@dataclass
class RewardRecipeConfig:
    kind: ClassVar[str] = "reward"
    # --- model
    output_dir: str
    model: str
    train_file: str
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    freeze_layers: int = 0  # the embeddings and this many bottom layers stay frozen
    # --- data
    eval_fraction: float = 0.1  # whole groups held out
    max_length: int = 512  # the last max_length tokens of prompt + answer
    # --- training
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    groups_per_step: int = 8
    groups_per_forward: int = 1  # groups scored together in one padded forward
    lr: float = 1e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    grad_clip: float = 1.0
    use_margin: bool = False  # loss -log sigmoid(r_c - r_r - margin)
    eval_every: int = 0  # steps; 0: only at the end
    log_every: int = 1
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 where the hardware has it fast (CUDA, a CPU with AMX); bf16; fp32
    seed: int = 0
    # --- checkpoints (training.checkpoint)
    checkpoint_every: int = 50  # steps; 0: only when stopped. Written to output_dir/checkpoint/
    resume: bool = True  # go on from output_dir/checkpoint/ when it holds one

    def check(self):
        non_negative(self, "checkpoint_every")
        positive(self, "max_length", "groups_per_step", "groups_per_forward", "lr", "epochs", "log_every", "lora_r")
        fraction(self, "eval_fraction")
        if self.freeze_layers < 0:
            raise ConfigError("freeze_layers: must be >= 0")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"precision: expected auto, bf16 or fp32, got {self.precision!r}")

    def bf16(self, device: str) -> bool:
        return hw.fast_bf16(device) if self.precision == "auto" else self.precision == "bf16"


def group_loss(rewards: torch.Tensor, pairs: list[tuple[int, int, float]], *, use_margin: bool) -> torch.Tensor:
    """Mean over a group's pairs of -log sigmoid(r_chosen - r_rejected - m),
    `rewards` holding one score per distinct response of the group."""
    chosen = rewards[[c for c, _, _ in pairs]]
    rejected = rewards[[r for _, r, _ in pairs]]
    margin = torch.tensor([m if use_margin else 0.0 for _, _, m in pairs], dtype=rewards.dtype, device=rewards.device)
    return -F.logsigmoid(chosen - rejected - margin).mean()


def pair_wins(rewards: torch.Tensor, pairs) -> float:
    """How many pairs the rewards order right; a tie counts half."""
    wins = 0.0
    for c, r, _ in pairs:
        diff = (rewards[c] - rewards[r]).item()
        wins += 1.0 if diff > 0 else 0.5 if diff == 0 else 0.0
    return wins


def conversation_text(tokenizer, prompt: list[dict], answer: str) -> str:
    messages = prompt + [{"role": "assistant", "content": answer}]
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + (tokenizer.eos_token or "")


def encode_last(tokenizer, texts: list[str], max_length: int, device: str) -> dict:
    """Right-padded ids of each text's last `max_length` tokens (the end of
    the answer is what the score reads)."""
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"][-max_length:] for t in texts]
    width = max(len(i) for i in ids)
    input_ids = torch.full((len(ids), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}


def score_texts(
    model, tokenizer, texts: list[str], max_length: int, device: str, *, bf16: bool | None = None
) -> torch.Tensor:
    """One reward per text; `bf16` None: the device's default autocast."""
    batch = encode_last(tokenizer, texts, max_length, device)
    bf16 = hw.use_bf16(device) if bf16 is None else bf16
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(**batch).logits
    return logits.float().squeeze(-1)


class RewardJudge:
    """A trained reward model read as a judge: the scores of answers to
    prompts, in the standard units of the statistics it saved
    (`score_statistics`; raw when it saved none or `normalize` is off), over
    the context it was trained on unless `max_length` says otherwise. PPO's
    reward and the evaluation recipe's judges are this."""

    def __init__(self, model, tokenizer, device: str, *, max_length: int | None = None, normalize: bool = True):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        saved = model.config
        self.max_length = max_length or getattr(saved, "reward_max_length", None) or 512
        self.normalized = bool(normalize and getattr(saved, "reward_score_std", None))
        self.mean, self.std = (saved.reward_score_mean, saved.reward_score_std) if self.normalized else (0.0, 1.0)

    @classmethod
    def load(cls, model_dir: str, device: str, **options) -> RewardJudge:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from .data import DataError

        check_model_dir(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, dtype=weights_dtype(device, trained=False)
        )
        if tokenizer.pad_token is None or model.config.pad_token_id is None:
            raise DataError(f"reward model {model_dir}: no pad token; not a reward model written by training.reward")
        return cls(model.to(device).eval().requires_grad_(False), tokenizer, device, **options)

    @torch.no_grad()
    def score(self, prompts: list[list[dict]], answers: list[str]) -> torch.Tensor:
        texts = [conversation_text(self.tokenizer, p, a) for p, a in zip(prompts, answers, strict=True)]
        raw = score_texts(self.model, self.tokenizer, texts, self.max_length, self.device)
        return (raw - self.mean) / self.std


def ensure_pad_token(tokenizer, model) -> bool:
    """Adds a pad token distinct from EOS when missing; returns whether the
    embeddings were resized."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        model.config.pad_token_id = tokenizer.pad_token_id
        return False
    tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    return True


def _layers(model):
    base = getattr(model, model.base_model_prefix, model)
    return base, getattr(base, "layers", None) or getattr(base, "h", None) or []


def load_reward_model(config: RewardRecipeConfig, device: str):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    check_model_dir(config.model)
    is_reward_model = any(
        "ForSequenceClassification" in a for a in AutoConfig.from_pretrained(config.model).architectures or []
    )
    tokenizer = AutoTokenizer.from_pretrained(config.model)
    # Weights that LoRA leaves frozen are only read: bf16 halves their traffic.
    lowered = config.bf16(device) and config.lora
    dtype = torch.bfloat16 if lowered else weights_dtype(device, trained=not config.lora)
    model = AutoModelForSequenceClassification.from_pretrained(config.model, num_labels=1, dtype=dtype)
    ensure_pad_token(tokenizer, model)
    if not is_reward_model:
        torch.nn.init.zeros_(model.score.weight)
        if model.score.bias is not None:
            torch.nn.init.zeros_(model.score.bias)
    base, layers = _layers(model)
    if config.freeze_layers > len(layers):
        raise ConfigError(f"freeze_layers: the model has {len(layers)} layers, fewer than {config.freeze_layers}")
    if config.lora:
        from peft import get_peft_model

        top = list(range(config.freeze_layers, len(layers))) if config.freeze_layers else None
        model = get_peft_model(
            model,
            lora_config(
                r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, task_type="SEQ_CLS", layers=top
            ),
        )
        upcast_trainable(model)  # the adapters and the score head
    else:
        base.get_input_embeddings().requires_grad_(False)
        for layer in layers[: config.freeze_layers]:
            layer.requires_grad_(False)
    return model.to(device), tokenizer


def _batches(groups: list, size: int):
    for start in range(0, len(groups), size):
        yield groups[start : start + size]


def _forward_groups(model, tokenizer, groups: list[PreferenceGroup], max_length: int, device: str, bf16: bool):
    """The rewards of each group's responses, from one padded forward."""
    texts = [conversation_text(tokenizer, g.prompt, r) for g in groups for r in g.responses]
    rewards = score_texts(model, tokenizer, texts, max_length, device, bf16=bf16)
    out, start = [], 0
    for g in groups:
        out.append(rewards[start : start + len(g.responses)])
        start += len(g.responses)
    return out


@torch.no_grad()
def evaluate(model, tokenizer, groups: list[PreferenceGroup], config: RewardRecipeConfig, device: str) -> dict:
    """Pairwise accuracy and mean loss over held-out groups (sharded over the
    processes of a distributed run)."""
    model.eval()
    rank, size = world()
    mine = groups[rank::size]
    wins = pairs = loss = 0.0
    for chunk in _batches(mine, config.groups_per_forward):
        for group, rewards in zip(
            chunk, _forward_groups(model, tokenizer, chunk, config.max_length, device, config.bf16(device)), strict=True
        ):
            wins += pair_wins(rewards, group.pairs)
            pairs += len(group.pairs)
            loss += group_loss(rewards, group.pairs, use_margin=config.use_margin).item() * len(group.pairs)
    model.train()
    totals = torch.tensor([wins, pairs, loss], dtype=torch.float64, device=device)
    if size > 1:
        import torch.distributed as dist

        dist.all_reduce(totals)
    wins, pairs, loss = totals.tolist()
    return {"eval_accuracy": wins / max(pairs, 1), "eval_loss": loss / max(pairs, 1), "eval_pairs": int(pairs)}


# How many groups the saved score statistics read, at most.
STATISTICS_GROUPS = 256


@torch.no_grad()
def score_statistics(model, tokenizer, groups: list[PreferenceGroup], config: RewardRecipeConfig, device: str) -> dict:
    """The mean and standard deviation of the model's scores over the
    answers of `groups`, saved in its config (`reward_score_mean`,
    `reward_score_std`) with the context it was trained on
    (`reward_max_length`). A reward model's scale is arbitrary (a zero-init
    head ends wherever training left it), so a policy's constants (the
    missing-EOS penalty, value clipping, the KL coefficient) mean nothing
    until its scores are normalised with these (InstructGPT normalises so
    that reference answers score 0)."""
    model.eval()
    scores = []
    for chunk in _batches(groups[:STATISTICS_GROUPS], config.groups_per_forward):
        scores.extend(
            torch.cat(_forward_groups(model, tokenizer, chunk, config.max_length, device, config.bf16(device)))
        )
    model.train()
    values = torch.stack(scores).double()
    std = values.std().item() if len(values) > 1 else 0.0
    return {
        "reward_score_mean": values.mean().item(),
        "reward_score_std": std if std > 0 else 1.0,
        "reward_max_length": config.max_length,
    }


def save_reward_model(model, tokenizer, statistics: dict, out) -> None:
    """The model with its score statistics in config.json. LoRA's update
    merges into fp32 weights: bf16 would round most of it away."""
    plain = merged(model.float() if hasattr(model, "merge_and_unload") else model)
    for key, value in statistics.items():
        setattr(plain.config, key, value)
    save_pretrained(plain, tokenizer, out)


def train(config: RewardRecipeConfig, *, progress=None) -> dict:
    with RecipeRun(config, progress=progress) as run:
        device, world_size = run.device, run.world_size
        groups = load_preference_groups(config.train_file)
        train_groups, eval_groups = split_groups(groups, config.eval_fraction, config.seed)
        model, tokenizer = load_reward_model(config, device)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(
            f"reward: {len(train_groups)} training groups ({sum(len(g.pairs) for g in train_groups)} pairs), "
            f"{len(eval_groups)} held-out groups, {trainable / 1e6:.2f}M trainable parameters, device {device}",
            flush=True,
        )
        steps_per_epoch = math.ceil(len(train_groups) / (config.groups_per_step * world_size))
        total_steps = config.max_steps if config.max_steps > 0 else max(1, math.ceil(steps_per_epoch * config.epochs))
        optimizer = hw.adamw(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, device=device, betas=(0.9, 0.999)
        )
        warmup = max(1, int(total_steps * config.warmup_ratio))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total_steps)))
        )
        bf16 = config.bf16(device)
        trained = data_parallel(model, device, run.distributed)
        # Every process shuffles alike and takes its share of each step's groups.
        order = ShuffledOrder(len(train_groups), random.Random(config.seed))
        run.track(model=model, optimizer=optimizer, scheduler=scheduler)
        run.track_local(order=order, order_rng=order.rng)
        step = run.start(total_steps)
        while step < total_steps:
            if run.should_stop(step):
                break
            taken = order.take(config.groups_per_step * world_size)
            step_groups = [train_groups[i] for i in taken][run.rank :: world_size]
            chunks = list(_batches(step_groups, config.groups_per_forward))
            loss_sum = wins = pairs = 0.0
            for index, chunk in enumerate(chunks):
                sync = index == len(chunks) - 1 or not run.distributed
                context = trained.no_sync() if not sync else contextlib.nullcontext()
                with context:
                    rewards = _forward_groups(trained, tokenizer, chunk, config.max_length, device, bf16)
                    losses = [
                        group_loss(r, g.pairs, use_margin=config.use_margin)
                        for g, r in zip(chunk, rewards, strict=True)
                    ]
                    loss = torch.stack(losses).sum() / len(step_groups)
                    loss.backward()
                loss_sum += loss.item()
                for g, r in zip(chunk, rewards, strict=True):
                    wins += pair_wins(r.detach(), g.pairs)
                    pairs += len(g.pairs)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            metrics = {}
            if step % config.log_every == 0 or step == total_steps:
                metrics.update(
                    loss=all_reduce_mean(loss_sum, device),
                    accuracy=all_reduce_mean(wins / max(pairs, 1), device),
                    learning_rate=scheduler.get_last_lr()[0],
                )
            if eval_groups and config.eval_every and step % config.eval_every == 0 and step < total_steps:
                metrics.update(evaluate(model, tokenizer, eval_groups, config, device))
            if metrics:
                run.writer.write(step, **metrics)
        final = dict(run.writer.last)
        if eval_groups:
            held_out = evaluate(model, tokenizer, eval_groups, config, device)
            run.writer.write(step, **held_out)
            final.update(held_out)

        def save():
            statistics = score_statistics(model, tokenizer, eval_groups or train_groups, config, device)
            print(
                f"reward: scores {statistics['reward_score_mean']:.4f} +- {statistics['reward_score_std']:.4f}",
                flush=True,
            )
            save_reward_model(model, tokenizer, statistics, config.output_dir)

        run.end(step, final, save=save)
    return run.summary


if __name__ == "__main__":
    from .cli import run

    run("reward", RewardRecipeConfig, train)
