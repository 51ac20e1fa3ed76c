"""The label and user reply task pages in a browser: an answer labelled
with the keyboard alone, a refused form that keeps what was chosen, a reply
written with its preview and Ctrl+Enter, and both pages on a 390x844 phone
without a horizontal scroll."""

import pytest
from playwright.sync_api import expect

from labeling.answer_tasks import answer_tasks_create
from labeling.assignments import candidate_add
from labeling.models import AnswerLabel, Candidate, Prompt, Task
from labeling.text import messages_hash

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
PHONE = {"width": 390, "height": 844}
_WIDTHS = "() => [document.documentElement.scrollWidth, innerWidth]"
LONG_WORD = "Supercalifragilisticexpialidocious" * 3


def _answer_task(kind: str, text: str = "It is **Jupiter**, by far.", question: str = "the largest") -> Candidate:
    messages = [{"role": "user", "content": f"Which planet is {question}? {LONG_WORD}"}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
    answer = candidate_add(prompt=prompt, text=text, origin=Candidate.Origin.MODEL)
    answer_tasks_create(kind=kind, candidates=[answer], required_annotations=1)
    return answer


@pytest.fixture
def annotator(make_user):
    return make_user(username="labeller", password=PASSWORD, role="annotator")


def test_an_answer_is_labelled_with_the_keyboard_alone(page, annotator):
    answer = _answer_task(Task.Kind.LABEL)
    log_in(page, "labeller", PASSWORD)
    page.goto("/labeling/label/next/")
    expect(page.get_by_test_id("lab-answer-turn")).to_contain_text("It is Jupiter, by far.")
    expect(page.get_by_test_id("lab-scale")).to_have_count(6)
    # The first scale has the focus; each key answers one scale and moves on.
    for key in ["4", "5", "5", "2", "y", "n"]:
        page.keyboard.press(key)
    expect(page.get_by_test_id("lab-submit")).to_be_focused()
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/labeling/")
    label = AnswerLabel.objects.get(candidate=answer)
    assert label.values == {
        "quality": 4,
        "helpfulness": 5,
        "harmlessness": 5,
        "creativity": 2,
        "contains_pii": True,
        "spam": False,
    }
    assert page.errors == []


def test_a_refused_label_form_keeps_what_was_chosen(page, annotator):
    answer = _answer_task(Task.Kind.LABEL)
    log_in(page, "labeller", PASSWORD)
    page.goto("/labeling/label/next/")
    page.get_by_test_id("lab-scale-quality-3").check()
    page.get_by_test_id("lab-scale-spam-yes").check()
    page.get_by_test_id("lab-submit").click()
    expect(page.get_by_test_id("lab-error")).to_contain_text("Helpfulness: choose an answer.")
    expect(page.get_by_test_id("lab-scale-quality-3")).to_be_checked()
    expect(page.get_by_test_id("lab-scale-spam-yes")).to_be_checked()
    for name, value in [("helpfulness", 2), ("harmlessness", 4), ("creativity", 1)]:
        page.get_by_test_id(f"lab-scale-{name}-{value}").check()
    page.get_by_test_id("lab-submit").click()
    page.wait_for_url("**/labeling/")
    assert AnswerLabel.objects.get(candidate=answer).values["spam"] is True


def test_a_reply_as_the_user_is_previewed_and_submitted_with_ctrl_enter(page, annotator):
    answer = _answer_task(Task.Kind.USER_REPLY)
    log_in(page, "labeller", PASSWORD)
    page.goto("/labeling/user_reply/next/")
    expect(page.get_by_test_id("lab-answer-turn")).to_contain_text("reply to this")
    page.get_by_test_id("lab-reply").fill("Why **Jupiter**?")
    expect(page.get_by_test_id("lab-preview").locator("strong")).to_have_text("Jupiter")
    page.get_by_test_id("lab-reply").press("Control+Enter")
    page.wait_for_url("**/labeling/")
    prompt = Prompt.objects.get(source=Prompt.Source.USER_REPLY)
    assert prompt.parent_candidate == answer and prompt.messages[-1] == {"role": "user", "content": "Why **Jupiter**?"}
    assert page.errors == []


@pytest.fixture
def phone(page, live_server_url):
    context = page.context.browser.new_context(
        base_url=live_server_url, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    context.set_default_timeout(20_000)
    phone = context.new_page()
    phone.errors = []
    phone.on("pageerror", lambda error: phone.errors.append(str(error)))
    yield phone
    context.close()


def test_both_pages_fit_a_phone_and_work_by_touch(phone, annotator):
    labelled = _answer_task(Task.Kind.LABEL, text=f"A long answer: {LONG_WORD}")
    _answer_task(Task.Kind.USER_REPLY, text="Saturn is.", question="the second largest")
    log_in(phone, "labeller", PASSWORD)
    phone.goto("/labeling/label/next/")
    expect(phone.get_by_test_id("lab-scale")).to_have_count(6)
    width, viewport = phone.evaluate(_WIDTHS)
    assert width <= viewport == PHONE["width"]
    for name, value in [("quality", 2), ("helpfulness", 3), ("harmlessness", 5), ("creativity", 1)]:
        phone.get_by_test_id(f"lab-scale-{name}-{value}").tap()
    phone.get_by_test_id("lab-submit").tap()
    phone.wait_for_url("**/labeling/")
    phone.goto("/labeling/user_reply/next/")
    expect(phone.get_by_test_id("lab-reply")).to_be_visible()
    width, viewport = phone.evaluate(_WIDTHS)
    assert width <= viewport == PHONE["width"]
    phone.get_by_test_id("lab-reply").fill("And the third largest?")
    phone.get_by_test_id("lab-submit").tap()
    phone.wait_for_url("**/labeling/")
    assert AnswerLabel.objects.get(candidate=labelled).values["quality"] == 2
    assert Prompt.objects.filter(source=Prompt.Source.USER_REPLY).count() == 1
    assert phone.errors == []


def test_admins_make_tasks_and_read_the_labels_consensus_on_desktop_and_phone(page, phone, make_user):
    from labeling.answer_labels import label_submit
    from labeling.assignments import ranking_submit, task_assign_next, task_create_ranking

    ranker, labeller = (make_user(username=name, role="annotator") for name in ("ranker", "labeller2"))
    messages = [{"role": "user", "content": "Name a moon."}]
    prompt = Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
    moons = [candidate_add(prompt=prompt, text=text, origin=Candidate.Origin.MODEL) for text in ("Io.", "Titan.")]
    task_create_ranking(prompt=prompt, candidates=moons, required_annotations=1)
    ranking_submit(assignment=task_assign_next(annotator=ranker), groups=[[moons[1].pk], [moons[0].pk]])
    labelled = _answer_task(Task.Kind.LABEL, text="Buy cheap pills here!")
    label_submit(
        assignment=task_assign_next(annotator=labeller, kind=Task.Kind.LABEL),
        values={
            "quality": 1,
            "helpfulness": 1,
            "harmlessness": 2,
            "creativity": 1,
            "contains_pii": False,
            "spam": True,
        },
    )
    make_user(username="boss", password=PASSWORD, role="admin")
    log_in(page, "boss", PASSWORD)
    page.goto("/labeling/admin/answer-tasks/")
    row = page.get_by_test_id("lab-label-row")
    expect(row).to_have_attribute("data-candidate", str(labelled.pk))
    expect(row).to_contain_text("100% yes")
    expect(row).to_contain_text("1.0 ± 0.0")
    page.select_option("select[name=kind]", "label")
    page.fill("input[name=per_item]", "2")
    page.get_by_test_id("lab-make-answer-tasks").click()
    expect(page.locator("body")).to_contain_text("2 “label an answer” task(s) made from 1 ranked item(s).")
    expect(page.get_by_test_id("lab-answer-task-counts").locator("tr[data-kind=label]")).to_contain_text("3")
    assert page.errors == []

    log_in(phone, "boss", PASSWORD)
    phone.goto("/labeling/admin/answer-tasks/")
    expect(phone.get_by_test_id("lab-answer-tasks-form")).to_be_visible()
    width, viewport = phone.evaluate(_WIDTHS)
    assert width <= viewport == PHONE["width"]
