"""User reply tasks: an annotator writes the user's next turn after a
ranking's best answer, the reply becomes a prompt continuing it, the pool
gives that prompt candidates and a ranking like any other, and the trees
that grow are exported."""

import io
import json

import pytest

from core.errors import UserError
from labeling.answer_tasks import answer_tasks_create
from labeling.assignments import candidate_add, ranking_submit, task_assign_next, task_create_ranking
from labeling.datasets import snapshot_create, snapshot_export
from labeling.generation import candidates_generate
from labeling.hub_export import dataset_folder_write
from labeling.models import Assignment, Candidate, Prompt, Task
from labeling.selectors import prompts_without_ranking, tasks_open_to
from labeling.services import candidate_generations_request
from labeling.user_replies import user_reply_submit
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def ranked(annotators, make_ranking_task, settings):
    """A K=3 item ranked [[a], [b], [c]] by three annotators; with
    LABELING_USER_REPLY_TASKS_PER_RANKING = 1 its winner gets a reply task."""
    settings.LABELING_USER_REPLY_TASKS_PER_RANKING = 1

    def make(groups=None, none_acceptable=False, flags=None):
        task, (a, b, c) = make_ranking_task(k=3, required=3)
        for annotator in annotators(3):
            ranking_submit(
                assignment=task_assign_next(annotator=annotator),
                groups=groups(a, b, c) if groups else [[a.pk], [b.pk], [c.pk]],
                none_acceptable=none_acceptable,
                flags=flags(a, b, c) if flags else {},
            )
        return task, (a, b, c)

    return make


def _reply(annotator, text: str) -> Prompt:
    return user_reply_submit(assignment=task_assign_next(annotator=annotator, kind=Task.Kind.USER_REPLY), text=text)


class TestTheTask:
    def test_the_consensus_winner_gets_one_reply_task(self, ranked):
        task, (a, _, _) = ranked()
        (reply_task,) = Task.objects.filter(kind=Task.Kind.USER_REPLY)
        assert reply_task.prompt_id == task.prompt_id and reply_task.task_candidates.get().candidate_id == a.pk

    def test_no_reply_continues_an_unacceptable_harmful_or_cut_off_answer(self, ranked, settings, make_prompt):
        ranked(none_acceptable=True)
        assert not Task.objects.filter(kind=Task.Kind.USER_REPLY).exists()
        _, (a, b, _c) = ranked(flags=lambda a, b, c: {str(a.pk): ["harmful"]})
        (reply_task,) = Task.objects.filter(kind=Task.Kind.USER_REPLY)
        assert reply_task.task_candidates.get().candidate_id == b.pk  # the winner was flagged harmful
        cut = candidate_add(prompt=make_prompt(), text="Half an answ", origin="model", finish_reason="length")
        assert answer_tasks_create(kind=Task.Kind.USER_REPLY, candidates=[cut]) == 0
        settings.LABELING_USER_REPLY_MAX_TURNS = 1
        whole = candidate_add(prompt=make_prompt(), text="A whole answer.", origin="model")
        assert answer_tasks_create(kind=Task.Kind.USER_REPLY, candidates=[whole]) == 0

    def test_a_reply_becomes_a_prompt_continuing_the_answer_and_joins_the_pool(self, ranked, annotators):
        task, (a, _, _) = ranked()
        writer, other = annotators(2)
        prompt = _reply(writer, "  Thanks! And in French?\r\n")
        assert prompt.messages == [
            *task.prompt.messages,
            {"role": "assistant", "content": a.text},
            {"role": "user", "content": "Thanks! And in French?"},
        ]
        assert (prompt.source, prompt.parent, prompt.parent_candidate, prompt.author) == (
            Prompt.Source.USER_REPLY,
            task.prompt,
            a,
            writer,
        )
        assert prompt.reply_assignment.state == Assignment.State.SUBMITTED
        assert list(task.prompt.continuations.all()) == [prompt] and list(a.continuations.all()) == [prompt]
        assert prompt in prompts_without_ranking(count=10, source=Prompt.Source.USER_REPLY)
        # Its candidates and ranking come the usual way; its writer never gets that task.
        ranking = task_create_ranking(
            prompt=prompt,
            candidates=[
                candidate_add(prompt=prompt, text=f"En français {i}", origin=Candidate.Origin.MODEL) for i in range(2)
            ],
            required_annotations=1,
        )
        assert not tasks_open_to(annotator=writer).filter(pk=ranking.pk).exists()
        assert tasks_open_to(annotator=other).filter(pk=ranking.pk).exists()

    def test_empty_and_duplicate_replies_are_refused(self, ranked, annotators):
        ranked()
        first, second, third = annotators(3)
        with pytest.raises(UserError) as empty:
            user_reply_submit(assignment=task_assign_next(annotator=first, kind=Task.Kind.USER_REPLY), text=" \n ")
        assert empty.value.code == "empty"
        _reply(first, "Why?")
        with pytest.raises(UserError) as same:
            _reply(second, "why? ")
        assert same.value.code == "duplicate"
        assert Assignment.objects.get(annotator=second, task__kind=Task.Kind.USER_REPLY).state == "leased"
        _reply(second, "Are you sure?")  # a different reply from the same lease is taken
        assert task_assign_next(annotator=third, kind=Task.Kind.USER_REPLY) is not None  # its third place

    def test_the_reply_prompt_gets_candidates_from_the_generation_worker(self, ranked, annotators, tiny_model_dir):
        ranked()
        (writer,) = annotators(1)
        prompt = _reply(writer, "Tell me more.")
        version = ModelVersion.objects.create(name="tiny", kind="policy", source="imported", path=str(tiny_model_dir))
        (generation,) = candidate_generations_request(
            prompts=prompts_without_ranking(count=5, source=Prompt.Source.USER_REPLY),
            model_versions=[version],
            k=2,
            required_annotations=1,
            max_new_tokens=8,
        )
        candidates_generate(generation_id=generation.pk)
        generation.refresh_from_db()
        assert generation.state == "done", generation.error
        assert generation.task.prompt == prompt and generation.task.task_candidates.count() == 2


