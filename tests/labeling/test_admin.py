import pytest

from labeling.assignments import ranking_submit, task_assign_next
from labeling.datasets import snapshot_create
from labeling.imports import prompts_import
from labeling.models import Task

from .conftest import hh_line

pytestmark = pytest.mark.django_db


def test_the_admin_pages_render_and_change_nothing(client, make_user, annotators, make_ranking_task):
    admin = make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    prompts_import(lines=[hh_line([("user", "q")], "good", "bad")], fmt="hh", file_name="hh.jsonl")
    task, candidates = make_ranking_task(k=2, required=1)
    ranking_submit(assignment=task_assign_next(annotator=annotators(1)[0]), groups=[[c.pk] for c in candidates])
    snapshot = snapshot_create(name="prefs", kind="preference")
    models = (
        "promptimport",
        "prompt",
        "candidate",
        "task",
        "assignment",
        "ranking",
        "demonstration",
        "consensus",
        "annotatorstats",
        "datasetsnapshot",
        "candidategeneration",
        "guidelines",
    )
    for model in models:
        assert client.get(f"/admin/labeling/{model}/").status_code == 200, model
    assert client.get(f"/admin/labeling/task/{task.pk}/change/").status_code == 200
    assert client.get(f"/admin/labeling/datasetsnapshot/{snapshot.pk}/change/").status_code == 200
    assert client.get("/admin/labeling/prompt/add/").status_code == 403
    assert client.post(f"/admin/labeling/task/{task.pk}/change/", {"required_annotations": 9}).status_code == 403
    assert Task.objects.get(pk=task.pk).required_annotations == 1


def _finished_ranking_task(annotators, make_ranking_task):
    task, candidates = make_ranking_task(k=2, required=1)
    annotator = annotators(1)[0]
    ranking_submit(assignment=task_assign_next(annotator=annotator), groups=[[c.pk] for c in candidates])
    return task, annotator


def test_deleting_an_annotator_in_the_admin_is_refused_and_keeps_their_rankings(
    client, make_user, annotators, make_ranking_task
):
    """Issue 15, item 7: deleting a user cascaded to their assignments and
    rankings, which silently rewrote past consensus. Accounts are
    deactivated instead."""
    from labeling.models import Ranking

    task, annotator = _finished_ranking_task(annotators, make_ranking_task)
    client.force_login(make_user(username="root", role="admin", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/accounts/user/{annotator.pk}/delete/").content.decode()
    assert "<title>Cannot delete user" in page
    client.post(f"/admin/accounts/user/{annotator.pk}/delete/", {"post": "yes"})
    annotator.refresh_from_db()
    assert Ranking.objects.filter(assignment__task=task, assignment__annotator=annotator).count() == 1
    assert Task.objects.get(pk=task.pk).consensus.num_rankings == 1


def test_the_labeling_admin_deletes_nothing(client, make_user, annotators, make_ranking_task):
    """Deleting a prompt cascaded to its tasks, rankings and consensus."""
    from labeling.models import Prompt, Ranking

    task, _ = _finished_ranking_task(annotators, make_ranking_task)
    client.force_login(make_user(username="root", role="admin", is_staff=True, is_superuser=True))
    for model, pk in (("prompt", task.prompt_id), ("task", task.pk), ("ranking", Ranking.objects.get().pk)):
        assert client.get(f"/admin/labeling/{model}/{pk}/delete/").status_code == 403, model
        assert client.post(f"/admin/labeling/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403, model
    bulk = client.post(
        "/admin/labeling/prompt/", {"action": "delete_selected", "_selected_action": [task.prompt_id], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert Prompt.objects.filter(pk=task.prompt_id).exists() and Ranking.objects.count() == 1
