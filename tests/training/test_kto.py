"""KTO on thumbs-up/down style data: one judged answer a line."""

import pytest
from transformers import AutoModelForCausalLM

from training.data import DataError, load_unpaired
from training.kto import KtoRecipeConfig, balanced_weights, split_by_prompt, train

from .conftest import SFT_EXAMPLES, read_metrics, write_jsonl


def unpaired_rows(prompts: int = 8) -> list[dict]:
    """Per prompt a good answer (liked) and, for every other prompt, a bad
    one (disliked): fewer likes than dislikes, as chat feedback can be."""
    rows = []
    for index in range(prompts):
        question, answer = SFT_EXAMPLES[index % len(SFT_EXAMPLES)]
        prompt = [{"role": "user", "content": f"{question} ({index})"}]
        rows.append({"prompt": prompt, "completion": [{"role": "assistant", "content": answer}], "label": True})
        rows.append({"prompt": prompt, "completion": "x q z z", "label": False})
        if index % 2:
            rows.append({"prompt": prompt, "completion": "Maybe. I am not sure.", "label": False})
    return rows


def test_kto_trains_and_holds_out_whole_prompts(tmp_path, tiny_chat_dir):
    data = write_jsonl(tmp_path / "kto.jsonl", unpaired_rows())
    config = KtoRecipeConfig(
        output_dir=str(tmp_path / "out"),
        model=str(tiny_chat_dir),
        train_file=str(data),
        lora=True,
        lora_r=4,
        max_steps=6,
        batch_size=4,
        lr=5e-3,
        beta=0.5,
        eval_fraction=0.25,
        device="cpu",
        warmup_ratio=0.0,
    )
    summary = train(config)
    assert summary["status"] == "completed"
    lines = read_metrics(tmp_path / "out")
    losses = [line["loss"] for line in lines if "loss" in line]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert "kl" in summary["final"] and "eval_loss" in summary["final"]
    AutoModelForCausalLM.from_pretrained(tmp_path / "out")


def test_held_out_rows_are_whole_prompts():
    rows = unpaired_rows()
    train_rows, eval_rows = split_by_prompt(rows, 0.25, 0)
    assert len(train_rows) + len(eval_rows) == len(rows) and eval_rows
    assert not {repr(r["prompt"]) for r in train_rows} & {repr(r["prompt"]) for r in eval_rows}


def test_weights_balance_the_two_kinds():
    rows = unpaired_rows()  # 8 liked, 12 disliked
    assert balanced_weights(rows) == (1.0, pytest.approx(8 / 12))
    with pytest.raises(DataError, match="both good and bad"):
        balanced_weights([r for r in rows if r["label"]])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt": "Hi", "completion": "Hello"}, 'missing "label"'),
        ({"prompt": "Hi", "completion": "Hello", "label": "yes"}, "true or false"),
        ({"prompt": [{"role": "assistant", "content": "Hi"}], "completion": "x", "label": True}, "user turn"),
        ({"prompt": "Hi", "completion": [{"role": "user", "content": "x"}], "label": True}, "assistant messages"),
    ],
)
def test_bad_lines_are_refused_with_their_line(tmp_path, row, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    with pytest.raises(DataError, match=message) as error:
        load_unpaired(path)
    assert ":1" in str(error.value)
