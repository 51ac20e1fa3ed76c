import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.config import ConfigError
from training.data import load_preference_groups, split_groups
from training.reward import RewardRecipeConfig, _forward_groups, ensure_pad_token, group_loss, load_reward_model, train
from training.reward_eval import pairwise_accuracy

from .conftest import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def config(tmp_path, model, data, **overrides):
    values = dict(
        output_dir=str(tmp_path / "out"),
        model=str(model),
        train_file=str(data),
        max_steps=12,
        groups_per_step=3,
        groups_per_forward=3,
        lr=3e-3,
        eval_fraction=0.25,
        max_length=64,
        device="cpu",
        warmup_ratio=0.0,
    )
    values.update(overrides)
    return RewardRecipeConfig(**values)


def test_group_loss_is_the_mean_over_all_pairs():
    rewards = torch.tensor([2.0, 1.0, 0.0])
    pairs = [(0, 1, 1.0), (0, 2, 2.0), (1, 2, 1.0)]
    expected = -(2 * math.log(1 / (1 + math.exp(-1))) + math.log(1 / (1 + math.exp(-2)))) / 3
    assert group_loss(rewards, pairs, use_margin=False).item() == pytest.approx(expected)
    # With margins every difference is reduced by its margin: 1-1, 2-2, 1-1.
    assert group_loss(rewards, pairs, use_margin=True).item() == pytest.approx(math.log(2))


