"""Gold items in the browser (issue 19): an admin marks a ranked task gold
from its prompt's page, finds it on the gold page, sees an annotator's gold
accuracy beside their agreement on the annotators page, held for review,
and clears the hold; the clearing is recorded with who and when. An admin
marks a label task gold with an accept/reject verdict from the gold page."""

import pytest
from playwright.sync_api import expect

from labeling.answer_tasks import answer_tasks_create
from labeling.assignments import candidate_add, ranking_submit, task_assign_next, task_create_ranking
from labeling.gold import gold_mark
from labeling.models import Candidate, GoldHold, GoldItem, Prompt, Task
from labeling.text import messages_hash

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _ranking_task(number: int):
    messages = [{"role": "user", "content": f"Gold question {number}?"}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
    candidates = [
        candidate_add(prompt=prompt, text=f"Answer {i} to {number}", origin=Candidate.Origin.MODEL) for i in range(3)
    ]
    return task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=2), candidates


@pytest.fixture
def seeded(make_user, settings):
    """A task two annotators ranked alike (so it has a consensus), and a
    careless annotator held after reversing two gold items."""
    settings.LABELING_GOLD_RATE = 1.0
    settings.LABELING_GOLD_MIN_ANSWERS = 2
    settings.LABELING_GOLD_HOLD_BELOW = 0.6
    ranked, candidates = _ranking_task(0)
    for name in ("first", "second"):
        annotator = make_user(username=name, role="annotator")
        assignment = task_assign_next(annotator=annotator, kind="ranking")
        ranking_submit(assignment=assignment, groups=[[c.pk] for c in candidates])
    for number in (1, 2):
        task, c = _ranking_task(number)
        gold_mark(task_id=task.pk, marked_by=None, reference=[[c[0].pk], [c[1].pk], [c[2].pk]])
    careless = make_user(username="careless", role="annotator")
    for _ in range(2):
        assignment = task_assign_next(annotator=careless, kind="ranking")
        ids = sorted(link.candidate_id for link in assignment.task.task_candidates.all())
        ranking_submit(assignment=assignment, groups=[[pk] for pk in reversed(ids)])
    make_user(username="boss", password=PASSWORD, role="admin")
    return ranked


def test_mark_gold_then_clear_a_hold(page, seeded):
    log_in(page, "boss", PASSWORD)
    page.goto(f"/labeling/admin/prompts/{seeded.prompt_id}/")
    form = page.get_by_test_id("lab-item-gold")
    form.get_by_role("button", name="Mark gold").click()
    expect(page.get_by_text(f"Task #{seeded.pk} is gold (the task's consensus).")).to_be_visible()
    expect(page.get_by_test_id("lab-item-gold").get_by_role("button", name="Set reference")).to_be_visible()

    page.get_by_role("link", name="Gold", exact=True).click()
    expect(page.locator(f"[data-testid=lab-gold-item][data-task='{seeded.pk}']")).to_contain_text("consensus")
    expect(page.get_by_test_id("lab-gold-item")).to_have_count(3)

    page.goto("/labeling/admin/annotators/")
    row = page.locator("[data-testid=lab-gold-annotator][data-username=careless]")
    expect(row.get_by_test_id("lab-gold-accuracy")).to_have_text("0.00")
    expect(row.get_by_test_id("lab-gold-status")).to_contain_text("held for review")
    row.get_by_test_id("lab-gold-clear").click()
    expect(page.get_by_text("careless gets real tasks again.")).to_be_visible()
    row = page.locator("[data-testid=lab-gold-annotator][data-username=careless]")
    expect(row.get_by_test_id("lab-gold-status")).to_contain_text("hold cleared by boss")
    hold = GoldHold.objects.get(annotator__username="careless")
    assert hold.cleared_by.username == "boss" and hold.cleared_at is not None


def test_mark_a_label_task_gold_with_a_verdict(page, make_user):
    ranking_task, candidates = _ranking_task(3)
    answer_tasks_create(kind=Task.Kind.LABEL, candidates=[candidates[0]], required_annotations=1)
    label_task = Task.objects.get(kind=Task.Kind.LABEL)
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/gold/")
    form = page.get_by_test_id("lab-gold-label-mark-form")
    form.get_by_label("Label task #").fill(str(ranking_task.pk))
    form.get_by_label("Verdict on its answer").select_option("reject")
    form.get_by_role("button", name="Mark label task gold").click()
    expect(page.get_by_text(f"Task #{ranking_task.pk} is not a label task")).to_be_visible()

    form = page.get_by_test_id("lab-gold-label-mark-form")
    form.get_by_label("Label task #").fill(str(label_task.pk))
    form.get_by_label("Verdict on its answer").select_option("reject")
    form.get_by_role("button", name="Mark label task gold").click()
    expect(page.get_by_text(f"Label task #{label_task.pk} is gold (verdict: reject).")).to_be_visible()
    row = page.locator(f"[data-testid=lab-gold-item][data-task='{label_task.pk}']")
    expect(row.get_by_test_id("lab-gold-verdict")).to_have_text("Reject the answer")
    assert GoldItem.objects.get(task=label_task).verdict == "reject"
