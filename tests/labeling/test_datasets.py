import hashlib
import io
import json
from datetime import timedelta
from math import comb

import pytest
from django.utils import timezone

from core.errors import UserError
from labeling.assignments import demonstration_submit, ranking_submit, task_assign_next, task_create_demonstration
from labeling.datasets import export_rows, snapshot_create, snapshot_export, snapshot_get, snapshot_rows
from labeling.imports import prompts_import
from labeling.models import Candidate, DatasetSnapshot, Demonstration, Prompt, Ranking, Task
from labeling.text import messages_hash

from .conftest import hh_line

pytestmark = pytest.mark.django_db


def _rank_all(task, annotators, groups, **extra):
    for annotator in annotators:
        assignment = task_assign_next(annotator=annotator)
        assert assignment.task == task
        ranking_submit(assignment=assignment, groups=groups, **extra)


def _export(snapshot, fmt) -> list[dict]:
    stream = io.StringIO()
    count = snapshot_export(snapshot=snapshot, fmt=fmt, output=stream)
    rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(rows) == count
    return rows


@pytest.fixture
def ranked(annotators, make_ranking_task):
    """A K=4 task ranked [[a], [b, c], [d]] by three annotators."""
    task, (a, b, c, d) = make_ranking_task(k=4, required=3)
    _rank_all(task, annotators(3), [[a.pk], [b.pk, c.pk], [d.pk]])
    return task, (a, b, c, d)


