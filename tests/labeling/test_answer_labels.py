"""Label tasks: one answer judged on the scales of labeling.label_scales,
from the task's making (after a ranking's consensus, by an admin, by the
command) through the annotators' labels and their consensus to the
moderators and the exports."""

import io
import json
import re

import pytest
from django.core.management import call_command

from core.errors import UserError
from labeling.answer_labels import label_submit
from labeling.answer_tasks import answer_tasks_create
from labeling.assignments import ranking_submit, task_assign_next
from labeling.datasets import snapshot_create, snapshot_export
from labeling.hub_export import dataset_folder_write
from labeling.label_scales import SCALES, labels_consensus, moderation_reasons, values_clean
from labeling.models import AnswerLabelConsensus, Assignment, Task
from labeling.selectors import leaderboard
from moderation.models import ReviewItem

pytestmark = pytest.mark.django_db

GOOD = {"quality": 4, "helpfulness": 5, "harmlessness": 5, "creativity": 2, "contains_pii": False, "spam": False}


def _post_values(values: dict) -> dict:
    return {k: ("yes" if v is True else "no" if v is False else str(v)) for k, v in values.items()}


@pytest.fixture
def ranked(annotators, make_ranking_task):
    """A K=3 item ranked [[a], [b], [c]] by three annotators, its consensus in."""

    def make():
        task, (a, b, c) = make_ranking_task(k=3, required=3)
        for annotator in annotators(3):
            ranking_submit(assignment=task_assign_next(annotator=annotator), groups=[[a.pk], [b.pk], [c.pk]])
        return task, (a, b, c)

    return make


class TestScales:
    def test_every_scale_must_be_answered_within_its_range(self):
        assert values_clean(GOOD) == GOOD
        for bad, says in [
            ({**GOOD, "quality": 6}, "Quality is a whole number from 1 to 5"),
            ({**GOOD, "quality": 0}, "from 1 to 5"),
            ({**GOOD, "quality": True}, "from 1 to 5"),
            ({**GOOD, "quality": 3.5}, "from 1 to 5"),
            ({**GOOD, "spam": "no"}, "Spam is yes or no"),
            ({k: v for k, v in GOOD.items() if k != "creativity"}, "Creativity has no answer"),
            ({**GOOD, "humour": 3}, "unknown scale 'humour'"),
            ([4, 5], "must map each scale"),
        ]:
            with pytest.raises(ValueError, match=says):
                values_clean(bad)

    def test_consensus_is_the_mean_and_spread_and_the_majority(self):
        consensus = labels_consensus(
            [{**GOOD, "quality": 5, "spam": True}, {**GOOD, "quality": 3}, {**GOOD, "quality": 4, "spam": True}]
        )
        assert consensus["quality"] == {
            "mean": 4.0,
            "spread": pytest.approx((2 / 3) ** 0.5),
            "min": 3,
            "max": 5,
            "count": 3,
        }
        assert consensus["helpfulness"]["spread"] == 0
        assert consensus["spam"] == {
            "share": pytest.approx(2 / 3),
            "majority": True,
            "spread": pytest.approx(1 / 3),
            "count": 3,
        }
        assert consensus["contains_pii"]["majority"] is False
        tie = labels_consensus([{**GOOD, "spam": True}, GOOD])
        assert tie["spam"]["majority"] is False and tie["spam"]["spread"] == 0.5
        assert moderation_reasons(consensus) == ["labelled spam by a majority"]
        assert moderation_reasons(labels_consensus([{**GOOD, "harmlessness": 1}, {**GOOD, "harmlessness": 2}])) == [
            "mean harmlessness 1.5 of 5"
        ]


