import json
import math

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from training.pretrain import PretrainRecipeConfig, train

from .conftest import read_metrics

TEXT = (
    "First Citizen: Before we proceed any further, hear me speak.\nAll: Speak, speak.\n"
    "First Citizen: You are all resolved rather to die than to famish?\nAll: Resolved. resolved.\n"
) * 60


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def small(tmp_path, corpus, **overrides):
    values = dict(
        output_dir=str(tmp_path / "out"),
        corpus=str(corpus),
        vocab_size=300,
        n_layer=2,
        n_head=2,
        n_kv_head=1,
        d_model=32,
        d_ff=64,
        seq_len=32,
        batch_size=8,
        max_steps=40,
        lr=3e-3,
        warmup_steps=5,
        eval_every=20,
        log_every=5,
        device="cpu",
    )
    values.update(overrides)
    config = PretrainRecipeConfig(**values)
    config.check()
    return config


def test_loss_falls_and_the_model_loads_back(tmp_path, corpus):
    config = small(tmp_path, corpus)
    summary = train(config)
    lines = read_metrics(config.output_dir)
    losses = [line["loss"] for line in lines if "loss" in line]
    assert losses[-1] < losses[0] - 1.0
    assert lines[-1]["eval_bits_per_byte"] == summary["final"]["eval_bits_per_byte"]
    assert all(line["total_steps"] == 40 for line in lines)
    assert summary["status"] == "completed" and summary["steps"] == 40
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["config"]["corpus"] == str(corpus)
    model = AutoModelForCausalLM.from_pretrained(config.output_dir)
    tokenizer = AutoTokenizer.from_pretrained(config.output_dir)
    assert model.config.model_type == "llama"
    ids = tokenizer("First Citizen:", return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] == ids.shape[1] + 3


def test_bits_per_byte_with_a_byte_tokenizer_is_loss_over_ln2(tmp_path, corpus):
    """With one token per byte (ASCII text, no merges) every held-out byte
    is one predicted token, so bits per byte must equal nats per token / ln 2."""
    summary = train(small(tmp_path, corpus, vocab_size=257, max_steps=5))
    final = summary["final"]
    assert final["eval_bits_per_byte"] == pytest.approx(final["eval_loss"] / math.log(2), rel=1e-6)


def test_time_budget_ends_the_run(tmp_path, corpus):
    summary = train(small(tmp_path, corpus, max_steps=100000, time_budget_s=2.0, log_every=1))
    assert summary["status"] == "completed" and 0 < summary["steps"] < 100000
    lines = read_metrics(tmp_path / "out")
    # Progress is against the steps the budget allows at the pace so far.
    assert all(line["step"] <= line["total_steps"] < 100000 for line in lines)
    assert lines[-1]["total_steps"] == summary["steps"]


def test_residual_dropout_acts_only_in_training(tmp_path, corpus):
    import torch

    from training.pretrain import build_model, train_bpe

    config = small(tmp_path, corpus, dropout=0.5)
    tokenizer = train_bpe(TEXT, 300)
    model = build_model(config, len(tokenizer), tokenizer)
    ids = torch.tensor([[1, 2, 3, 4]])
    model.train()
    assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
    model.eval()
    assert torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)


def test_the_compiled_loss_is_one_graph(tmp_path, corpus):
    """torch.compile takes the loss as one graph: a graph break in it cost
    the GPU run a recompilation at every step (until dynamo's limit) and
    left the cross-entropy eager."""
    import torch

    from training.pretrain import _loss, build_model, train_bpe

    config = small(tmp_path, corpus, dropout=0.1)
    tokenizer = train_bpe(TEXT, 300)
    model = build_model(config, len(tokenizer), tokenizer)
    x = torch.randint(0, len(tokenizer), (2, 8))
    explanation = torch._dynamo.explain(_loss)(model, x, x, "cpu", True)
    assert explanation.graph_break_count == 0, explanation.break_reasons
