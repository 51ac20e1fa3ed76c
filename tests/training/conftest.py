"""Tiny real models and data files for the recipe tests: every recipe runs
for real on them in seconds on a CPU."""

import json
from pathlib import Path

import pytest

from engine.tiny import build_tiny_chat_model

SFT_EXAMPLES = [
    ("What is the capital of France?", "Paris is the capital."),
    ("Hello! How are you today?", "I am fine, thank you."),
    ("Write a short poem about the sea.", "The waves roll in and out."),
    ("What is power?", "Knowledge is power."),
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_metrics(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (Path(output_dir) / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def tiny_chat_dir(tmp_path_factory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat"))


@pytest.fixture(scope="session")
def sft_file(tmp_path_factory) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]} for q, a in SFT_EXAMPLES
    ]
    return write_jsonl(tmp_path_factory.mktemp("sft") / "sft.jsonl", rows * 2)


def preference_rows(groups: int = 12) -> list[dict]:
    """Rankings of three answers (good > so-so > bad) per prompt: three
    pairs per group_id."""
    rows = []
    for index in range(groups):
        question, answer = SFT_EXAMPLES[index % len(SFT_EXAMPLES)]
        prompt = [{"role": "user", "content": f"{question} ({index})"}]
        ranked = [answer, "Maybe. I am not sure.", "x q z z"]
        for better in range(3):
            for worse in range(better + 1, 3):
                rows.append(
                    {
                        "prompt": prompt,
                        "chosen": [{"role": "assistant", "content": ranked[better]}],
                        "rejected": [{"role": "assistant", "content": ranked[worse]}],
                        "margin": float(worse - better),
                        "group_id": f"task-{index}",
                    }
                )
    return rows


@pytest.fixture(scope="session")
def preference_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("pref") / "pref.jsonl", preference_rows())


@pytest.fixture(scope="session")
def prompts_file(tmp_path_factory) -> Path:
    prompts = [
        "Hello",
        "What is the capital?",
        "Write a poem",
        "the sea",
        "How are you",
        "Knowledge is power",
        "A journey",
        "def add",
    ]
    rows = [{"prompt": [{"role": "user", "content": p}]} for p in prompts]
    return write_jsonl(tmp_path_factory.mktemp("prompts") / "prompts.jsonl", rows)