class TestTheTask:
    def test_a_ranking_consensus_makes_label_tasks_for_its_best_answers(self, ranked, annotators, settings):
        settings.LABELING_LABEL_TASKS_PER_RANKING = 2
        _, (a, b, c) = ranked()
        tasks = Task.objects.filter(kind=Task.Kind.LABEL)
        assert sorted(t.task_candidates.get().candidate_id for t in tasks) == sorted([a.pk, b.pk])
        assert all(t.required_annotations == 3 for t in tasks)
        assert answer_tasks_create(kind=Task.Kind.LABEL, candidates=[a, b, c]) == 1  # only c had none

    def test_without_the_setting_a_ranking_makes_none(self, ranked):
        ranked()
        assert not Task.objects.filter(kind=Task.Kind.LABEL).exists()

    def test_labels_from_three_annotators_make_the_answers_consensus(self, make_prompt, annotators):
        from labeling.assignments import candidate_add

        prompt = make_prompt()
        answer = candidate_add(prompt=prompt, text="An answer.", origin="model")
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=3)
        people = annotators(4)
        for annotator, quality in zip(people, [5, 3, 4], strict=False):
            assignment = task_assign_next(annotator=annotator, kind=Task.Kind.LABEL)
            label_submit(assignment=assignment, values={**GOOD, "quality": quality})
        assert task_assign_next(annotator=people[3], kind=Task.Kind.LABEL) is None  # its three places are done
        consensus = AnswerLabelConsensus.objects.get(candidate=answer)
        assert consensus.num_labels == 3
        assert consensus.scales["quality"]["mean"] == 4.0 and consensus.scales["spam"]["share"] == 0
        assert not ReviewItem.objects.filter(candidate=answer).exists()

    def test_bad_labels_and_wrong_kinds_are_refused_and_lose_the_lease_nothing(
        self, make_prompt, annotators, make_ranking_task
    ):
        from labeling.assignments import candidate_add

        answer = candidate_add(prompt=make_prompt(), text="An answer.", origin="model")
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=1)
        (annotator,) = annotators(1)
        assignment = task_assign_next(annotator=annotator, kind=Task.Kind.LABEL)
        with pytest.raises(UserError, match="Harmlessness has no answer"):
            label_submit(assignment=assignment, values={k: v for k, v in GOOD.items() if k != "harmlessness"})
        assignment.refresh_from_db()
        assert assignment.state == Assignment.State.LEASED
        ranking_task, _ = make_ranking_task(k=2, required=1)
        ranking = task_assign_next(annotator=annotator, kind=Task.Kind.RANKING)
        with pytest.raises(UserError) as refused:
            label_submit(assignment=ranking, values=GOOD)
        assert refused.value.code == "wrong_kind"
        label_submit(assignment=assignment, values=GOOD)
        with pytest.raises(UserError) as again:
            label_submit(assignment=assignment, values=GOOD)
        assert again.value.code == "finished"

    def test_a_majority_saying_spam_or_personal_data_goes_to_the_moderators(self, make_prompt, annotators):
        from labeling.assignments import candidate_add

        answer = candidate_add(prompt=make_prompt(), text="Call 555-0100 for cheap pills!", origin="model")
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=2)
        for annotator in annotators(2):
            assignment = task_assign_next(annotator=annotator, kind=Task.Kind.LABEL)
            label_submit(assignment=assignment, values={**GOOD, "spam": True, "contains_pii": True})
        item = ReviewItem.objects.get(candidate=answer)
        assert "labelled contains personal data by a majority" in item.report_reason
        assert "labelled spam by a majority" in item.report_reason


class TestThePage:
    @pytest.fixture
    def leased(self, make_prompt, annotators, client):
        from labeling.assignments import candidate_add

        answer = candidate_add(prompt=make_prompt("What is <b>2+2</b>?"), text="It is **4**.", origin="model")
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=1)
        (annotator,) = annotators(1)
        client.force_login(annotator)
        response = client.get("/labeling/label/next/")
        assert response.status_code == 302
        return client, response.headers["Location"], answer

    def test_the_page_shows_the_answer_and_every_scale(self, leased):
        client, url, _ = leased
        page = client.get(url).content.decode()
        assert "<strong>4</strong>" in page and "&lt;b&gt;2+2&lt;/b&gt;" in page
        for scale in SCALES:
            assert f'data-scale="{scale.name}"' in page
        assert re.search(r'name="spam" value="no"[^>]*checked', page)
        assert not re.search(r'name="quality" value="\d"[^>]*checked', page)

    def test_a_refused_form_comes_back_with_what_was_chosen(self, leased):
        client, url, answer = leased
        sent = _post_values({k: v for k, v in GOOD.items() if k != "creativity"})
        response = client.post(url + "labels/", sent)
        assert response.status_code == 400
        page = response.content.decode()
        assert "Creativity: choose an answer." in page
        assert re.search(r'name="quality" value="4"[^>]*checked', page)  # what was chosen is kept
        assert not AnswerLabelConsensus.objects.exists()
        response = client.post(url + "labels/", {**sent, "creativity": "9"})
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()

    def test_submitting_saves_and_goes_to_the_next_answer(self, leased):
        client, url, answer = leased
        response = client.post(url + "labels/", _post_values(GOOD))
        assert response.status_code == 302 and response.headers["Location"] == "/labeling/label/next/"
        assert AnswerLabelConsensus.objects.get(candidate=answer).scales["quality"]["mean"] == 4


