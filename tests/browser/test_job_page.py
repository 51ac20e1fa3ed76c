"""A training job's page in a real browser: what it says stays true as the
job moves on, and its charts name only steps the job has."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import events
from jobs.models import TrainingJob, TrainingMetric

from .conftest import log_in, outside_the_page_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"


def _job(user, **extra) -> TrainingJob:
    return TrainingJob.objects.create(kind="sft", preset="cpu-quick", recipe="training.sft", created_by=user, **extra)


def test_the_notice_about_the_job_goes_once_its_state_moves_on(page, make_user):
    boss = make_user(username="boss", password=PASSWORD, role="admin")
    # Running, with a live heartbeat, so the reaper leaves it alone.
    job = _job(boss, state=TrainingJob.State.RUNNING, heartbeat_at=timezone.now(), started_at=timezone.now())
    log_in(page, "boss", PASSWORD)
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_test_id("cancel").click()
    expect(page.locator(".flash")).to_contain_text(f"Job #{job.pk}: cancel requested.")
    expect(page.locator("#job-page[data-live=true]")).to_be_attached()

    TrainingJob.objects.filter(pk=job.pk).update(state=TrainingJob.State.CANCELLED, finished_at=timezone.now())
    job.refresh_from_db()
    outside_the_page_loop(events.send_now, job.pk, events.progress_event(job))

    expect(page.get_by_test_id("job-state")).to_have_text("Cancelled")
    expect(page.locator(".flash")).to_have_count(0)
    assert page.errors == []


def test_a_one_point_chart_names_only_the_step_it_has(page, make_user):
    boss = make_user(username="boss", password=PASSWORD, role="admin")
    job = _job(boss, state=TrainingJob.State.SUCCEEDED, step=3, total_steps=3, finished_at=timezone.now())
    TrainingMetric.objects.create(job=job, step=3, values={"loss": 1.25})
    log_in(page, "boss", PASSWORD)
    page.goto(f"/jobs/{job.pk}/")

    chart = page.locator(".job-chart[data-metric=loss] svg")
    expect(chart.locator("circle")).to_have_count(1)
    steps = [text for text in chart.locator("text").all_text_contents() if text.startswith("step")]
    assert steps == ["step 3"]
    assert page.errors == []
