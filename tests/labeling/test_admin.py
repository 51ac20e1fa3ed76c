import pytest

from labeling.models import Task
from labeling.services import prompts_import, ranking_submit, snapshot_create, task_assign_next

from .conftest import hh_line

pytestmark = pytest.mark.django_db


def test_the_admin_pages_render_and_change_nothing(client, make_user, annotators, make_ranking_task):
    admin = make_user(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    prompts_import(lines=[hh_line([("user", "q")], "good", "bad")], fmt="hh", file_name="hh.jsonl")
    task, candidates = make_ranking_task(k=2, required=1)
    ranking_submit(assignment=task_assign_next(annotator=annotators(1)[0]), groups=[[c.pk] for c in candidates])
    snapshot = snapshot_create(name="prefs", kind="preference")
    models = ("promptimport", "prompt", "candidate", "task", "assignment", "ranking", "demonstration",
              "consensus", "annotatorstats", "datasetsnapshot", "candidategeneration", "guidelines")
    for model in models:
        assert client.get(f"/admin/labeling/{model}/").status_code == 200, model
    assert client.get(f"/admin/labeling/task/{task.pk}/change/").status_code == 200
    assert client.get(f"/admin/labeling/datasetsnapshot/{snapshot.pk}/change/").status_code == 200
    assert client.get("/admin/labeling/prompt/add/").status_code == 403
    assert client.post(f"/admin/labeling/task/{task.pk}/change/", {"required_annotations": 9}).status_code == 403
    assert Task.objects.get(pk=task.pk).required_annotations == 1
