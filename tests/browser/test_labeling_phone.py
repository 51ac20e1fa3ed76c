"""Ranking on a 390x844 touch phone (issue 17): a finger drags an answer
by its grip, the keyboard card folds away instead of covering the answers,
the lease note keeps clear of the heading, and no labeling page is wider
than the screen."""

import pytest
from playwright.sync_api import expect

from labeling.assignments import candidate_add, task_create_demonstration, task_create_ranking
from labeling.models import Candidate, Prompt, Ranking
from labeling.text import messages_hash

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
PHONE = {"width": 390, "height": 844}
CONVERSATION = [{"role": "user", "content": "Which planet is the largest?"}]
ANSWERS = ["Jupiter.", "Saturn is.", "It is **Jupiter**, by far.", "Earth."]
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"


@pytest.fixture
def phone(page, live_server_url):
    """A page in a context of its own that is a phone: 390x844, touch, a
    mobile viewport, in the browser of the `page` fixture (which closes
    it)."""
    context = page.context.browser.new_context(
        base_url=live_server_url,
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(20_000)
    phone = context.new_page()
    phone.errors = []
    phone.on("pageerror", lambda error: phone.errors.append(str(error)))
    phone.on(
        "console",
        lambda message: (
            phone.errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield phone
    context.close()


def _ranking_task(k: int):
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    candidates = [candidate_add(prompt=prompt, text=text, origin=Candidate.Origin.MODEL) for text in ANSWERS[:k]]
    return task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=1)


def _shown_ids(page) -> list[int]:
    return [int(el.get_attribute("data-id")) for el in page.get_by_test_id("lab-candidate").all()]


def _overlap(one: dict, other: dict) -> bool:
    return not (
        one["x"] + one["width"] <= other["x"]
        or other["x"] + other["width"] <= one["x"]
        or one["y"] + one["height"] <= other["y"]
        or other["y"] + other["height"] <= one["y"]
    )


def _boxes(page, selector: str) -> list[dict]:
    """The boxes an element draws, one per line of an inline one."""
    return page.locator(selector).first.evaluate(
        "el => [...el.getClientRects()].map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}))"
    )


def _grown(box: dict, by: float) -> dict:
    return {"x": box["x"] - by, "y": box["y"] - by, "width": box["width"] + 2 * by, "height": box["height"] + 2 * by}


def _assert_the_lease_note_keeps_clear(page) -> None:
    """Neither the heading (its pill too, line by line) nor the heading
    below comes within 8 px of the lease note, which fits the screen."""
    (lease,) = _boxes(page, "[data-testid=lab-lease]")
    assert lease["x"] >= 0 and lease["x"] + lease["width"] <= PHONE["width"]
    for selector in (".lab-header h1", ".lab-header h1 small", ".lab-context h2"):
        for box in _boxes(page, selector):
            assert not _overlap(_grown(box, 4), _grown(lease, 4)), (selector, box, lease)


def _touch_drag(page, start: dict, end: dict, steps: int = 12) -> None:
    """A finger's drag, as Chromium's touch input (CDP Input.dispatchTouchEvent):
    the page sees the touch and pointer events a phone sends, and the
    browser's own scrolling decides by touch-action, as on a phone."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [start]})
    for i in range(1, steps + 1):
        point = {
            "x": start["x"] + (end["x"] - start["x"]) * i / steps,
            "y": start["y"] + (end["y"] - start["y"]) * i / steps,
        }
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        page.wait_for_timeout(16)  # a frame a step, as a finger moves
    # The finger rests before it lifts, as when dropping: lifting while
    # moving would be a fling, and the next tap would only stop the fling.
    for _ in range(3):
        page.wait_for_timeout(50)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [end]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _center(box: dict) -> dict:
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def test_on_a_phone_a_finger_drags_the_third_answer_to_the_top(phone, make_user):
    page = phone
    task = _ranking_task(3)
    make_user(username="thumb", password=PASSWORD, role="annotator")
    log_in(page, "thumb", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(3)
    a, b, c = _shown_ids(page)
    third = page.locator(f"[data-testid=lab-candidate][data-id='{c}']")
    first = page.locator(f"[data-testid=lab-candidate][data-id='{a}']")
    third.scroll_into_view_if_needed()
    first.scroll_into_view_if_needed()  # both on screen: three short answers fit
    grip = third.locator(".lab-grip").bounding_box()
    top = first.bounding_box()

    _touch_drag(page, _center(grip), {"x": top["x"] + 40, "y": top["y"] + 4})

    assert _shown_ids(page) == [c, a, b]
    page.get_by_test_id("lab-submit").tap()
    page.wait_for_url("**/labeling/")
    assert Ranking.objects.get(assignment__task=task).groups == [[c], [a], [b]]
    assert not page.errors


def test_on_a_phone_a_finger_on_an_answer_still_scrolls_the_page(phone, make_user):
    """touch-action: none is on the grip alone: a swipe over an answer's
    text scrolls the page and reorders nothing."""
    page = phone
    _ranking_task(4)
    make_user(username="scroller", password=PASSWORD, role="annotator")
    log_in(page, "scroller", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(4)
    before = _shown_ids(page)
    text = page.get_by_test_id("lab-text").nth(1)
    text.scroll_into_view_if_needed()
    start = _center(text.bounding_box())
    scrolled = page.evaluate("scrollY")

    _touch_drag(page, start, {"x": start["x"], "y": start["y"] - 300})

    page.wait_for_function(f"scrollY > {scrolled}")
    assert _shown_ids(page) == before
    assert page.get_by_test_id("lab-grip").first.evaluate("el => getComputedStyle(el).touchAction") == "none"
    assert page.get_by_test_id("lab-text").first.evaluate("el => getComputedStyle(el).touchAction") == "auto"


def test_on_a_phone_the_keyboard_card_folds_and_the_lease_note_keeps_clear_of_the_heading(phone, make_user):
    page = phone
    _ranking_task(4)
    make_user(username="small", password=PASSWORD, role="annotator")
    log_in(page, "small", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(4)

    _assert_the_lease_note_keeps_clear(page)

    # The shortcuts are folded under their summary, which opens them.
    keys = page.get_by_test_id("lab-keys")
    expect(keys.locator("dl")).to_be_hidden()
    keys_box = keys.bounding_box()
    assert keys_box["height"] < 80
    for card in page.get_by_test_id("lab-candidate").all():
        assert not _overlap(card.bounding_box(), keys_box)
    keys.locator("summary").tap()
    expect(keys.locator("dl")).to_be_visible()

    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width
    assert not page.errors


def test_on_a_phone_the_demonstration_page_fits_the_screen(phone, make_user):
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    task_create_demonstration(prompt=prompt, required_annotations=1)
    page = phone
    make_user(username="writer", password=PASSWORD, role="annotator")
    log_in(page, "writer", PASSWORD)
    page.goto("/labeling/demonstration/next/")
    page.get_by_test_id("lab-answer").fill(
        "| a | b |\n|---|---|\n| " + "wide " * 60 + "| 2 |\n\n```\n" + "x" * 300 + "\n```"
    )
    expect(page.get_by_test_id("lab-preview").locator("td").first).to_be_visible(timeout=15_000)
    _assert_the_lease_note_keeps_clear(page)
    scroll_width, inner_width = page.evaluate(_WIDTHS)
    assert scroll_width <= inner_width
    assert not page.errors