class TestPreferenceSnapshots:
    def test_the_snapshot_freezes_the_consensus_with_its_hash(self, ranked, data_dir):
        task, (a, b, c, d) = ranked
        snapshot = snapshot_create(name="prefs", kind=DatasetSnapshot.Kind.PREFERENCE)
        assert (snapshot.version, snapshot.item_count) == (1, 1)
        path = data_dir / snapshot.path
        assert path.parent == data_dir / "datasets" / "prefs"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == snapshot.content_hash
        (row,) = snapshot_rows(snapshot=snapshot)
        assert row["id"] == f"task-{task.pk}" and row["messages"] == task.prompt.messages
        assert [(c["id"], c["rank"]) for c in row["candidates"]] == [(a.pk, 0), (b.pk, 1), (c.pk, 1), (d.pk, 2)]
        assert row["agreement"] == 1.0 and row["num_rankings"] == 3

    def test_every_untied_pair_of_a_ranking_with_its_group(self, ranked):
        task, (a, b, c, d) = ranked
        pairs = _export(snapshot_create(name="prefs", kind="preference"), "preference")
        assert len(pairs) == comb(4, 2) - 1
        assert {p["group_id"] for p in pairs} == {f"task-{task.pk}"}
        texts = {x.text: x for x in (a, b, c, d)}
        order = {(texts[p["chosen"][0]["content"]].pk, texts[p["rejected"][0]["content"]].pk) for p in pairs}
        assert order == {(a.pk, b.pk), (a.pk, c.pk), (a.pk, d.pk), (b.pk, d.pk), (c.pk, d.pk)}
        margins = {
            (texts[p["chosen"][0]["content"]].pk, texts[p["rejected"][0]["content"]].pk): p["margin"] for p in pairs
        }
        assert margins[a.pk, d.pk] == 3.0 and margins[a.pk, b.pk] == 1.5
        assert pairs[0]["prompt"] == task.prompt.messages
        assert pairs[0]["chosen"][0]["role"] == "assistant"

    def test_it_does_not_change_when_the_data_does(self, ranked, annotators, make_ranking_task):
        task, (a, b, c, d) = ranked
        snapshot = snapshot_create(name="prefs", kind="preference")
        before = _export(snapshot, "preference")
        Candidate.objects.filter(pk=a.pk).update(text="edited afterwards")
        Ranking.objects.filter(assignment__task=task).update(groups=[[d.pk], [c.pk], [b.pk], [a.pk]])
        Prompt.objects.filter(pk=task.prompt_id).update(messages=[{"role": "user", "content": "changed"}])
        more, candidates = make_ranking_task(k=2, required=1)
        _rank_all(more, annotators(1), [[x.pk] for x in candidates])
        assert _export(snapshot_get(spec="prefs"), "preference") == before
        newer = snapshot_create(name="prefs", kind="preference")
        assert newer.version == 2 and newer.item_count == 2 and newer.content_hash != snapshot.content_hash
        assert snapshot_get(spec="prefs") == newer and snapshot_get(spec="prefs@1") == snapshot

    def test_a_changed_file_is_refused(self, ranked, data_dir):
        snapshot = snapshot_create(name="prefs", kind="preference")
        path = data_dir / snapshot.path
        path.chmod(0o644)
        path.write_text(path.read_text().replace("Answer", "Answr"))
        with pytest.raises(UserError, match="changed"):
            snapshot_rows(snapshot=snapshot)

    def test_the_same_data_gives_the_same_hash(self, ranked):
        first = snapshot_create(name="a", kind="preference")
        second = snapshot_create(name="b", kind="preference")
        assert first.content_hash == second.content_hash

    def test_none_acceptable_unfinished_and_all_tied_items_are_left_out(self, annotators, make_ranking_task):
        people = annotators(3)
        rejected_all, candidates = make_ranking_task(k=2, required=2)
        _rank_all(rejected_all, people[:2], [[x.pk] for x in candidates], none_acceptable=True)
        tied, candidates = make_ranking_task(k=2, required=1)
        _rank_all(tied, people[2:], [[x.pk for x in candidates]])
        unfinished, candidates = make_ranking_task(k=2, required=3)
        _rank_all(unfinished, people[:2], [[x.pk] for x in candidates])
        with pytest.raises(UserError, match="No items match"):
            snapshot_create(name="prefs", kind="preference")
        assert not DatasetSnapshot.objects.exists()

    def test_a_candidate_flagged_harmful_is_never_chosen(self, annotators, make_ranking_task):
        task, (a, b, c) = make_ranking_task(k=3, required=1)
        _rank_all(task, annotators(1), [[a.pk], [b.pk], [c.pk]], flags={a.pk: ["harmful"]})
        pairs = _export(snapshot_create(name="prefs", kind="preference"), "preference")
        assert [(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in pairs] == [(b.text, c.text)]

    def test_as_judged_answers_the_best_group_is_good_the_worst_bad_and_the_middle_left_out(self, ranked):
        task, (a, b, c, d) = ranked
        rows = _export(snapshot_create(name="prefs", kind="preference"), "unpaired")
        assert [(r["completion"], r["label"]) for r in rows] == [
            ([{"role": "assistant", "content": a.text}], True),
            ([{"role": "assistant", "content": d.text}], False),
        ]
        assert all(r["prompt"] == task.prompt.messages for r in rows)

    def test_as_judged_answers_one_flagged_harmful_is_bad_wherever_it_ranks(self, annotators, make_ranking_task):
        best_but_harmful, (a, b, c) = make_ranking_task(k=3, required=1)
        _rank_all(best_but_harmful, annotators(1), [[a.pk], [b.pk], [c.pk]], flags={a.pk: ["harmful"]})
        middle_harmful, (x, y, z) = make_ranking_task(k=3, required=1)
        _rank_all(middle_harmful, annotators(1), [[x.pk], [y.pk], [z.pk]], flags={y.pk: ["harmful"]})
        rows = _export(snapshot_create(name="prefs", kind="preference"), "unpaired")
        labels = {r["completion"][0]["content"]: r["label"] for r in rows}
        assert labels == {a.text: False, c.text: False, x.text: True, y.text: False, z.text: False}

    def test_filters(self, annotators, make_ranking_task, make_prompt):
        people = annotators(4)
        agreed, candidates = make_ranking_task(k=2, required=2)
        _rank_all(agreed, people[:2], [[x.pk] for x in candidates])
        # Agree on the best, not on the other two: agreement 2/3.
        split, (a, b, c) = make_ranking_task(k=3, required=2, prompt=make_prompt(source=Prompt.Source.CHAT))
        ranking_submit(assignment=task_assign_next(annotator=people[2]), groups=[[a.pk], [b.pk], [c.pk]])
        ranking_submit(assignment=task_assign_next(annotator=people[3]), groups=[[a.pk], [c.pk], [b.pk]])
        Task.objects.filter(pk=split.pk).update(created_at=timezone.now() - timedelta(days=40))

        def ids(**filters):
            snapshot = snapshot_create(name="f", kind="preference", filters=filters)
            return [row["id"] for row in snapshot_rows(snapshot=snapshot)]

        assert ids() == [f"task-{agreed.pk}", f"task-{split.pk}"]
        assert ids(min_agreement=0.9) == [f"task-{agreed.pk}"]
        assert ids(sources=["chat"]) == [f"task-{split.pk}"]
        since = (timezone.now() - timedelta(days=1)).date().isoformat()
        assert ids(created_from=since) == [f"task-{agreed.pk}"]
        assert ids(created_to=since) == [f"task-{split.pk}"]

    @pytest.mark.parametrize(
        "kind, filters, problem",
        [
            ("preference", {"task_kind": "ranking"}, "task_kind cannot filter a preference dataset"),
            ("sft", {"min_agreement": 0.5}, "min_agreement cannot filter"),
            ("preference", {"min_agreement": 2}, "from 0 to 1"),
            ("preference", {"sources": ["web"]}, "sources must be"),
            ("preference", {"created_from": "yesterday"}, "must be a date"),
            ("rlhf", {}, "unknown dataset kind"),
        ],
    )
    def test_bad_filters_are_refused(self, kind, filters, problem):
        with pytest.raises(UserError, match=problem):
            snapshot_create(name="x", kind=kind, filters=filters)

    def test_a_name_cannot_leave_the_datasets_directory(self, ranked):
        with pytest.raises(UserError, match="letters, digits"):
            snapshot_create(name="../escape", kind="preference")


class TestSftSnapshots:
    @pytest.fixture
    def demonstrations(self, annotators, demonstrations_judged):
        writer, ranker = annotators(2)
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
        )
        task_create_demonstration(prompt=prompt, required_annotations=1)
        demonstration_submit(assignment=task_assign_next(annotator=writer), content="Paris.")
        return prompt, ranker

    def test_demonstrations_export_as_messages_and_prompt_completion(self, demonstrations):
        prompt, _ = demonstrations
        snapshot = snapshot_create(name="sft", kind="sft", filters={"task_kind": "demonstration"})
        assert snapshot.item_count == 1
        assert _export(snapshot, "sft-messages") == [
            {"messages": [*prompt.messages, {"role": "assistant", "content": "Paris."}]}
        ]
        assert _export(snapshot, "sft-prompt-completion") == [
            {"prompt": prompt.messages, "completion": [{"role": "assistant", "content": "Paris."}]}
        ]
        with pytest.raises(ValueError, match="cannot be exported as preference"):
            _export(snapshot, "preference")

    def test_better_answers_from_rankings_are_demonstrations_too(self, demonstrations, make_ranking_task):
        _, ranker = demonstrations
        task, candidates = make_ranking_task(k=2, required=1)
        ranking_submit(
            assignment=task_assign_next(annotator=ranker, kind="ranking"),
            groups=[[x.pk] for x in candidates],
            better_answer="Better than both.",
        )
        rows = snapshot_rows(snapshot=snapshot_create(name="sft", kind="sft", filters={"task_kind": "ranking"}))
        assert [(row["completion"], row["task_kind"]) for row in rows] == [("Better than both.", "ranking")]
        assert Demonstration.objects.count() == 2


