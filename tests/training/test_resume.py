"""A stopped or killed recipe, started again on the same output_dir, goes on
from its checkpoint: the same step counter, optimizer state, data order and
RNG states, and metrics.jsonl continued. A checkpoint is written whole or
not at all."""

import json
import os
import signal
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from training.checkpoint import find_checkpoint, load_state
from training.dpo import DpoRecipeConfig
from training.dpo import train as dpo_train
from training.ppo import PpoRecipeConfig
from training.ppo import train as ppo_train
from training.pretrain import PretrainRecipeConfig
from training.pretrain import train as pretrain_train
from training.recipe_run import RecipeRun
from training.reward import RewardRecipeConfig
from training.reward import train as reward_train
from training.sft import SftRecipeConfig
from training.sft import train as sft_train

from .conftest import read_metrics

TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer.\n" * 40


class Interrupt(Exception):
    """A crash in the middle of a run, after which nothing more is written."""


def stop_at(step: int):
    """A progress hook sending this process SIGTERM once `step` is logged,
    as the jobs app does to cancel: the run stops at the next step boundary."""

    def progress(record):
        if record["step"] == step and not progress.sent:
            progress.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

    progress.sent = False
    return progress


def crash_at(step: int):
    def progress(record):
        if record["step"] == step:
            raise Interrupt

    return progress


def loss_steps(output_dir, key="loss") -> list[int]:
    """The steps metrics.jsonl logged a training loss (or `key`) for."""
    return [line["step"] for line in read_metrics(output_dir) if key in line]


def same_weights(first, second, atol=0.0) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=atol, rtol=0) for k in a)


# --- pretrain: the whole resume, down to equal weights


def pretrain_config(tmp_path, name, **overrides):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    values = dict(
        output_dir=str(tmp_path / name),
        corpus=str(corpus),
        vocab_size=300,
        n_layer=1,
        n_head=2,
        n_kv_head=2,
        d_model=32,
        d_ff=64,
        seq_len=32,
        batch_size=4,
        max_steps=12,
        lr=3e-3,
        warmup_steps=2,
        eval_every=5,
        log_every=1,
        device="cpu",
        dropout=0.1,
    )
    values.update(overrides)
    return PretrainRecipeConfig(**values)


def test_pretrain_stopped_and_started_again_ends_as_an_uninterrupted_run(tmp_path):
    straight = pretrain_train(pretrain_config(tmp_path, "straight"))
    assert straight["resumed_from_step"] is None

    config = pretrain_config(tmp_path, "resumed")
    stopped = pretrain_train(config, progress=stop_at(5))
    assert stopped["status"] == "stopped" and stopped["steps"] == 5
    saved = load_state(tmp_path / "resumed" / "checkpoint" / "state.pt")
    assert saved["step"] == 5 and saved["config"]["max_steps"] == 12

    resumed = pretrain_train(config)
    assert resumed["status"] == "completed" and resumed["steps"] == 12 and resumed["resumed_from_step"] == 5
    assert json.loads((tmp_path / "resumed" / "summary.json").read_text())["resumed_from_step"] == 5
    # metrics.jsonl goes on: every step logged once, in order.
    assert loss_steps(tmp_path / "resumed") == list(range(1, 13))
    # Same batches, same dropout masks, same AdamW moments: the same weights.
    assert same_weights(
        AutoModelForCausalLM.from_pretrained(tmp_path / "straight"),
        AutoModelForCausalLM.from_pretrained(tmp_path / "resumed"),
    )
    assert resumed["final"]["eval_loss"] == pytest.approx(straight["final"]["eval_loss"], abs=1e-6)
    # A completed run's output is the model; the checkpoint is gone.
    assert find_checkpoint(tmp_path / "resumed") is None


def test_pretrain_killed_resumes_from_its_last_periodic_checkpoint(tmp_path):
    config = pretrain_config(tmp_path, "out", checkpoint_every=4)
    with pytest.raises(Interrupt):
        pretrain_train(config, progress=crash_at(7))
    assert load_state(tmp_path / "out" / "checkpoint" / "state.pt")["step"] == 4
    summary = pretrain_train(config)
    assert summary["resumed_from_step"] == 4 and summary["steps"] == 12
    # Steps 5-7 of the killed run were trained again, and logged once.
    assert loss_steps(tmp_path / "out") == list(range(1, 13))


