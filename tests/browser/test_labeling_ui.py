"""Annotators rank by keyboard alone and by drag and drop, and write a
demonstration with its live preview, in a real browser against the live
stack; the rows stored are checked."""

import re
import time

import pytest
from playwright.sync_api import expect

from labeling.assignments import candidate_add, task_create_demonstration, task_create_ranking
from labeling.models import Assignment, Candidate, Demonstration, Prompt, Ranking, Task
from labeling.text import messages_hash

from ..conftest import record_figures
from ..helpers.polling import eventually
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name a planet."},
    {"role": "assistant", "content": "Mars."},
    {"role": "user", "content": "Which one is the largest?"},
]
ANSWERS = ["Jupiter.", "Saturn is.", "It is **Jupiter**, by far.", "Earth."]


def _ranking_task(k: int) -> tuple[Task, dict[str, Candidate]]:
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    candidates = [candidate_add(prompt=prompt, text=text, origin=Candidate.Origin.MODEL) for text in ANSWERS[:k]]
    task = task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=1)
    return task, {c.text: c for c in candidates}


def _ranking_task_on_its_own_prompt() -> tuple[Task, list[Candidate]]:
    messages = [{"role": "user", "content": "How far away is Neptune?"}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
    candidates = [
        candidate_add(prompt=prompt, text=t, origin=Candidate.Origin.MODEL) for t in ("Far.", "About 4.5 billion km.")
    ]
    return task_create_ranking(prompt=prompt, candidates=candidates, required_annotations=1), candidates


def _shown_ids(page) -> list[int]:
    return [int(el.get_attribute("data-id")) for el in page.get_by_test_id("lab-candidate").all()]


def _shown_groups(page) -> list[list[int]]:
    return [
        [int(el.get_attribute("data-id")) for el in group.get_by_test_id("lab-candidate").all()]
        for group in page.get_by_test_id("lab-group").all()
    ]


def test_an_annotator_ranks_four_answers_by_keyboard_alone(page, make_user):
    task, by_text = _ranking_task(4)
    make_user(username="ann", password=PASSWORD, role="annotator")
    log_in(page, "ann", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(4)
    expect(page.get_by_test_id("lab-keys")).to_be_visible()
    expect(page.get_by_test_id("lab-context").get_by_test_id("lab-turn")).to_have_count(4)
    expect(page.get_by_test_id("lab-lease")).to_contain_text("left")
    a, b, c, d = _shown_ids(page)
    expect(page.get_by_test_id("lab-candidate").first).to_be_focused()

    # Wanted: d first; b and c tied second; a last, flagged harmful (key 2).
    started = time.perf_counter()
    for key in ["d", "d", "d", "2", "k", "u", "Shift+ArrowUp", "j", "j", "t"]:
        page.keyboard.press(key)
    arranged = time.perf_counter() - started
    assert _shown_groups(page) == [[d], [b, c], [a]]
    expect(page.get_by_test_id("lab-group").nth(1)).to_have_class(re.compile(r"\blab-tied\b"))
    started = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_url("**/labeling/")
    submitted = time.perf_counter() - started
    seconds = arranged + submitted

    ranking = Ranking.objects.get(assignment__task=task)
    assert ranking.groups == [[d], sorted([b, c]), [a]]
    assert ranking.flags == {str(a): ["harmful"]}
    assert not ranking.none_acceptable and ranking.better_answer == ""
    assert ranking.assignment.state == Assignment.State.SUBMITTED
    assert not page.errors
    record_figures(
        "labeling_keyboard_ranking",
        {
            "test": "tests/browser/test_labeling_ui.py::test_an_annotator_ranks_four_answers_by_keyboard_alone",
            "candidates": 4,
            "keys": 11,
            "seconds_total": round(seconds, 3),
            "seconds_arranging": round(arranged, 3),
            "seconds_submitting": round(submitted, 3),
            "note": "Playwright key presses in headless Debian chromium; machine time, not a person's.",
        },
    )


def test_the_other_keys_flag_write_a_better_answer_and_skip(page, make_user):
    task, by_text = _ranking_task(2)
    skipped, _ = _ranking_task_on_its_own_prompt()
    make_user(username="keys", password=PASSWORD, role="annotator")
    log_in(page, "keys", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(2)
    first, second = _shown_ids(page)
    page.keyboard.press("n")
    expect(page.get_by_test_id("lab-none")).to_be_checked()
    page.keyboard.press("j")
    page.keyboard.press("5")
    page.keyboard.press("1")
    page.keyboard.press("b")
    expect(page.get_by_test_id("lab-better")).to_be_focused()
    page.keyboard.type("Jupiter. j k t")  # shortcuts do nothing while typing
    page.keyboard.press("Escape")
    expect(page.locator(f"[data-testid=lab-candidate][data-id='{second}']")).to_be_focused()
    assert _shown_groups(page) == [[first], [second]]
    page.keyboard.press("Control+Enter")
    expect(page.locator(".flash")).to_contain_text("Ranking saved")  # and the next task, on its own prompt
    expect(page.get_by_test_id("lab-context")).to_contain_text("Neptune")
    ranking = Ranking.objects.get(assignment__task=task)
    assert ranking.none_acceptable and ranking.better_answer == "Jupiter. j k t"
    assert ranking.groups == [[first], [second]] and ranking.flags == {str(second): ["factually_wrong", "spam"]}

    page.keyboard.press("s")
    expect(page.get_by_test_id("lab-skip-reason")).to_be_focused()
    page.keyboard.type("Needs an astronomer")
    page.keyboard.press("Enter")
    page.wait_for_url("**/labeling/")
    assignment = Assignment.objects.get(task=skipped)
    assert (assignment.state, assignment.skip_reason) == (Assignment.State.SKIPPED, "Needs an astronomer")
    assert not page.errors


def test_an_annotator_ranks_by_drag_and_drop_with_a_better_answer(page, make_user):
    task, by_text = _ranking_task(3)
    make_user(username="dragger", password=PASSWORD, role="annotator")
    log_in(page, "dragger", PASSWORD)
    page.goto("/labeling/ranking/next/")
    cards = page.get_by_test_id("lab-candidate")
    expect(cards).to_have_count(3)
    a, b, c = _shown_ids(page)

    def card(pk):
        return page.locator(f"[data-testid=lab-candidate][data-id='{pk}']")

    # Drop the last answer on the top edge of the first: it goes first.
    card(c).locator(".lab-grip").drag_to(card(a), target_position={"x": 40, "y": 4})
    assert _shown_ids(page) == [c, a, b]
    # Drop the first on the bottom edge of the last: it goes last.
    card(c).locator(".lab-grip").drag_to(card(b), target_position={"x": 40, "y": card(b).bounding_box()["height"] - 4})
    assert _shown_groups(page) == [[a], [b], [c]]
    # A tie by mouse, a flag, none acceptable, and a better answer.
    card(b).get_by_test_id("lab-tie").click()
    assert _shown_groups(page) == [[a, b], [c]]
    card(c).get_by_test_id("lab-flag-factually_wrong").check()
    page.get_by_test_id("lab-none").check()
    page.locator("#lab-better-details summary").click()
    page.get_by_test_id("lab-better").fill("Jupiter, the largest planet of the Solar System.")
    page.get_by_test_id("lab-submit").click()
    page.wait_for_url("**/labeling/")

    ranking = Ranking.objects.get(assignment__task=task)
    assert ranking.groups == [sorted([a, b]), [c]]
    assert ranking.flags == {str(c): ["factually_wrong"]} and ranking.none_acceptable
    assert ranking.better_answer == "Jupiter, the largest planet of the Solar System."
    written = Demonstration.objects.get(assignment=ranking.assignment)
    assert Candidate.objects.filter(demonstration=written, origin=Candidate.Origin.DEMONSTRATION).exists()
    # The live stack's moderation worker judges it once stored.
    eventually(
        lambda: Demonstration.objects.get(pk=written.pk).moderation == Demonstration.Moderation.PASSED,
        what="the better answer judged by the moderation worker",
    )
    assert not page.errors


def test_an_annotator_writes_a_demonstration_with_the_preview(page, make_user):
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    task = task_create_demonstration(prompt=prompt, required_annotations=1)
    make_user(username="writer", password=PASSWORD, role="annotator")
    log_in(page, "writer", PASSWORD)
    page.get_by_test_id("nav-labeling").click()
    page.get_by_test_id("lab-start-demonstration").click()
    expect(page.get_by_test_id("lab-turn")).to_have_count(4)
    expect(page.get_by_test_id("lab-context")).to_contain_text("Which one is the largest?")
    expect(page.get_by_test_id("lab-guidelines")).to_contain_text("Write the answer you would want")

    answer = (
        "# Jupiter\n\nIt is **11 times** wider than Earth.\n\n- gas giant\n- 95 moons <script>window.hacked=1</script>"
    )
    page.get_by_test_id("lab-answer").fill(answer)
    preview = page.get_by_test_id("lab-preview")
    expect(preview.locator("h1")).to_have_text(
        "Jupiter", timeout=15_000
    )  # a debounced request; slow on a loaded machine
    expect(preview.locator("strong")).to_have_text("11 times")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview).to_contain_text("<script>window.hacked=1</script>")  # shown as text
    assert preview.locator("script").count() == 0 and page.evaluate("window.hacked") is None

    page.get_by_test_id("lab-answer").press("Control+Enter")
    page.wait_for_url("**/labeling/")
    expect(page.locator(".flash")).to_contain_text("Answer saved")
    demonstration = Demonstration.objects.get(assignment__task=task)
    assert demonstration.content == answer and demonstration.author.username == "writer"
    assert not page.errors


CODE_AND_TABLE = "```python\nprint('hi')\n```\n\n| Planet | Moons |\n|---|---|\n| Jupiter | 95 |\n"
# What the chat's rendered answer looks like (static/css/app.css, `.md`):
# the code block's dark box and padding, the table's borders and header.
_STYLES = """root => {
  const css = (el, names) => Object.fromEntries(names.map((n) => [n, getComputedStyle(el)[n]]));
  const pre = root.querySelector('pre');
  return {
    block: css(pre.parentElement, ['backgroundColor', 'color', 'borderRadius', 'borderTopWidth']),
    pre: css(pre, ['paddingTop', 'paddingLeft', 'fontSize', 'fontFamily', 'overflowX']),
    th: css(root.querySelector('th'), ['backgroundColor', 'fontWeight', 'paddingLeft', 'borderBottomWidth']),
    td: css(root.querySelector('td'), ['paddingLeft', 'borderBottomWidth', 'borderBottomStyle']),
    table: css(root.querySelector('table'), ['borderCollapse', 'fontSize']),
    wrap: css(root.querySelector('table').parentElement, ['overflowX', 'borderTopWidth', 'borderTopStyle']),
    copy: root.querySelectorAll('.code-copy').length,
  };
}"""


def test_the_demonstration_preview_styles_code_and_tables_as_the_chat_does(page, make_user):
    """One home for the look of rendered Markdown: the preview gets the
    chat's code blocks (dark box, language, Copy) and bordered tables."""
    from chat.models import Conversation, Message, MessageStatus

    writer = make_user(username="styler", password=PASSWORD, role="annotator")
    conversation = Conversation.objects.create(owner=writer, title="Styles")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Show me", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        content=CODE_AND_TABLE,
        status=MessageStatus.COMPLETE,
    )
    conversation.current_leaf = answer
    conversation.save()
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    task_create_demonstration(prompt=prompt, required_annotations=1)
    log_in(page, "styler", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    chat_answer = page.locator("[data-testid=message][data-role=assistant] [data-testid=message-content]")
    expect(chat_answer.locator("td").first).to_have_text("Jupiter")
    in_chat = chat_answer.evaluate(_STYLES)

    page.goto("/labeling/demonstration/next/")
    page.get_by_test_id("lab-answer").fill(CODE_AND_TABLE)
    preview = page.get_by_test_id("lab-preview")
    expect(preview.locator("td").first).to_have_text("Jupiter", timeout=15_000)
    in_preview = preview.evaluate(_STYLES)

    assert in_preview == in_chat
    assert in_chat["block"]["backgroundColor"] != "rgba(0, 0, 0, 0)" and in_chat["th"]["borderBottomWidth"] == "1px"
    assert in_chat["copy"] == 1
    expect(preview.locator(".code-lang")).to_have_text("python")
    assert not page.errors


def test_a_cut_off_answer_is_marked_for_the_annotator(page, make_user):
    """An answer that ran into max_new_tokens says so where it ends, so it
    is judged as a truncated answer; the others carry no mark."""
    prompt = Prompt.objects.create(
        messages=CONVERSATION, source=Prompt.Source.IMPORT, content_hash=messages_hash(CONVERSATION)
    )
    cut = candidate_add(prompt=prompt, text="Jupiter is the largest, because", origin="model", finish_reason="length")
    whole = candidate_add(prompt=prompt, text="Jupiter.", origin="model", finish_reason="stop")
    unknown = candidate_add(prompt=prompt, text="Saturn.", origin="imported")
    task_create_ranking(prompt=prompt, candidates=[cut, whole, unknown], required_annotations=1)
    make_user(username="reader", password=PASSWORD, role="annotator")
    log_in(page, "reader", PASSWORD)
    page.goto("/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(3)

    def card(candidate):
        return page.locator(f"[data-testid=lab-candidate][data-id='{candidate.pk}']")

    expect(card(cut).get_by_test_id("lab-cut-off")).to_have_text("Cut off at the length limit")
    expect(card(cut).get_by_test_id("lab-cut-off")).to_be_visible()
    expect(page.get_by_test_id("lab-cut-off")).to_have_count(1)
    assert "cut off" in card(cut).get_attribute("aria-label").lower()
    assert not page.errors