class TestRoundTrips:
    def test_exported_prompts_import_back_as_the_same_prompts(self, ranked):
        snapshot = snapshot_create(name="prefs", kind="preference")
        before = {p.content_hash: p.messages for p in Prompt.objects.all()}
        for fmt in ("preference", "oasst"):
            lines = [json.dumps(row) for row in _export(snapshot, fmt)]
            Prompt.objects.all().delete()
            prompts_import(lines=lines, fmt="jsonl" if fmt == "preference" else "oasst", file_name="back.jsonl")
            assert {p.content_hash: p.messages for p in Prompt.objects.all()} == before

    def test_the_hh_snapshot_has_one_pair_per_distinct_line(self, tmp_path):
        lines = [
            hh_line(
                [("user", f"Question {i}?"), ("assistant", "Say more."), ("user", "Please.")], f"Good {i}", f"Bad {i}"
            )
            for i in range(40)
        ]
        lines += [lines[3], lines[7]]  # duplicates
        record = prompts_import(lines=lines, fmt="hh", file_name="hh.jsonl")
        snapshot = snapshot_create(name="hh", kind="preference", filters={"import_id": record.pk})
        pairs = _export(snapshot, "preference")
        assert len(pairs) == len(lines) - 2 == snapshot.item_count
        assert len({p["group_id"] for p in pairs}) == 40
        assert all(p["chosen"][0]["content"].startswith("Good") and p["margin"] == 1.0 for p in pairs)
        assert pairs[0]["prompt"][-1] == {"role": "user", "content": "Please."}

    def test_oasst_export_keeps_ranks_ties_and_system_prompt(self, annotators, make_ranking_task):
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Rank these"},
        ]
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
        )
        task, (a, b, c) = make_ranking_task(k=3, required=1, prompt=prompt)
        _rank_all(task, annotators(1), [[b.pk], [a.pk, c.pk]])
        snapshot = snapshot_create(name="trees", kind="preference")
        (tree,) = _export(snapshot, "oasst")
        assert tree["system"] == "Be brief." and tree["message_tree_id"] == f"task-{task.pk}"
        last = tree["prompt"]["replies"][0]["replies"][0]
        assert (last["role"], last["text"]) == ("prompter", "Rank these")
        assert sorted((r["rank"], r["text"]) for r in last["replies"]) == [(0, b.text), (1, a.text), (1, c.text)]
        Prompt.objects.all().delete()
        prompts_import(lines=[json.dumps(tree)], fmt="oasst", file_name="trees.jsonl")
        # Every prompter node is a prompt again: the first turn, and the whole conversation.
        assert sorted(len(p.messages) for p in Prompt.objects.all()) == [2, 4]
        reimported = Prompt.objects.get(content_hash=prompt.content_hash).tasks.get().consensus
        texts = dict(Candidate.objects.values_list("pk", "text"))
        assert [sorted(texts[pk] for pk in group) for group in reimported.groups] == [
            [b.text],
            sorted([a.text, c.text]),
        ]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        list(export_rows(kind="sft", rows=[{}], fmt="csv"))