def test_resume_false_starts_afresh(tmp_path):
    config = pretrain_config(tmp_path, "out")
    pretrain_train(config, progress=stop_at(3))
    config.resume = False
    summary = pretrain_train(config)
    assert summary["resumed_from_step"] is None and loss_steps(tmp_path / "out") == list(range(1, 13))


# --- the scaffold itself: what a checkpoint restores, and that it is atomic


@dataclass
class ToyConfig:
    kind: ClassVar[str] = "toy"
    output_dir: str
    max_steps: int = 6
    checkpoint_every: int = 2
    resume: bool = True
    device: str = "cpu"
    seed: int = 0


class Exploding:
    """A tracked object whose state cannot be read from `after` saves on:
    the process dies in the middle of writing a checkpoint."""

    def __init__(self, after: int):
        self.saves, self.after = 0, after

    def state_dict(self):
        self.saves += 1
        if self.saves > self.after:
            raise Interrupt
        return {}

    def load_state_dict(self, state):
        pass


def toy_run(config, *, extra=None, stop=None):
    """A loop on a linear model with RecipeRun: (summary, model, optimizer,
    the step it started from)."""
    with RecipeRun(config, progress=stop) as run:
        model = torch.nn.Linear(4, 1)
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
        run.track(model=model, optimizer=optimizer, **({"extra": extra} if extra else {}))
        first = step = run.start(config.max_steps)
        while step < config.max_steps:
            if run.should_stop(step):
                break
            x = torch.randn(8, 4)
            model(x).pow(2).mean().backward()
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            run.writer.write(step, loss=0.0)
        run.end(step, {}, save=lambda: None)
    return run.summary, model, optimizer, first


def test_the_optimizer_state_is_what_was_saved(tmp_path):
    config = ToyConfig(output_dir=str(tmp_path), checkpoint_every=0)
    toy_run(config, stop=stop_at(3))
    saved = load_state(tmp_path / "checkpoint" / "state.pt")
    config.max_steps = 3  # resume and stop at once: the state as restored
    _, model, optimizer, first = toy_run(config)
    assert first == 3
    restored = optimizer.state_dict()
    assert restored["state"][0]["step"] == 3
    for index in (0, 1):
        assert torch.equal(restored["state"][index]["exp_avg"], saved["optimizer"]["state"][index]["exp_avg"])
        assert torch.equal(restored["state"][index]["exp_avg_sq"], saved["optimizer"]["state"][index]["exp_avg_sq"])
    assert torch.equal(model.weight, saved["model"]["weight"])


def test_a_checkpoint_cut_short_leaves_the_previous_one(tmp_path):
    config = ToyConfig(output_dir=str(tmp_path), checkpoint_every=2)
    # The checkpoint of step 2 is written; the one of step 4 dies half-way.
    with pytest.raises(Interrupt):
        toy_run(config, extra=Exploding(after=1))
    assert (tmp_path / "checkpoint.partial").is_dir()
    assert load_state(tmp_path / "checkpoint" / "state.pt")["step"] == 2
    summary, _, _, first = toy_run(config, extra=Exploding(after=99))
    assert first == 2 and summary["resumed_from_step"] == 2 and summary["steps"] == 6


def test_a_leftover_partial_checkpoint_is_not_read(tmp_path):
    partial = tmp_path / "checkpoint.partial"
    partial.mkdir()
    (partial / "state.pt").write_bytes(b"torn")
    summary, _, _, first = toy_run(ToyConfig(output_dir=str(tmp_path)))
    assert first == 0 and summary["resumed_from_step"] is None and summary["steps"] == 6


def test_a_checkpoint_set_aside_by_a_save_that_died_is_found(tmp_path):
    """A save renames the old checkpoint aside before renaming the new one
    into place; a kill between the two leaves only the old one."""
    config = ToyConfig(output_dir=str(tmp_path), checkpoint_every=0)
    toy_run(config, stop=stop_at(4))
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.previous")
    _, _, _, first = toy_run(config)
    assert first == 4


# --- reward and ppo: the step counter, the data order and the weights go on


