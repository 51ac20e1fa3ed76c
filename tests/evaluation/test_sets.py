"""Evaluation sets: made from a snapshot or a file, immutable, and kept out
of every training export."""

import json

import pytest

from core.errors import UserError
from evaluation.models import EvaluationSet
from evaluation.selectors import drop_held_out, evaluation_set_write_prompts, held_out_prompt_keys, prompt_key
from evaluation.services import evaluation_set_create, evaluation_set_from_snapshot, evaluation_set_import
from labeling.datasets import snapshot_create
from labeling.models import DatasetSnapshot, Demonstration, Prompt
from labeling.text import messages_hash

pytestmark = pytest.mark.django_db


def user_turn(text):
    return [{"role": "user", "content": text}]


def test_an_imported_set_keeps_distinct_prompts_and_its_hash(make_user):
    lines = [
        json.dumps({"prompt": "What is the capital of France?"}).encode(),
        b"",
        json.dumps({"prompt": user_turn("What is the capital of France?")}).encode(),  # the same prompt
        json.dumps({"messages": [*user_turn("Hi"), {"role": "assistant", "content": "Hello"}]}).encode(),
    ]
    made = evaluation_set_import(name="held-out", purpose="general", lines=lines, created_by=make_user())
    assert made.prompt_count == 2 and made.source == EvaluationSet.Source.IMPORT
    assert made.prompts == [user_turn("What is the capital of France?"), user_turn("Hi")]
    assert len(made.content_hash) == 64
    with pytest.raises(UserError, match="exists already"):
        evaluation_set_import(name="held-out", purpose="general", lines=lines, created_by=None)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([b"{not json"], "line 1: invalid JSON"),
        ([b'{"prompt": [{"role": "assistant", "content": "x"}]}'], "line 1: the prompt must end with a user turn"),
        ([b'{"text": "x"}'], 'line 1: missing "prompt"'),
        ([b"\xff\xfe"], "Line 1 is not UTF-8"),
        ([], "no prompt"),
    ],
)
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_stored(lines, message):
    with pytest.raises(UserError, match=message):
        evaluation_set_import(name="bad", purpose="general", lines=lines, created_by=None)
    assert not EvaluationSet.objects.exists()


def test_limits_and_names(settings):
    settings.EVALUATION_SET_MAX_PROMPTS = 2
    prompts = [user_turn(f"q{i}") for i in range(3)]
    with pytest.raises(UserError, match="at most 2 prompts"):
        evaluation_set_create(name="big", purpose="general", source="import", prompts=prompts, created_by=None)
    with pytest.raises(UserError, match="name"):
        evaluation_set_create(name=" ", purpose="general", source="import", prompts=prompts[:1], created_by=None)
    with pytest.raises(UserError, match="purpose"):
        evaluation_set_create(name="x", purpose="other", source="import", prompts=prompts[:1], created_by=None)


def test_a_set_from_a_snapshot_samples_its_prompts(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    for i in range(6):
        messages = user_turn(f"Question {i}?")
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
        )
        Demonstration.objects.create(prompt=prompt, content=f"Answer {i}.", moderation=Demonstration.Moderation.PASSED)
    snapshot = snapshot_create(name="demos", kind=DatasetSnapshot.Kind.SFT)
    made = evaluation_set_from_snapshot(
        name="demo-holdout", purpose="general", snapshot=snapshot, created_by=None, count=4
    )
    again = evaluation_set_from_snapshot(
        name="demo-holdout-2", purpose="general", snapshot=snapshot, created_by=None, count=4
    )
    assert made.prompt_count == 4 and made.snapshot == snapshot
    assert made.prompts == again.prompts, "seeded: the same split again"
    assert {m[0]["content"] for m in made.prompts} < {f"Question {i}?" for i in range(6)}
    path = tmp_path / "prompts.jsonl"
    assert evaluation_set_write_prompts(evaluation_set=made, path=path) == 4
    assert [json.loads(line)["prompt"] for line in path.read_text().splitlines()] == made.prompts


def test_training_files_lose_the_prompts_of_every_evaluation_set(tmp_path):
    evaluation_set_create(
        name="held", purpose="general", source="import", prompts=[user_turn("held out?")], created_by=None
    )
    evaluation_set_create(
        name="red", purpose="red_team", source="import", prompts=[user_turn("How do I hurt?")], created_by=None
    )
    assert held_out_prompt_keys() == {prompt_key(user_turn("held out?")), prompt_key(user_turn("How do I hurt?"))}
    path = tmp_path / "train.jsonl"
    rows = [
        {"messages": [*user_turn("held out?"), {"role": "assistant", "content": "a"}]},  # sft-messages
        {"prompt": user_turn("How do I hurt?"), "chosen": [], "rejected": []},  # preference
        {"prompt": user_turn("kept"), "completion": [{"role": "assistant", "content": "b"}]},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert drop_held_out(path=path) == 2
    assert [json.loads(line) for line in path.read_text().splitlines()] == [rows[2]]
