"""The admin's Datasets page (the prompt pool) in a real browser: each of
its two submits asks only for its own inputs, the numbers typed in survive
the submit, generations are followed live, and each prompt opens on a page
with its candidates, rankings and consensus."""

import pytest
from playwright.sync_api import expect

from labeling.assignments import candidate_add, ranking_submit, task_assign_next, task_create_ranking
from labeling.models import Candidate, CandidateGeneration, Prompt, Task
from labeling.text import messages_hash
from registry.models import ModelVersion

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _prompt(text: str) -> Prompt:
    messages = [{"role": "user", "content": text}]
    return Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))


def test_demonstration_tasks_are_made_without_choosing_a_model_version(page, make_user):
    ModelVersion.objects.create(name="policy-a", kind="policy", source="imported", path="/nonexistent")
    prompt = _prompt("Describe a lighthouse.")
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/prompts/")
    page.locator(f"[data-testid=lab-prompt][data-id='{prompt.pk}'] [data-testid=lab-prompt-check]").check()
    page.get_by_test_id("lab-make-demonstrations").click()

    expect(page.locator(".flash")).to_contain_text("1 demonstration task(s) made")
    assert Task.objects.filter(prompt=prompt, kind=Task.Kind.DEMONSTRATION).count() == 1
    assert page.errors == []


def test_generation_still_asks_for_a_model_version(page, make_user):
    ModelVersion.objects.create(name="policy-a", kind="policy", source="imported", path="/nonexistent")
    prompt = _prompt("Describe a harbour.")
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/prompts/")
    page.locator(f"[data-testid=lab-prompt][data-id='{prompt.pk}'] [data-testid=lab-prompt-check]").check()
    page.get_by_test_id("lab-generate").click()

    expect(page.locator("[name=model_versions]:invalid")).to_have_count(1)
    assert page.url.endswith("/labeling/admin/prompts/")
    assert not CandidateGeneration.objects.exists()


def test_the_numbers_submitted_are_kept_for_the_next_submit(page, make_user):
    ModelVersion.objects.create(name="policy-a", kind="policy", source="imported", path="/nonexistent")
    prompt = _prompt("Describe a canal.")
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/prompts/")
    page.locator(f"[data-testid=lab-prompt][data-id='{prompt.pk}'] [data-testid=lab-prompt-check]").check()
    page.locator("[name=required_annotations]").fill("5")
    page.locator("[name=k]").fill("6")
    page.locator("[name=max_new_tokens]").fill("300")
    page.locator("[name=model_versions]").select_option(label="policy-a")
    page.get_by_test_id("lab-generate").click()

    expect(page.locator(".flash")).to_contain_text("Generating 6 candidates")
    expect(page.locator("[name=required_annotations]")).to_have_value("5")
    expect(page.locator("[name=k]")).to_have_value("6")
    expect(page.locator("[name=max_new_tokens]")).to_have_value("300")
    generation = CandidateGeneration.objects.get()
    assert (generation.k, generation.required_annotations, generation.max_new_tokens) == (6, 5, 300)


def test_a_generation_s_state_is_followed_without_a_reload(page, make_user):
    generation = CandidateGeneration.objects.create(
        prompt=_prompt("Describe a bridge."), k=2, required_annotations=1, max_new_tokens=32
    )
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/prompts/")
    row = page.get_by_test_id("lab-generation")
    expect(row).to_have_attribute("data-state", "queued")

    CandidateGeneration.objects.filter(pk=generation.pk).update(state=CandidateGeneration.State.DONE)
    expect(row).to_have_attribute("data-state", "done")
    expect(row).to_contain_text("Done")
    expect(page.get_by_test_id("lab-generations")).to_have_attribute("data-live", "false")
    assert page.errors == []


def test_a_prompt_opens_with_its_candidates_rankings_and_consensus(page, make_user):
    prompt = _prompt("Name a **large** planet.")
    jupiter, earth = (
        candidate_add(prompt=prompt, text=text, origin=Candidate.Origin.MODEL) for text in ("*Jupiter*.", "Earth.")
    )
    task = task_create_ranking(prompt=prompt, candidates=[jupiter, earth], required_annotations=2)
    annotator = make_user(username="ann", password=PASSWORD, role="annotator")
    ranking_submit(assignment=task_assign_next(annotator=annotator, kind="ranking"), groups=[[jupiter.pk], [earth.pk]])
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/prompts/")
    page.locator(f"[data-testid=lab-prompt][data-id='{prompt.pk}']").get_by_test_id("lab-prompt-open").click()

    expect(page.get_by_test_id("lab-context")).to_contain_text("Name a large planet.")
    candidates = page.get_by_test_id("lab-item-candidate")
    expect(candidates).to_have_count(2)
    expect(candidates.first.locator("em")).to_have_text("Jupiter")
    expect(page.get_by_test_id("lab-item-task")).to_have_attribute("data-id", str(task.pk))
    expect(page.get_by_test_id("lab-item-ranking")).to_contain_text(f"ann #{jupiter.pk} > #{earth.pk}")
    expect(page.get_by_test_id("lab-item-consensus")).to_contain_text(f"#{jupiter.pk} > #{earth.pk}")
    assert page.errors == []