def test_each_group_is_scored_once_in_one_forward(tmp_path, tiny_chat_dir, preference_file):
    groups = load_preference_groups(preference_file)[:2]
    model, tokenizer = load_reward_model(config(tmp_path, tiny_chat_dir, preference_file), "cpu")
    shapes = []
    model.register_forward_hook(
        lambda module, args, kwargs, out: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    rewards = _forward_groups(model, tokenizer, groups, 64, "cpu", bf16=False)
    # Two groups of three answers (three pairs each): one forward of six rows.
    assert len(shapes) == 1 and shapes[0][0] == 6
    assert [len(r) for r in rewards] == [3, 3]
    assert all(len(g.pairs) == 3 for g in groups)


def test_pad_token_is_added_when_it_is_eos(tmp_path, tiny_chat_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_dir)
    tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(tiny_chat_dir, num_labels=1)
    before = model.get_input_embeddings().weight.shape[0]
    assert ensure_pad_token(tokenizer, model)
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert model.get_input_embeddings().weight.shape[0] == before + 1


def test_training_learns_the_ranking_and_holds_out_groups(tmp_path, tiny_chat_dir, preference_file):
    summary = train(config(tmp_path, tiny_chat_dir, preference_file))
    lines = read_metrics(tmp_path / "out")
    losses = [line["loss"] for line in lines if "loss" in line]
    assert losses[0] == pytest.approx(math.log(2), abs=1e-3)  # zero-init head: every reward 0
    assert losses[-1] < losses[0] - 0.1
    final = summary["final"]
    assert final["eval_pairs"] == 9  # 3 of 12 groups held out, 3 pairs each
    assert final["eval_accuracy"] > 0.5
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    assert model.config.num_labels == 1 and model.config.pad_token_id is not None
    # The saved model scores the held-out pairs as it did in training.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.reward_eval",
            "--model",
            str(tmp_path / "out"),
            "--pairs",
            str(preference_file),
            "--max-length",
            "64",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["pairs"] == 36 and printed["accuracy"] > 0.5


def test_the_saved_model_carries_its_score_statistics_and_ppo_normalises_with_them(
    tmp_path, tiny_chat_dir, preference_file
):
    """A reward model's scale is arbitrary; PPO's constants need a known one
    (../shared/reviews/rlhf-2026-12-06.md, C2): the saved config holds the
    mean and spread of its scores and the context it read, and PPO's scorer
    turns its scores into standard units with them."""
    from training.ppo import ModelReward, PpoRecipeConfig

    cfg = config(tmp_path, tiny_chat_dir, preference_file)
    train(cfg)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    saved = model.config
    assert saved.reward_max_length == 64 and saved.reward_score_std > 0
    # The statistics are those of the held-out groups' answers.
    _, held_out = split_groups(load_preference_groups(preference_file), 0.25, 0)
    raw = torch.cat(_forward_groups(model, tokenizer, held_out, 64, "cpu", cfg.bf16("cpu"))).double()
    assert saved.reward_score_mean == pytest.approx(raw.mean().item(), abs=1e-4)
    assert saved.reward_score_std == pytest.approx(raw.std().item(), abs=1e-4)
    ppo_config = PpoRecipeConfig(
        output_dir=str(tmp_path / "ppo"), policy_model=str(tiny_chat_dir), reward_model="r", prompts_file="p"
    )
    scorer = ModelReward(model.eval(), tokenizer, tokenizer, ppo_config, "cpu")
    assert scorer.judge.max_length == 64
    group = held_out[0]
    answers = tokenizer(group.responses, add_special_tokens=False, return_tensors="pt", padding=True)
    normalised = scorer([group.prompt] * len(group.responses), answers["input_ids"], answers["attention_mask"])
    expected = (_forward_groups(model, tokenizer, [group], 64, "cpu", False)[0] - raw.mean()) / raw.std()
    assert normalised.tolist() == pytest.approx(expected.tolist(), abs=1e-2)  # the statistics may be bf16's
    raw_config = PpoRecipeConfig(**{**ppo_config.__dict__, "normalize_reward": False})
    assert ModelReward(model, tokenizer, tokenizer, raw_config, "cpu").judge.std == 1.0


def test_lora_with_frozen_layers_trains_only_the_top(tmp_path, tiny_chat_dir, preference_file):
    cfg = config(tmp_path, tiny_chat_dir, preference_file, lora=True, lora_r=4, freeze_layers=1, max_steps=3)
    model, _ = load_reward_model(cfg, "cpu")
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("layers.0." not in name for name in trainable)
    assert any("score" in name for name in trainable)
    summary = train(cfg)
    assert summary["status"] == "completed"
    assert not (tmp_path / "out" / "adapter_config.json").exists()
    reloaded = pairwise_accuracy(str(tmp_path / "out"), str(preference_file), max_length=64)
    assert reloaded["pairs"] == 36


def test_bf16_lora_stores_frozen_weights_in_bf16_and_trains_fp32(tmp_path, tiny_chat_dir, preference_file):
    cfg = config(tmp_path, tiny_chat_dir, preference_file, lora=True, lora_r=4, precision="bf16")
    model, _ = load_reward_model(cfg, "cpu")
    params = dict(model.named_parameters())
    assert {p.dtype for p in params.values() if p.requires_grad} == {torch.float32}
    assert {p.dtype for p in params.values() if not p.requires_grad} == {torch.bfloat16}
    summary = train(cfg)
    losses = [line["loss"] for line in read_metrics(tmp_path / "out") if "loss" in line]
    assert losses[-1] < losses[0] - 0.1
    # Merged into fp32 weights: the saved model is the checkpoint's dtype and
    # scores the held-out pairs as training did (up to bf16's rounding).
    saved = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    assert saved.score.weight.dtype == torch.float32
    reloaded = pairwise_accuracy(str(tmp_path / "out"), str(preference_file), max_length=64, device="cpu")
    assert summary["final"]["eval_accuracy"] > 0.5 and reloaded["accuracy"] > 0.5


def test_precision_must_be_known(tmp_path, tiny_chat_dir, preference_file):
    with pytest.raises(ConfigError, match="precision"):
        config(tmp_path, tiny_chat_dir, preference_file, precision="fp16").check()
    assert not config(tmp_path, tiny_chat_dir, preference_file, precision="fp32").bf16("cpu")
