"""PPO at tiny scale against a known reward: an answer earns 1 when it
contains token X. The policy is a random-init tiny model whose (peaky,
init_std 0.3) distribution already emits X in some answers."""

import collections
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from engine.tiny import build_tiny_chat_model
from training.config import ConfigError
from training.data import load_prompts
from training.ppo import PpoRecipeConfig, encode_prompts, left_pad, load_models, train

from .conftest import read_metrics


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    return build_tiny_chat_model(tmp_path_factory.mktemp("ppo-policy"), init_std=0.3)


@pytest.fixture(scope="module")
def frequent_token(policy_dir, prompts_file):
    """The token that the untrained policy puts in the most answers (in
    some, not all): the reward has room to rise."""
    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    model = AutoModelForCausalLM.from_pretrained(policy_dir)
    ids, mask = left_pad(encode_prompts(tokenizer, load_prompts(prompts_file), 64), tokenizer.pad_token_id, "cpu")
    torch.manual_seed(0)
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=True,
        top_k=0,
        max_new_tokens=8,
        num_return_sequences=4,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=None,
    )
    counts = collections.Counter()
    for row in out[:, ids.shape[1] :].tolist():
        counts.update(set(row) - set(tokenizer.all_special_ids))
    token, hits = counts.most_common(1)[0]
    assert hits < len(out)
    return token


def run(tmp_path, policy_dir, prompts_file, token, kl_coef, name):
    config = PpoRecipeConfig(
        output_dir=str(tmp_path / name),
        policy_model=str(policy_dir),
        prompts_file=str(prompts_file),
        synthetic_reward=f"contains:#{token}",
        max_steps=20,
        rollout_batch_size=16,
        minibatch_size=8,
        ppo_epochs=2,
        max_new_tokens=8,
        lr=3e-3,
        kl_coef=kl_coef,
        missing_eos_penalty=None,
        eval_every=10,
        eval_prompts=2,
        device="cpu",
        seed=0,
    )
    summary = train(config)
    return summary, read_metrics(tmp_path / name)


def mean(values):
    return sum(values) / len(values)


def test_reward_rises_with_bounded_kl_and_a_larger_kl_coef_stays_closer(
    tmp_path, policy_dir, prompts_file, frequent_token
):
    summary, lines = run(tmp_path, policy_dir, prompts_file, frequent_token, 0.01, "low-kl")
    rewards = [line["reward"] for line in lines]
    assert len(rewards) == 20 and summary["status"] == "completed"
    assert mean(rewards[-5:]) >= mean(rewards[:3]) + 0.3
    assert mean(rewards[-5:]) >= 0.6
    assert max(line["kl"] for line in lines) < 40  # nats summed over 8 tokens
    for key in ("entropy", "policy_loss", "value_loss", "clipfrac", "value_clipfrac", "kl_coef"):
        assert key in lines[-1]
    samples = [json.loads(line) for line in (tmp_path / "low-kl" / "samples.jsonl").read_text().splitlines()]
    assert [s["step"] for s in samples] == [0, 0, 10, 10, 20, 20]

    _, strict = run(tmp_path, policy_dir, prompts_file, frequent_token, 1.0, "high-kl")
    assert mean([line["kl"] for line in strict[-5:]]) < 0.7 * mean([line["kl"] for line in lines[-5:]])
    AutoModelForCausalLM.from_pretrained(tmp_path / "low-kl")


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory, policy_dir):
    out = tmp_path_factory.mktemp("ppo-reward")
    model = AutoModelForSequenceClassification.from_pretrained(policy_dir, num_labels=1)
    torch.nn.init.normal_(model.score.weight, std=0.5)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(policy_dir).save_pretrained(out)
    return out


def test_reward_model_and_lora(tmp_path, policy_dir, reward_dir, prompts_file):
    config = PpoRecipeConfig(
        output_dir=str(tmp_path / "out"),
        policy_model=str(policy_dir),
        reward_model=str(reward_dir),
        prompts_file=str(prompts_file),
        lora=True,
        lora_r=4,
        max_steps=3,
        rollout_batch_size=4,
        minibatch_size=2,
        ppo_epochs=1,
        max_new_tokens=6,
        lr=1e-2,
        device="cpu",
        eval_prompts=1,
    )
    _, policy, reference, value_model, _ = load_models(config, "cpu")
    reward = AutoModelForSequenceClassification.from_pretrained(reward_dir)
    # The value head starts as the reward model's score head.
    assert value_model.classifier.get_base_model().score.original_module.weight.equal(reward.score.weight)
    assert reference is None  # the reference is the policy with its adapter disabled
    summary = train(config)
    lines = read_metrics(tmp_path / "out")
    assert summary["status"] == "completed" and len(lines) == 3
    assert lines[-1]["kl"] != 0  # the adapter moved the policy away from the reference
    assert not (tmp_path / "out" / "adapter_config.json").exists()
    AutoModelForCausalLM.from_pretrained(tmp_path / "out")