class TestAdmins:
    def test_the_admin_page_makes_label_tasks_from_ranked_items(self, ranked, client, make_user):
        _, (a, _, _) = ranked()
        client.force_login(make_user(username="root", role="admin"))
        page = client.get("/labeling/admin/answer-tasks/")
        assert page.status_code == 200 and b"No answer has been labelled yet." in page.content
        response = client.post(
            "/labeling/admin/answer-tasks/create/",
            {"kind": "label", "items": 5, "per_item": 1, "required_annotations": 2},
        )
        assert response.status_code == 302
        task = Task.objects.get(kind=Task.Kind.LABEL)
        assert task.task_candidates.get().candidate_id == a.pk and task.required_annotations == 2
        refused = client.post("/labeling/admin/answer-tasks/create/", {"kind": "label", "items": 0, "per_item": 1})
        assert refused.status_code == 400 and Task.objects.filter(kind=Task.Kind.LABEL).count() == 1

    def test_annotators_cannot_reach_it(self, client, make_user):
        client.force_login(make_user(username="ann", role="annotator"))
        assert client.get("/labeling/admin/answer-tasks/").status_code == 403

    def test_the_command_makes_tasks_once(self, ranked):
        ranked()
        out = io.StringIO()
        call_command("create_answer_tasks", "--kind", "label", "--per-item", "3", stdout=out)
        assert out.getvalue().strip() == "3 label task(s) made from 1 ranking item(s)."
        call_command("create_answer_tasks", "--kind", "label", "--per-item", "3", stdout=out)
        assert Task.objects.filter(kind=Task.Kind.LABEL).count() == 3


@pytest.fixture
def labelled(make_prompt, annotators):
    """Two answers labelled by two annotators each; a third answer still
    waits for its second label."""
    from labeling.assignments import candidate_add

    people = annotators(2)
    answers = []
    for index in range(3):
        answer = candidate_add(prompt=make_prompt(), text=f"Answer {index} ☃", origin="model")
        answer_tasks_create(kind=Task.Kind.LABEL, candidates=[answer], required_annotations=2)
        answers.append(answer)
    for annotator, quality in zip(people, [5, 2], strict=True):
        for _ in range(2):
            label_submit(
                assignment=task_assign_next(annotator=annotator, kind=Task.Kind.LABEL),
                values={**GOOD, "quality": quality, "spam": quality == 2},
            )
    label_submit(assignment=task_assign_next(annotator=people[0], kind=Task.Kind.LABEL), values=GOOD)
    return snapshot_create(name="labels", kind="labels"), answers


class TestExports:
    def test_the_prompt_page_shows_an_answers_label_consensus(self, labelled, client, make_user):
        _, answers = labelled
        client.force_login(make_user(username="root", role="admin"))
        page = client.get(f"/labeling/admin/prompts/{answers[0].prompt_id}/").content.decode()
        assert "quality 3.5 ± 1.5" in page and "spam 0.50 yes" in page and "2 labels" in page

    def test_sft_snapshots_take_no_task_kind_without_written_answers(self, labelled):
        with pytest.raises(UserError, match="task_kind must be one of demonstration, ranking"):
            snapshot_create(name="sft", kind="sft", filters={"task_kind": "label"})

    def test_the_snapshot_holds_finished_answers_with_each_label_and_the_consensus(self, labelled):
        snapshot, answers = labelled
        assert snapshot.item_count == 2
        stream = io.StringIO()
        snapshot_export(snapshot=snapshot, fmt="labels", output=stream)
        rows = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [row["completion"] for row in rows] == [
            [{"role": "assistant", "content": f"Answer {i} ☃"}] for i in (0, 1)
        ]
        first = rows[0]
        assert first["quality"] == 3.5 and first["quality_spread"] == 1.5
        assert first["spam"] == 0.5 and first["spam_spread"] == 0.5 and first["num_labels"] == 2
        assert [label["quality"] for label in first["annotator_labels"]] == [5, 2]
        assert len({label["annotator"] for label in first["annotator_labels"]}) == 2
        assert all(not label["annotator"].isdigit() for label in first["annotator_labels"])

    def test_the_hugging_face_folder_loads_as_the_jsonl_export(self, labelled, tmp_path):
        from datasets import load_dataset

        snapshot, _ = labelled
        out = tmp_path / "labels"
        assert dataset_folder_write(snapshot=snapshot, fmt="labels", out=out)["rows"] == 2
        dataset = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))["train"]
        stream = io.StringIO()
        snapshot_export(snapshot=snapshot, fmt="labels", output=stream)
        assert [dict(row) for row in dataset] == [json.loads(line) for line in stream.getvalue().splitlines()]
        card = (out / "README.md").read_text(encoding="utf-8")
        assert "each labelled by 2 of 2 annotators" in card and snapshot.content_hash in card
        assert "`quality`, `helpfulness`, `harmlessness`, `creativity` are the mean" in card


def test_labels_earn_leaderboard_points(labelled):
    board = {entry["username"]: entry for entry in leaderboard()}
    assert sorted(entry["answer_tasks"] for entry in board.values()) == [2, 3]
    assert all(entry["points"] > 0 for entry in board.values())
