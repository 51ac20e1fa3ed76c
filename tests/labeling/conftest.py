import json

import pytest

from labeling.assignments import candidate_add, task_create_ranking
from labeling.models import Candidate, Prompt
from labeling.text import messages_hash


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Snapshots are written under a directory of each test's own."""
    settings.DATA_DIR = tmp_path / "data"
    settings.LABELING_ANNOTATIONS_PER_ITEM = 3
    settings.LABELING_LEASE_MINUTES = 30
    # No random picks, so the order a test takes tasks in is fixed; the
    # routing tests set the share themselves.
    settings.LABELING_ROUTING_RANDOM_SHARE = 0.0
    return settings.DATA_DIR


@pytest.fixture
def annotators(make_user):
    """annotators(3) -> three annotator accounts."""
    counter = iter(range(1000))

    def make(count: int):
        return [make_user(username=f"annotator{next(counter)}", role="annotator") for _ in range(count)]

    return make


@pytest.fixture
def make_prompt():
    counter = iter(range(10000))

    def make(text: str | None = None, *, author=None, source=Prompt.Source.IMPORT) -> Prompt:
        messages = [{"role": "user", "content": text or f"Question number {next(counter)}?"}]
        return Prompt.objects.create(
            messages=messages, source=source, author=author, content_hash=messages_hash(messages)
        )

    return make


@pytest.fixture
def make_ranking_task(make_prompt):
    """make_ranking_task(k=3, required=3, prompt=None) -> (task, candidates
    in creation order)."""

    def make(k: int = 3, *, required: int = 3, prompt: Prompt | None = None):
        prompt = prompt or make_prompt()
        candidates = [
            candidate_add(prompt=prompt, text=f"Answer {i} to {prompt.pk}", origin=Candidate.Origin.MODEL)
            for i in range(k)
        ]
        return task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=required), candidates

    return make


def hh_line(turns: list[tuple[str, str]], chosen: str, rejected: str) -> str:
    """One HH-RLHF line: the shared turns, then each answer."""
    prefix = "".join(f"\n\n{'Human' if role == 'user' else 'Assistant'}: {text}" for role, text in turns)
    return json.dumps({"chosen": f"{prefix}\n\nAssistant: {chosen}", "rejected": f"{prefix}\n\nAssistant: {rejected}"})


def write_lines(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
