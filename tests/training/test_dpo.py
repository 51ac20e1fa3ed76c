from transformers import AutoModelForCausalLM

from training.dpo import DpoRecipeConfig, train

from .conftest import read_metrics


def test_dpo_trains_and_holds_out_whole_groups(tmp_path, tiny_chat_dir, preference_file):
    config = DpoRecipeConfig(
        output_dir=str(tmp_path / "out"),
        model=str(tiny_chat_dir),
        train_file=str(preference_file),
        lora=True,
        lora_r=4,
        max_steps=6,
        batch_size=6,
        lr=5e-3,
        beta=0.5,
        eval_fraction=0.25,
        device="cpu",
        warmup_ratio=0.0,
    )
    summary = train(config)
    lines = read_metrics(tmp_path / "out")
    losses = [line["loss"] for line in lines if "loss" in line]
    assert losses[0] > losses[-1]
    assert "eval_accuracy" in summary["final"] and "eval_loss" in summary["final"]
    assert summary["status"] == "completed"
    AutoModelForCausalLM.from_pretrained(tmp_path / "out")
