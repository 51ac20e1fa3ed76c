"""An admin starts an SFT job from the form in a real browser (the preset
fills in the hyper-parameters) and watches it live: progress, log, the loss
curve, then the registered version. The live server runs the real recipes
(training.sft) on the tiny model, for three steps."""

import importlib.util
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.models import TrainingJob

from ..browser.conftest import log_in, page  # noqa: F401 (the fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("training.sft") is None, reason="training.sft is not written yet"),
]

PASSWORD = "a-Strong-pass-123"


def test_an_admin_starts_a_job_and_watches_it_finish(page, app_env, settings, make_user, base_version, sft_snapshot):  # noqa: F811
    settings.DATA_DIR = Path(app_env["DATA_DIR"])
    make_user(username="boss", password=PASSWORD, role="admin")
    snapshot = sft_snapshot(["Paris is the capital of France.", "Water boils at 100 degrees."], name="browser-demos")
    log_in(page, "boss", PASSWORD)
    page.get_by_role("link", name="Training").click()
    page.get_by_test_id("new-job").click()

    form = page.get_by_test_id("job-form")
    form.locator("[name=kind]").select_option("sft")
    expect(form.locator("[data-field=corpus]")).to_be_hidden()
    expect(form.locator("[data-field=reward_version]")).to_be_hidden()
    prefilled = json.loads(form.locator("[name=hyperparameters]").input_value())
    assert prefilled["lora"] is True and prefilled["device"] == "cpu", "the CPU quick preset of training/"
    form.locator("[name=base_version]").select_option(str(base_version.pk))
    form.locator("[name=snapshot]").select_option(str(snapshot.pk))
    form.locator("[name=hyperparameters]").fill(
        json.dumps({**prefilled, "max_steps": 3, "batch_size": 1, "max_length": 64})
    )
    page.get_by_test_id("start-job").click()

    page.wait_for_url("**/jobs/*/")
    job = TrainingJob.objects.get()
    expect(page.locator("#job-page[data-live=true]")).to_be_attached()
    expect(page.get_by_test_id("job-state")).to_have_text("Succeeded", timeout=240_000)
    expect(page.get_by_test_id("job-progress")).to_have_text("step 3 of 3")
    expect(page.locator(".job-chart[data-metric=loss] path[data-series=loss]")).to_be_attached()
    expect(page.get_by_test_id("job-log")).to_contain_text("Registered model version")
    job.refresh_from_db()
    expect(page.get_by_test_id("job-output").get_by_role("link")).to_have_text(job.output_version.name)
    assert page.errors == []