def test_reward_resumes_where_it_stopped(tmp_path, tiny_chat_dir, preference_file):
    def config(name):
        return RewardRecipeConfig(
            output_dir=str(tmp_path / name),
            model=str(tiny_chat_dir),
            train_file=str(preference_file),
            max_steps=6,
            groups_per_step=3,
            groups_per_forward=3,
            lr=3e-3,
            eval_fraction=0.25,
            max_length=64,
            device="cpu",
            warmup_ratio=0.0,
        )

    reward_train(config("straight"))
    stopped = reward_train(config("resumed"), progress=stop_at(2))
    assert stopped["status"] == "stopped" and stopped["steps"] == 2
    resumed = reward_train(config("resumed"))
    assert resumed["resumed_from_step"] == 2 and resumed["steps"] == 6
    assert loss_steps(tmp_path / "resumed") == list(range(1, 7))
    assert same_weights(
        AutoModelForSequenceClassification.from_pretrained(tmp_path / "straight"),
        AutoModelForSequenceClassification.from_pretrained(tmp_path / "resumed"),
        atol=1e-6,
    )


def test_ppo_resumes_where_it_stopped(tmp_path, tiny_chat_dir, prompts_file):
    def config(name):
        return PpoRecipeConfig(
            output_dir=str(tmp_path / name),
            policy_model=str(tiny_chat_dir),
            prompts_file=str(prompts_file),
            synthetic_reward="contains:#5",
            max_steps=4,
            rollout_batch_size=4,
            minibatch_size=2,
            ppo_epochs=1,
            max_new_tokens=4,
            lr=1e-2,
            adaptive_kl=True,
            length_neutral=True,  # its trend is in the checkpoint too
            eval_every=2,
            eval_prompts=1,
            device="cpu",
        )

    ppo_train(config("straight"))
    stopped = ppo_train(config("resumed"), progress=stop_at(2))
    assert stopped["status"] == "stopped" and stopped["steps"] == 2
    resumed = ppo_train(config("resumed"))
    assert resumed["resumed_from_step"] == 2 and resumed["steps"] == 4
    assert loss_steps(tmp_path / "resumed", "policy_loss") == [1, 2, 3, 4]
    assert [line["kl_coef"] for line in read_metrics(tmp_path / "resumed")] == [
        line["kl_coef"] for line in read_metrics(tmp_path / "straight")
    ]
    samples = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "samples.jsonl").read_text().splitlines()]
    assert samples == [0, 2, 4]
    assert same_weights(
        AutoModelForCausalLM.from_pretrained(tmp_path / "straight"),
        AutoModelForCausalLM.from_pretrained(tmp_path / "resumed"),
        atol=1e-6,
    )


# --- sft (and dpo, through the same run_trainer): the Trainer's checkpoints


def test_sft_resumes_from_the_trainers_checkpoint(tmp_path, tiny_chat_dir, sft_file):
    def config(name):
        return SftRecipeConfig(
            output_dir=str(tmp_path / name),
            model=str(tiny_chat_dir),
            train_file=str(sft_file),
            max_steps=6,
            batch_size=2,
            lr=3e-3,
            device="cpu",
            warmup_ratio=0.0,
            checkpoint_every=0,
        )

    sft_train(config("straight"))
    stopped = sft_train(config("resumed"), progress=stop_at(2))
    assert stopped["status"] == "stopped"
    k = stopped["steps"]
    assert 2 <= k < 6 and (tmp_path / "resumed" / "checkpoint" / f"checkpoint-{k}" / "trainer_state.json").exists()
    resumed = sft_train(config("resumed"))
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == k and resumed["steps"] == 6
    assert loss_steps(tmp_path / "resumed") == list(range(1, 7))
    assert same_weights(
        AutoModelForCausalLM.from_pretrained(tmp_path / "straight"),
        AutoModelForCausalLM.from_pretrained(tmp_path / "resumed"),
        atol=1e-5,
    )
    assert not (tmp_path / "resumed" / "checkpoint").exists()


def test_dpo_resumes_from_the_trainers_checkpoint(tmp_path, tiny_chat_dir, preference_file):
    config = DpoRecipeConfig(
        output_dir=str(tmp_path / "out"),
        model=str(tiny_chat_dir),
        train_file=str(preference_file),
        lora=True,
        lora_r=4,
        max_steps=5,
        batch_size=4,
        lr=5e-3,
        device="cpu",
        warmup_ratio=0.0,
        checkpoint_every=2,
    )
    with pytest.raises(Interrupt):
        dpo_train(config, progress=crash_at(3))
    resumed = dpo_train(config)
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == 2 and resumed["steps"] == 5
    assert loss_steps(tmp_path / "out") == [1, 2, 3, 4, 5]