def test_trained_weights_stay_fp32_where_bf16_is_used(monkeypatch, policy_dir, reward_dir, prompts_file, tmp_path):
    """On bf16 hardware only read-only weights are bf16: an AdamW step at the
    GPU presets' 1e-6 is below half a bf16 step of a weight and would round
    away (../shared/reviews/rlhf-2026-12-06.md, B1). CUDA is not here, so the
    hardware's answer is stood in for; the loading decisions are real."""
    import training.device

    monkeypatch.setattr(training.device, "use_bf16", lambda device: True)
    base = dict(
        output_dir=str(tmp_path / "out"),
        policy_model=str(policy_dir),
        reward_model=str(reward_dir),
        prompts_file=str(prompts_file),
        device="cpu",
    )
    _, policy, reference, value_model, scorer = load_models(PpoRecipeConfig(**base), "cpu")
    trained = [p for model in (policy, value_model) for p in model.parameters() if p.requires_grad]
    assert trained and {p.dtype for p in trained} == {torch.float32}
    assert {p.dtype for p in reference.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in scorer.judge.model.parameters()} == {torch.bfloat16}

    before = [p.detach().clone() for p in policy.parameters()]
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-6)
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    policy(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    changed = sum((p.detach() != b).sum().item() for p, b in zip(policy.parameters(), before, strict=True))
    has_grad = sum((p.grad != 0).sum().item() for p in policy.parameters() if p.grad is not None)
    assert changed >= 0.9 * has_grad > 0

    _, policy, _, value_model, _ = load_models(PpoRecipeConfig(**base, lora=True, lora_r=4), "cpu")
    for model in (policy, value_model):
        params = list(model.parameters())
        assert {p.dtype for p in params if p.requires_grad} == {torch.float32}
        assert {p.dtype for p in params if not p.requires_grad} == {torch.bfloat16}


@pytest.fixture(scope="module")
def half_ending_policy_dir(tmp_path_factory, policy_dir, frequent_token):
    """The tiny policy whose EOS is a token it emits in some answers but not
    all: within 8 tokens some of its answers end and many do not."""
    out = tmp_path_factory.mktemp("ppo-half-ending")
    AutoModelForCausalLM.from_pretrained(policy_dir).save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(frequent_token)
    tokenizer.save_pretrained(out)
    return out


def lengths(tmp_path, policy_dir, prompts_file, name, **overrides):
    """(mean length of the first 3 steps, of the last 4, metrics lines) of a
    16-step run of the half-ending policy."""
    config = PpoRecipeConfig(
        output_dir=str(tmp_path / name),
        policy_model=str(policy_dir),
        prompts_file=str(prompts_file),
        max_steps=16,
        rollout_batch_size=16,
        minibatch_size=8,
        max_new_tokens=8,
        lr=3e-3,
        kl_coef=0.01,
        eval_prompts=0,
        device="cpu",
        seed=0,
        **overrides,
    )
    train(config)
    lines = read_metrics(tmp_path / name)
    return (
        mean([line["response_length"] for line in lines[:3]]),
        mean([line["response_length"] for line in lines[-4:]]),
        lines,
    )


def test_the_missing_eos_penalty_collapses_length_and_the_default_does_not(
    tmp_path, half_ending_policy_dir, prompts_file
):
    """The length collapse of the measured PPO run, reproduced: under a
    reward that pays nothing for any answer, a missing-EOS penalty alone
    teaches the policy to stop early. The default (no penalty; cut-off
    answers bootstrapped from their value) keeps the length."""
    constant = "fraction:#1"  # a special token answers never hold: a constant 0
    start, end, lines = lengths(
        tmp_path, half_ending_policy_dir, prompts_file, "penalised", synthetic_reward=constant, missing_eos_penalty=1.0
    )
    assert lines[0]["no_eos_fraction"] > 0.2  # the premise: many answers take the penalty
    assert end < 0.7 * start
    for key in ("reward_with_penalty", "rlhf_reward", "score_length_correlation"):
        assert key in lines[-1]

    start, end, _ = lengths(tmp_path, half_ending_policy_dir, prompts_file, "default", synthetic_reward=constant)
    assert 0.7 * start <= end <= 1.3 * start


def test_a_score_that_pays_for_brevity_collapses_length_unless_length_neutral(
    tmp_path, half_ending_policy_dir, prompts_file
):
    """A reward model whose score is length alone: paying for brevity, it
    teaches the policy to end early, the collapse of the measured run. With
    length_neutral the trend is taken out of the score, and the length
    holds. (The same arithmetic takes out a trend the other way, which the
    flywheel's reward model shows on answers longer than it saw.)"""
    brevity = "length:-0.125"  # an answer cut off at 8 tokens scores -1, as under the missing-EOS penalty
    start, end, lines = lengths(tmp_path, half_ending_policy_dir, prompts_file, "brief", synthetic_reward=brevity)
    assert end < 0.7 * start
    assert "length_slope" not in lines[-1]

    start, end, lines = lengths(
        tmp_path, half_ending_policy_dir, prompts_file, "neutral", synthetic_reward=brevity, length_neutral=True
    )
    assert 0.7 * start <= end <= 1.3 * start
    assert lines[-1]["length_slope"] == pytest.approx(-0.125)  # the trend it took out


def test_a_length_reward_needs_a_rate():
    config = PpoRecipeConfig(output_dir="o", policy_model="p", prompts_file="f", synthetic_reward="length:long")
    with pytest.raises(ConfigError, match="length:RATE needs a number, not 'long'"):
        config.check()
