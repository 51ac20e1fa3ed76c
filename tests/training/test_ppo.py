"""PPO at tiny scale against a known reward: an answer earns 1 when it
contains token X. The policy is a random-init tiny model whose (peaky,
init_std 0.3) distribution already emits X in some answers."""

import collections
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from engine.tiny import build_tiny_chat_model
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