class TestThePage:
    def test_the_page_shows_the_answer_and_a_refused_reply_keeps_its_text(self, ranked, annotators, client):
        _, (a, _, _) = ranked()
        (writer,) = annotators(1)
        client.force_login(writer)
        url = client.get("/labeling/user_reply/next/").headers["Location"]
        page = client.get(url).content.decode()
        assert a.text in page and "reply to this" in page
        too_long = "x" * 20001
        response = client.post(url + "user-reply/", {"content": too_long})
        assert response.status_code == 400 and too_long in response.content.decode()
        response = client.post(url + "user-reply/", {"content": "And then?"})
        assert response.status_code == 302 and response.headers["Location"] == "/labeling/user_reply/next/"
        assert Prompt.objects.filter(source=Prompt.Source.USER_REPLY, author=writer).count() == 1

    def test_the_prompt_pages_walk_the_tree_both_ways(self, ranked, annotators, client, make_user):
        task, (a, _, _) = ranked()
        (writer,) = annotators(1)
        prompt = _reply(writer, "Go on.")
        client.force_login(make_user(username="root", role="admin"))
        child = client.get(f"/labeling/admin/prompts/{prompt.pk}/").content.decode()
        assert f'Continues <a href="/labeling/admin/prompts/{task.prompt_id}/">prompt #{task.prompt_id}</a>' in child
        assert f"replying to its answer #{a.pk}" in child
        parent = client.get(f"/labeling/admin/prompts/{task.prompt_id}/").content.decode()
        assert f'Continued by <a href="/labeling/admin/prompts/{prompt.pk}/">#{prompt.pk}</a>' in parent
        assert f"on answer #{a.pk}, 3 annotators asked" in parent  # the reply task, not "0 of 3 rankings"

    def test_the_admin_page_makes_reply_tasks(self, annotators, make_ranking_task, client, make_user, settings):
        task, (a, b, c) = make_ranking_task(k=3, required=1)
        (ranker,) = annotators(1)
        ranking_submit(assignment=task_assign_next(annotator=ranker), groups=[[b.pk], [a.pk], [c.pk]])
        client.force_login(make_user(username="root", role="admin"))
        client.post(
            "/labeling/admin/answer-tasks/create/",
            {"kind": "user_reply", "items": 5, "per_item": 1, "required_annotations": 1},
        )
        assert Task.objects.get(kind=Task.Kind.USER_REPLY).task_candidates.get().candidate_id == b.pk


