from transformers import AutoModelForCausalLM

from training.sft import SftRecipeConfig, build_trainer, train

from .conftest import SFT_EXAMPLES, read_metrics


def config(tmp_path, model, data, **overrides):
    values = dict(
        output_dir=str(tmp_path / "out"),
        model=str(model),
        train_file=str(data),
        max_steps=8,
        batch_size=4,
        lr=3e-3,
        device="cpu",
        warmup_ratio=0.0,
    )
    values.update(overrides)
    return SftRecipeConfig(**values)


def test_prompt_tokens_get_label_minus_100(tmp_path, tiny_chat_dir, sft_file):
    trainer = build_trainer(config(tmp_path, tiny_chat_dir, sft_file))
    batch = next(iter(trainer.get_train_dataloader()))
    tokenizer = trainer.processing_class
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        text = tokenizer.decode(ids)
        trained = tokenizer.decode([i for i, label in zip(ids, labels, strict=True) if label != -100])
        start = labels.index(next(label for label in labels if label != -100))
        # Everything before the answer (system/user turns, the assistant header) is masked...
        assert tokenizer.decode(ids[:start]).endswith("<|im_start|>assistant\n")
        # ...and the answer with its end-of-turn token is trained.
        assert trained.startswith(tuple(answer for _, answer in SFT_EXAMPLES))
        assert "<|im_end|>" in trained and "user" not in trained
        assert text.count("<|im_start|>") == 2


def test_full_fine_tuning_lowers_the_loss(tmp_path, tiny_chat_dir, sft_file):
    summary = train(config(tmp_path, tiny_chat_dir, sft_file))
    losses = [line["loss"] for line in read_metrics(tmp_path / "out") if "loss" in line]
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert summary["status"] == "completed" and summary["steps"] == 8
    AutoModelForCausalLM.from_pretrained(tmp_path / "out")


def test_lora_is_merged_into_a_plain_model(tmp_path, tiny_chat_dir, sft_file):
    summary = train(config(tmp_path, tiny_chat_dir, sft_file, lora=True, lora_r=4, max_steps=3, lr=1e-2))
    out = tmp_path / "out"
    assert summary["status"] == "completed"
    assert not (out / "adapter_config.json").exists() and (out / "model.safetensors").exists()
    model = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_chat_dir)
    changed = [name for name, p in model.state_dict().items() if not p.equal(base.state_dict()[name])]
    assert changed and all("lora" not in name for name in model.state_dict())
