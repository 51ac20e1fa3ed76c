"""The annotators page shows the standard agreement statistics beside the
app's own (issue 19): Krippendorff's alpha and Kendall's W per task kind,
each annotator's alpha against the others and every pair's alpha, at a
desktop width and on a 390x844 phone without widening the page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from labeling.assignments import candidate_add, ranking_submit, task_create_ranking
from labeling.models import Assignment, Candidate, Prompt
from labeling.text import messages_hash

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


def _rank(annotator, task, order: list[int]) -> None:
    """`annotator` ranks `task`'s candidates in `order` (indices into its
    candidates, best first), through the service annotators' posts call."""
    candidates = [link.candidate_id for link in task.task_candidates.order_by("candidate_id")]
    assignment = Assignment.objects.create(
        task=task, annotator=annotator, lease_expires_at=timezone.now() + timedelta(minutes=30)
    )
    ranking_submit(assignment=assignment, groups=[[candidates[i]] for i in order])


@pytest.fixture
def ranked(make_user):
    """Four items ranked by steady and also_steady alike and by contrary in
    reverse; one more ranked by steady and by newcomer (one shared item:
    too few for their pair's alpha)."""
    steady, also_steady, contrary, newcomer = (
        make_user(username=name, role="annotator") for name in ("steady", "also_steady", "contrary", "newcomer")
    )
    for number in range(5):
        messages = [{"role": "user", "content": f"Question {number}?"}]
        prompt = Prompt.objects.create(
            messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages)
        )
        candidates = [
            candidate_add(prompt=prompt, text=f"Answer {i} to {number}", origin=Candidate.Origin.MODEL)
            for i in range(3)
        ]
        task = task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=3)
        if number < 4:
            _rank(steady, task, [0, 1, 2])
            _rank(also_steady, task, [0, 1, 2])
            _rank(contrary, task, [2, 1, 0])
        else:
            _rank(steady, task, [0, 1, 2])
            _rank(newcomer, task, [0, 2, 1])
    make_user(username="boss", password=PASSWORD, role="admin")


def _assert_the_figures_show(page) -> None:
    page.goto("/labeling/admin/annotators/")
    kind = page.get_by_test_id("lab-agreement-kind").filter(has_text="Rank candidates")
    expect(kind.get_by_test_id("lab-alpha")).to_have_text("-0.19")
    expect(kind.get_by_test_id("lab-w-mean")).to_have_text("0.24")
    expect(kind).to_contain_text("5 items")
    annotator = page.locator("[data-testid=lab-agreement-annotator][data-username=contrary]")
    expect(annotator.get_by_test_id("lab-alpha")).to_have_text("-0.96")
    pair = page.locator("[data-testid=lab-agreement-pair][data-pair='also_steady steady']")
    expect(pair.get_by_test_id("lab-alpha")).to_have_text("1.00")
    expect(pair).to_contain_text("4")
    too_few = page.locator("[data-testid=lab-agreement-pair][data-pair='newcomer steady']")
    expect(too_few.get_by_test_id("lab-alpha")).to_have_text("–")


def test_the_annotators_page_shows_alpha_and_w(page, ranked):
    log_in(page, "boss", PASSWORD)
    _assert_the_figures_show(page)
    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width
    assert not page.errors


def test_on_a_phone_the_agreement_figures_fit_the_screen(page, ranked, live_server_url):
    context = page.context.browser.new_context(
        base_url=live_server_url, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    context.set_default_timeout(20_000)
    phone = context.new_page()
    errors = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    log_in(phone, "boss", PASSWORD)
    _assert_the_figures_show(phone)
    expect(phone.get_by_test_id("lab-agreement-pairs")).to_be_visible()
    scroll_width, inner_width = phone.evaluate(_WIDTHS)
    assert scroll_width <= inner_width
    assert not errors
    context.close()