@pytest.fixture
def grown(ranked, annotators, make_ranking_task):
    """prompt -> a (ranked best) -> two replies; the first reply ranked
    and its best answer replied to again."""
    root_task, (a, b, c) = ranked()
    first, second = annotators(2)
    reply = _reply(first, "Why is that?")
    _reply(second, "Can you say it shorter?")
    task, (x, y, z) = make_ranking_task(k=3, required=3, prompt=reply)
    for annotator in annotators(3):
        ranking_submit(assignment=task_assign_next(annotator=annotator, kind="ranking"), groups=[[y.pk], [x.pk, z.pk]])
    # The second writer worked on the first prompt only, so the reply's winner can be theirs to continue.
    deeper = _reply(second, "Thanks, one more thing.")
    return snapshot_create(name="trees", kind="conversations"), root_task, (a, b, c), reply, (x, y), deeper


class TestExports:
    def test_the_tree_holds_the_ranked_answers_and_the_replies_under_them(self, grown):
        snapshot, root_task, (a, b, c), reply, (x, y), deeper = grown
        assert snapshot.item_count == 1
        stream = io.StringIO()
        snapshot_export(snapshot=snapshot, fmt="oasst", output=stream)
        (tree,) = [json.loads(line) for line in stream.getvalue().splitlines()]
        root = tree["prompt"]
        assert root["role"] == "prompter" and root["text"] == root_task.prompt.messages[-1]["content"]
        answers = root["replies"]
        assert [(n["text"], n["rank"]) for n in answers] == [(a.text, 0), (b.text, 1), (c.text, 2)]
        assert [r["text"] for r in answers[0]["replies"]] == ["Why is that?", "Can you say it shorter?"]
        under_reply = answers[0]["replies"][0]["replies"]
        assert under_reply[0]["text"] == y.text and under_reply[0]["rank"] == 0
        assert under_reply[0]["replies"][0]["text"] == "Thanks, one more thing."
        assert under_reply[0]["replies"][0]["replies"] == []  # no answers yet
        assert answers[0]["replies"][1]["replies"] == []

    def test_the_flat_messages_load_as_a_hugging_face_dataset(self, grown, tmp_path):
        from datasets import load_dataset

        snapshot, root_task, (a, b, c), reply, (x, y), deeper = grown
        out = tmp_path / "trees"
        dataset_folder_write(snapshot=snapshot, fmt="oasst-messages", out=out)
        rows = list(load_dataset(str(out), cache_dir=str(tmp_path / "cache"))["train"])
        stream = io.StringIO()
        snapshot_export(snapshot=snapshot, fmt="oasst-messages", output=stream)
        assert [dict(r) for r in rows] == [json.loads(line) for line in stream.getvalue().splitlines()]
        by_id = {row["message_id"]: row for row in rows}
        # Walking parent_id up from the deepest reply gives the whole conversation.
        path, node = [], by_id[f"prompt-{deeper.pk}"]
        while node:
            path.append(node["text"])
            node = by_id.get(node["parent_id"]) if node["parent_id"] else None
        assert list(reversed(path)) == [m["content"] for m in deeper.messages]
        assert by_id[f"answer-{a.pk}"]["rank"] == 0 and by_id[f"prompt-{deeper.pk}"]["rank"] is None
        card = (out / "README.md").read_text(encoding="utf-8")
        assert "Trees: 1, holding" in card and "the deepest goes 2 replies down" in card
