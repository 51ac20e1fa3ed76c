"""A corpus of script-injection payloads (tests/browser/xss_payloads.py)
stored everywhere a person's text is shown, each page then opened in a real
browser against the live stack: no payload may run (the page would call
`__xssHit` or open a dialog), none may leave markup that could run on a
click (a `javascript:` link, an `on*` attribute, a frame), and where the
page shows the text as text, each payload must read back unchanged. What
the Content-Security-Policy (core/csp.py) refuses counts as a page error
(tests/browser/conftest.py), so the policy neither hides an injection nor
breaks a page unnoticed.

One login per role, many payloads per page; every finding is collected so
a failure lists them all."""

import json
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from arena.models import ArenaMatch
from chat import events as chat_events
from chat.models import Conversation, Message, MessageStatus
from chat.selectors import conversation_list
from jobs import events as job_events
from jobs.models import TrainingJob
from labeling.assignments import candidate_add, task_create_demonstration, task_create_ranking
from labeling.models import (
    Assignment,
    Candidate,
    CandidateGeneration,
    Consensus,
    DatasetSnapshot,
    Prompt,
    PromptImport,
    Task,
)
from labeling.services import guidelines_update
from labeling.text import messages_hash
from moderation import categories as c
from moderation.flags import review_item_create, review_item_from_annotators, review_item_report
from moderation.models import ClassifierTraining
from openai_api.services import api_key_create
from registry.models import ModelVersion
from review.services import review_item_decide

from ..moderation.factories import make_verdict
from .conftest import log_in, outside_the_page_loop
from .xss_payloads import HIT, PAYLOADS, RENDERED_PAYLOADS, chunks, joined

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"

# Markup that runs script now or on a click, found anywhere in the document.
# The app's own pages have none: no inline script (json_script blocks are
# data), no handler attribute, no frame, images only from /static/.
_INJECTED_MARKUP = r"""() => {
  const found = [];
  const urlAttributes = new Set(['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster', 'background']);
  // The app's own: the sandboxed frame Mermaid draws in, and the pictures it
  // answers with (static/js/lib/diagrams.js), SVG shown as images.
  const diagramFrame = (el) => el.matches('iframe.diagram-frame[sandbox="allow-scripts"]')
    && new URL(el.src).pathname === '/static/diagram-frame.html';
  const diagramImage = (el) => el.matches('.diagram > img.diagram-image')
    && el.getAttribute('src').startsWith('data:image/svg+xml;');
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (diagramFrame(el) || diagramImage(el)) continue;
    if (['iframe', 'frame', 'object', 'embed', 'base', 'applet', 'portal'].includes(tag)) found.push(`<${tag}>`);
    if (tag === 'meta' && el.hasAttribute('http-equiv')) found.push('<meta http-equiv>');
    if (tag === 'script' && !el.src && el.type !== 'application/json') found.push('inline <script>');
    if (tag === 'img' && !new URL(el.getAttribute('src') || '', location.href).pathname.startsWith('/static/')) {
      found.push(`<img src=${el.getAttribute('src')}>`);
    }
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\u0000-\u0020]/g, '');
      if (name.startsWith('on') || name === 'srcdoc') found.push(`<${tag} ${name}>`);
      const favicon = tag === 'link' && value === 'data:,';
      if (urlAttributes.has(name) && /^(javascript|vbscript|data):/i.test(value) && !favicon) {
        found.push(`<${tag} ${name}=${attribute.value.slice(0, 60)}>`);
      }
      if (name === 'style' && /expression\(|javascript:|url\(/i.test(value)) {
        found.push(`<${tag} style=${attribute.value.slice(0, 60)}>`);
      }
    }
  }
  return found;
}"""

# Lets events a payload could hang on (an image failing to load, a
# <details> toggling, autofocus) fire before the page is judged.
_SETTLE = "() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 100)))"


def _norm(text: str) -> str:
    return " ".join(text.split())


class Probe:
    """Watches one browser page: payloads that ran (the exposed `__xssHit`
    and dialogs, across navigations and frames), markup that could run, and
    payload text that does not read back."""

    def __init__(self, page):
        self.page = page
        self.surface = "(before any page)"
        self.hits: list[tuple[str, str]] = []
        self.findings: list[str] = []
        self.checked = 0  # payloads times surfaces
        page.expose_function(HIT, lambda marker: self.hits.append((self.surface, str(marker))))

    def open(self, surface: str, url: str):
        self.surface = surface
        response = self.page.goto(url)
        assert response is not None and response.ok, f"{surface}: {url} answered {response and response.status}"
        return response

    def check(self, surface=None, *, payloads=PAYLOADS, shown_in: str | None = None, exact: tuple | None = None):
        """Judges the page as it is now. `shown_in`: a selector whose text
        must contain every payload; `exact`: (selector, texts) whose
        elements' texts must be exactly these."""
        surface = surface or self.surface
        self.surface = surface
        page = self.page
        page.evaluate(_SETTLE)
        self.checked += len(payloads)
        for where, marker in self.hits:
            self.findings.append(f"{where}: payload {marker} ran")
        self.hits.clear()
        for message in page.dialogs:
            self.findings.append(f"{surface}: a dialog opened: {message!r}")
        page.dialogs.clear()
        for markup in page.evaluate(_INJECTED_MARKUP):
            self.findings.append(f"{surface}: injected markup {markup}")
        for error in page.errors:
            self.findings.append(f"{surface}: page error {error}")
        page.errors.clear()
        if shown_in is not None:
            text = _norm(" ".join(page.locator(shown_in).all_inner_texts()))
            for payload in payloads:
                if _norm(payload) not in text:
                    self.findings.append(f"{surface}: {payload!r} is not shown as text in {shown_in}")
        if exact is not None:
            selector, texts = exact
            shown = [_norm(t) for t in page.locator(selector).all_inner_texts()]
            if shown != [_norm(t) for t in texts]:
                self.findings.append(f"{surface}: {selector} shows {shown!r}, not {[_norm(t) for t in texts]!r}")


@pytest.fixture
def probe(page):
    """A Probe on the test's page. Whatever ran is reported at the end even
    when the test stopped early: injected markup often breaks the page that
    the test then waits on."""
    probe = Probe(page)
    yield probe
    probe.check("(after the last page)", payloads=[])
    assert not probe.findings, f"{len(probe.findings)} findings:\n" + "\n".join(probe.findings)
    print(f"\nXSS probe: {len(PAYLOADS)} payloads, {probe.checked} payload x surface checks, none ran")


def _wait_for_frame(page, frames: list, kind: str, timeout_ms: int = 10_000) -> None:
    for _ in range(timeout_ms // 50):
        if any(json.loads(frame).get("type") == kind for frame in frames if isinstance(frame, str)):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"no {kind!r} frame came over the WebSocket")


def _prompt(messages: list[dict], **extra) -> Prompt:
    return Prompt.objects.create(
        messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages), **extra
    )


def _conversation_turns(payloads) -> list[dict]:
    """A system message, then user and assistant turns in turn, ending with
    a user turn, each a payload."""
    turns = [{"role": "system", "content": payloads[0]}]
    for n, payload in enumerate(payloads[1:]):
        turns.append({"role": "user" if n % 2 == 0 else "assistant", "content": payload})
    if turns[-1]["role"] != "user":
        turns.append({"role": "user", "content": "Which answer is right?"})
    return turns


# --- chat -------------------------------------------------------------------


def test_chat_shows_every_payload_as_text(page, probe, make_user):
    """Messages, answers (Markdown), model names, error notes and titles
    from the database; an answer streamed over the WebSocket and then
    finished; a message sent from the composer; the login page's `next`."""
    user = make_user(username="alice", password=PASSWORD)
    titled = [Conversation.objects.create(owner=user, title=payload) for payload in PAYLOADS]
    conversation = titled[0]
    parent = None
    for payload in PAYLOADS:
        question = Message.objects.create(
            conversation=conversation, parent=parent, role="user", content=payload, status=MessageStatus.ACCEPTED
        )
        parent = Message.objects.create(
            conversation=conversation,
            parent=question,
            role="assistant",
            content=payload,
            model_name=payload,
            status=MessageStatus.COMPLETE,
        )
    failed = Message.objects.create(
        conversation=conversation, parent=parent, role="user", content="And now?", status=MessageStatus.ACCEPTED
    )
    failed = Message.objects.create(
        conversation=conversation,
        parent=failed,
        role="assistant",
        content="",
        error=PAYLOADS[1],
        status=MessageStatus.FAILED,
    )
    conversation.current_leaf = failed
    conversation.save()

    streamed = Conversation.objects.create(owner=user, title="streamed")
    question = Message.objects.create(
        conversation=streamed, role="user", content="Say it", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=streamed, parent=question, role="assistant", content="", status=MessageStatus.STREAMING
    )
    streamed.current_leaf = answer
    streamed.save()
    composed = Conversation.objects.create(owner=user, max_new_tokens=4)
    # Written an hour ago, so the sending rate limit leaves room for one more.
    Message.objects.filter(conversation__owner=user).update(created_at=F("created_at") - timedelta(hours=1))

    frames: list = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(frame)))

    probe.open("login page ?next=", f"/accounts/login/?next={quote(joined(separator=' '))}")
    probe.check()
    log_in(page, "alice", PASSWORD)

    probe.open("chat thread", f"/c/{conversation.pk}/")
    expect(page.get_by_test_id("message")).to_have_count(2 * len(PAYLOADS) + 2)
    expect(page.get_by_test_id("conversation-item")).to_have_count(len(PAYLOADS) + 2)
    probe.check(
        "chat: user messages", exact=("[data-role=user] [data-testid=message-content]", PAYLOADS + ["And now?"])
    )
    probe.check("chat: model names", shown_in="[data-role=assistant] .msg-stats")
    probe.check("chat: answers (Markdown)")
    probe.check("chat: error note", payloads=PAYLOADS[1:2], shown_in="[data-role=assistant]")
    probe.check("chat: titles in the sidebar", shown_in="#conv-list")
    probe.check("chat: title in the header", payloads=PAYLOADS[:1], exact=("#chat-title", PAYLOADS[:1]))
    assert page.title() == f"{PAYLOADS[0]} · Chatsite"

    # An answer streaming in, then its final Markdown.
    text = joined() + "\n\nend of stream"
    frames.clear()
    probe.open("chat: streaming answer", f"/c/{streamed.pk}/")
    _wait_for_frame(page, frames, "subscribed")
    delta = {"type": "chat.delta", "message_id": answer.pk, "offset": 0, "text": text}
    outside_the_page_loop(chat_events.send_now, streamed.pk, delta)
    shown = page.locator("[data-role=assistant] .stream-text")
    expect(shown).to_contain_text("end of stream")
    probe.check(shown_in="[data-role=assistant] .stream-text")
    probe.surface = "chat: streamed answer finished (Markdown)"
    answer.content, answer.status = text, MessageStatus.COMPLETE
    answer.save(update_fields=["content", "status"])
    outside_the_page_loop(chat_events.send_now, streamed.pk, chat_events.message_event(answer))
    expect(page.locator("[data-testid=message][data-role=assistant]")).to_have_attribute("data-status", "complete")
    expect(page.locator("[data-role=assistant] [data-testid=message-content]")).to_contain_text("end of stream")
    probe.check("chat: streamed answer finished (Markdown)")

    # Sent from the composer: the message and the title it gives come back
    # over the WebSocket.
    sent = joined(separator=" ")
    frames.clear()
    probe.open("chat: composer", f"/c/{composed.pk}/")
    _wait_for_frame(page, frames, "ready")
    page.get_by_test_id("composer").fill(sent)
    page.get_by_test_id("composer").press("Enter")
    expect(page.locator("[data-role=user] [data-testid=message-content]")).to_have_count(1)
    expect(page.locator("[data-testid=message][data-role=assistant]")).to_have_attribute(
        "data-status", "complete", timeout=30_000
    )
    probe.check(exact=("[data-role=user] [data-testid=message-content]", [sent]))
    title = _norm(sent)[:60]
    expect(page.locator("#chat-title")).to_have_text(title)
    probe.check("chat: title from the first message", payloads=[], shown_in="#conv-list")
    assert _norm(title) in _norm(page.locator("#conv-list").inner_text())


def test_formulas_and_diagrams_in_answers_run_nothing(page, probe, make_user):
    """Payloads inside formulas and Mermaid diagrams, which the browser
    typesets and draws after the sanitizer: KaTeX with trust off refuses
    \\href and friends, Mermaid runs strict in its sandboxed frame, and its
    pictures are images. Links and diagram nodes get clicked."""
    user = make_user(username="mathxss", password=PASSWORD)
    conversation = Conversation.objects.create(owner=user, title="Formulas")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Draw", status=MessageStatus.ACCEPTED
    )
    conversation.current_leaf = Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.COMPLETE,
        content=joined(RENDERED_PAYLOADS),
    )
    conversation.save()
    # What Mermaid's own code tries inside its frame and the frame's policy
    # refuses (an `<img onerror>` from a label, put in a document while it
    # lays the diagram out) is that defence working, in a sandbox with no
    # access to the page: kept apart from the page's errors.
    refused_in_frame = []
    page.on(
        "console",
        lambda message: (
            refused_in_frame.append(message.text)
            if "/static/vendor/mermaid/" in message.location.get("url", "")
            and "Content Security Policy" in message.text
            else None
        ),
    )
    log_in(page, "mathxss", PASSWORD)
    probe.open("chat: formulas and diagrams", f"/c/{conversation.pk}/")
    content = page.locator("[data-role=assistant] [data-testid=message-content]")
    expect(content.locator(".math[data-tex]")).to_have_count(5)
    expect(content.locator(".diagram-block.drawn")).to_have_count(4, timeout=20_000)
    for element in content.locator(".math, .diagram-image").all():
        element.click()
    page.evaluate(_SETTLE)
    for text in refused_in_frame:
        page.errors.remove(text)
    probe.check(payloads=RENDERED_PAYLOADS)


def test_search_results_show_every_payload_as_text(page, probe, make_user):
    """The sidebar's search results: each title with its match marked, and
    the snippet of the message that matched, built from the user's text."""
    user = make_user(username="alice", password=PASSWORD)
    for payload in PAYLOADS:
        conversation = Conversation.objects.create(owner=user, title=f"{payload} needle")
        Message.objects.create(
            conversation=conversation, role="user", content=f"needle {payload}", status=MessageStatus.ACCEPTED
        )
    results = conversation_list(user=user, query="needle")
    log_in(page, "alice", PASSWORD)
    probe.open("chat: search results", "/")
    page.get_by_test_id("search").fill("needle")
    expect(page.get_by_test_id("conversation-snippet")).to_have_count(len(PAYLOADS))
    expect(page.locator("#conv-list .conv-title mark")).to_have_count(len(PAYLOADS))
    probe.check(shown_in="#conv-list .conv-title")

    def joined(parts):
        return parts["before"] + parts["match"] + parts["after"]

    probe.check(exact=("[data-testid=conversation-snippet]", [joined(r["snippet"]) for r in results]))
    assert set(page.locator("#conv-list mark").all_inner_texts()) == {"needle"}


# --- labeling: annotator ----------------------------------------------------


def test_labeling_tasks_guidelines_and_preview(page, probe, make_user):
    """Prompts, candidate answers and guidelines on the ranking and
    demonstration pages, and the Markdown preview of an answer."""
    ranking_prompt = _prompt(_conversation_turns(PAYLOADS))
    candidates = [
        candidate_add(prompt=ranking_prompt, text=text, origin=Candidate.Origin.MODEL)
        for text in chunks(len(joined()) // 8 + 100, separator="\n\n")
    ]
    assert 2 <= len(candidates) <= 9
    task_create_ranking(prompt=ranking_prompt, candidates=candidates, required_annotations=1)
    task_create_demonstration(prompt=_prompt(_conversation_turns(PAYLOADS[::-1])), required_annotations=1)
    for kind in (Task.Kind.RANKING, Task.Kind.DEMONSTRATION):
        guidelines_update(kind=kind, text=joined(), updated_by=None)
    make_user(username="ann", password=PASSWORD, role="annotator")

    log_in(page, "ann", PASSWORD)
    probe.open("labeling: ranking task", "/labeling/ranking/next/")
    expect(page.get_by_test_id("lab-candidate")).to_have_count(len(candidates))
    probe.check("labeling: ranking prompt (Markdown)")
    probe.check("labeling: candidate answers (Markdown)")
    probe.check("labeling: ranking guidelines (Markdown)")

    probe.open("labeling: demonstration task", "/labeling/demonstration/next/")
    expect(page.get_by_test_id("lab-turn")).to_have_count(len(_conversation_turns(PAYLOADS[::-1])))
    probe.check("labeling: demonstration prompt (Markdown)")
    probe.check("labeling: demonstration guidelines (Markdown)")
    page.get_by_test_id("lab-answer").fill(joined() + "\n\nend of preview")
    expect(page.get_by_test_id("lab-preview")).to_contain_text("end of preview")
    probe.check("labeling: Markdown preview")


# --- moderation ---------------------------------------------------------------


def test_review_queue_shows_flagged_text_reasons_and_notes(page, probe, make_user):
    """Flagged text, the messages around it, users' report reasons,
    annotators' reasons, moderators' notes and classifier training errors."""
    owner = make_user(username="owner", password=PASSWORD)
    moderator = make_user(username="mod", password=PASSWORD, role="moderator")
    conversation = Conversation.objects.create(owner=owner, title="flagged")
    for payload in PAYLOADS:
        question = Message.objects.create(
            conversation=conversation, role="user", content=payload, status=MessageStatus.ACCEPTED
        )
        answer = Message.objects.create(
            conversation=conversation, parent=question, role="assistant", content=payload, status=MessageStatus.COMPLETE
        )
        review_item_create(message=answer, direction="output", text=payload, verdict=make_verdict(c.HATE))
        review_item_report(message=answer, reported_by=owner, reason=payload)
    prompt = _prompt([{"role": "user", "content": "Anything"}])
    for reason in chunks(150):
        candidate = candidate_add(prompt=prompt, text=reason, origin=Candidate.Origin.MODEL)
        review_item_from_annotators(candidate=candidate, reason=reason)

    # One item with all of it: its conversation, text, and a decision
    # history whose notes are the payloads.
    question = Message.objects.create(
        conversation=conversation, role="user", content=joined(), status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content=joined(), status=MessageStatus.MODERATED
    )
    detail = review_item_create(message=answer, direction="output", text=joined(), verdict=make_verdict(c.VIOLENCE))
    for n, payload in enumerate(PAYLOADS):
        review_item_decide(item=detail, reviewer=moderator, decision="confirm" if n % 2 else "overturn", note=payload)
    for error in chunks(290):
        ClassifierTraining.objects.create(requested_by=moderator, state=ClassifierTraining.State.FAILED, error=error)

    log_in(page, "mod", PASSWORD)
    pages = -(-(2 * len(PAYLOADS) + len(chunks(150)) + 1) // 50)
    for number in range(1, pages + 1):
        probe.open(f"moderation: review queue page {number}", f"/moderation/review/?status=all&page={number}")
        probe.check(payloads=[])  # counted by origin below
    probe.open("moderation: review queue, reports", "/moderation/review/?origin=report")
    probe.check("moderation: report reasons", shown_in="[data-testid=review-row] .context")
    probe.open("moderation: review queue, automatic", "/moderation/review/?origin=automatic")
    # The list renders the flagged text as sanitized Markdown, as the chat does; the item's
    # own page (below) shows it verbatim, character for character.
    probe.check("moderation: flagged text in the list (Markdown)")
    probe.open("moderation: review queue, annotators", "/moderation/review/?origin=annotation")
    probe.check("moderation: annotators' reasons", shown_in="[data-testid=review-annotators]")

    probe.open("moderation: review item", f"/moderation/review/{detail.pk}/")
    expect(page.get_by_test_id("review-history-row")).to_have_count(len(PAYLOADS))
    probe.check("moderation: flagged text in full", shown_in="[data-testid=flagged-text]")
    probe.check("moderation: conversation context", shown_in="[data-testid=review-context]")
    probe.check("moderation: moderators' notes", shown_in="[data-testid=review-history]")
    probe.check("moderation: latest note", payloads=PAYLOADS[-1:], shown_in="dl.facts")

    probe.open(
        "moderation: filters in the URL",
        f"/moderation/review/?layer={quote(joined(separator=' '))}&status={quote(PAYLOADS[0])}",
    )
    probe.check()
    probe.open("moderation: classifier trainings", "/moderation/classifier/")
    probe.check("moderation: training errors", shown_in="[data-testid=classifier-trainings]")


# --- admin pages: file names, keys, jobs, models, arena ----------------------


def test_admin_pages_show_names_logs_and_notes_as_text(page, probe, make_user, tiny_model_dir, tmp_path):
    """API key names, prompt import file names, the labeling admin pages,
    annotators' skip reasons (Django admin), a training job's page and its
    live log, model version names and notes, the arena leaderboard, trial
    questions and a live trial round; and every other page an admin opens,
    under the Content-Security-Policy."""
    admin = make_user(username="boss", password=PASSWORD, role="admin", is_staff=True, is_superuser=True)

    for payload in PAYLOADS:
        api_key_create(user=admin, name=payload)

    file_names = chunks(500)
    assert len(file_names) <= 10  # the import page lists the last ten
    for name in file_names:
        PromptImport.objects.create(
            format=PromptImport.Format.JSONL, file_name=name, counts={"items": 1}, created_by=admin
        )
    prompts = [_prompt([{"role": "user", "content": p}], source_ref=p) for p in PAYLOADS]
    for prompt, error in zip(prompts, chunks(300), strict=False):
        CandidateGeneration.objects.create(
            prompt=prompt,
            k=2,
            required_annotations=1,
            max_new_tokens=8,
            state=CandidateGeneration.State.FAILED,
            error=error,
            created_by=admin,
        )

    # Flagged by annotators: a ranked item none of whose answers is
    # acceptable, one answer flagged harmful.
    flagged_prompt = _prompt(_conversation_turns(PAYLOADS))
    answers = [candidate_add(prompt=flagged_prompt, text=t, origin=Candidate.Origin.MODEL) for t in chunks(230)[:9]]
    flagged_task = task_create_ranking(prompt=flagged_prompt, candidates=answers, required_annotations=1)
    Consensus.objects.create(
        task=flagged_task,
        method=Consensus.Method.BORDA,
        groups=[[a.pk for a in answers]],
        scores={},
        num_rankings=1,
        none_acceptable=True,
        flags={str(answers[0].pk): ["harmful"]},
    )
    DatasetSnapshot.objects.create(
        name="xss",
        version=1,
        kind=DatasetSnapshot.Kind.SFT,
        filters={"note": joined(separator=" ")},
        content_hash="0" * 64,
        item_count=0,
        path="snapshots/xss.jsonl",
        created_by=admin,
    )
    guidelines_update(kind=Task.Kind.RANKING, text=joined(), updated_by=admin)

    # Annotators' skip reasons, which admins read in the Django admin.
    annotator = make_user(username="ann", password=PASSWORD, role="annotator")
    for payload in PAYLOADS:
        task = task_create_demonstration(prompt=prompts[0], required_annotations=1)
        Assignment.objects.create(
            task=task,
            annotator=annotator,
            state=Assignment.State.SKIPPED,
            lease_expires_at=timezone.now() + timedelta(hours=1),
            finished_at=timezone.now(),
            skip_reason=payload,
        )

    # Model versions named by the payloads (the registry's own forms allow
    # slugs only; the pages must not rely on that).
    serving = ModelVersion.objects.create(
        name="tiny-serving", source="imported", path=str(tiny_model_dir), is_serving=True
    )
    versions = [
        ModelVersion.objects.create(
            name=payload,
            source="imported",
            path=str(tiny_model_dir),
            description=payload,
            base=serving,
            metadata={
                "lineage": {
                    "job": 1,
                    "recipe": payload,
                    "corpus": {"path": payload, "sha256": payload},
                    "snapshot": {"name": payload, "version": 1, "item_count": 1, "content_hash": payload},
                    "reward_version": {"name": payload},
                    "code_version": payload,
                    "config": {payload: payload},
                    "metrics": {payload: 1.0},
                }
            },
        )
        for payload in PAYLOADS
    ]

    # Training: a corpus path, an error and samples on the page; the log's
    # tail on load and new lines over the WebSocket.
    sampled = PAYLOADS[:12]  # the job page shows the last twelve samples
    job_dir = tmp_path / "job"
    (job_dir / "output").mkdir(parents=True)
    (job_dir / "output" / "samples.jsonl").write_text(
        "".join(
            json.dumps({"step": n, "prompt": p, "response": p, "reward": 0.5}) + "\n" for n, p in enumerate(sampled)
        )
    )
    job = TrainingJob.objects.create(
        kind="pretrain",
        state=TrainingJob.State.RUNNING,
        created_by=admin,
        corpus_path=chunks(500)[0],
        preset=PAYLOADS[0][:32],
        recipe=PAYLOADS[1],
        code_version=PAYLOADS[2],
        hyperparameters={"note": joined()},
        directory=str(job_dir),
        log_tail="\n".join(PAYLOADS),
        error=joined(),
        step=1,
        total_steps=10,
    )

    # Arena: decided matches between every version (the leaderboard names
    # them), and trials whose questions are the payloads.
    def match(kind, question_text, version_a, version_b, outcome=""):
        conversation = Conversation.objects.create(owner=admin, title="arena")
        question = Message.objects.create(
            conversation=conversation, role="user", content=question_text, status=MessageStatus.ACCEPTED
        )
        answers = [
            Message.objects.create(
                conversation=conversation,
                parent=question,
                role="assistant",
                content=question_text,
                status=MessageStatus.COMPLETE,
            )
            for _ in "ab"
        ]
        return ArenaMatch.objects.create(
            user=admin,
            kind=kind,
            conversation=conversation,
            question=question,
            answer_a=answers[0],
            answer_b=answers[1],
            version_a=version_a,
            version_b=version_b,
            outcome=outcome,
            decided_at=timezone.now() if outcome else None,
        )

    for a, b in zip(versions[::2], versions[1::2], strict=False):
        match(ArenaMatch.Kind.ARENA, "Which?", a, b, outcome="a")
    questions = PAYLOADS[-20:]  # the trial page lists the last twenty
    for question in questions:
        match(ArenaMatch.Kind.TRIAL, question, serving, versions[0], outcome="tie")
    # An hour ago, so the sending rate limit leaves room for one more.
    Message.objects.filter(conversation__owner=admin).update(created_at=F("created_at") - timedelta(hours=1))

    log_in(page, "boss", PASSWORD)

    probe.open("API keys", "/api-keys/")
    probe.check("API key names", shown_in="table.grid")

    probe.open("labeling admin: imports", "/labeling/admin/prompts/import/")
    probe.check("labeling admin: import file names", shown_in="[data-testid=lab-imports]")
    probe.open("labeling admin: prompt pool", f"/labeling/admin/prompts/?source={quote(joined(separator=' '))}")
    probe.check("labeling admin: prompt pool, source in the URL")
    probe.open("labeling admin: prompt pool", "/labeling/admin/prompts/")
    probe.check("labeling admin: prompts and their sources")
    probe.check("labeling admin: generation errors", shown_in="[data-testid=lab-generations]")
    probe.open("labeling admin: flagged", "/labeling/admin/flagged/")
    expect(page.get_by_test_id("lab-flagged-row")).to_have_count(1)
    probe.check(
        "labeling admin: flagged answers",
        payloads=[p for p in PAYLOADS if p in "".join(chunks(230)[:9])],
        shown_in="[data-testid=lab-flagged]",
    )
    probe.open("labeling admin: snapshots", "/labeling/admin/snapshots/")
    probe.check("labeling admin: snapshot filters", shown_in="[data-testid=lab-snapshots]")
    probe.open("labeling admin: guidelines", "/labeling/admin/guidelines/?kind=ranking")
    probe.check("labeling admin: guidelines and their preview (Markdown)")
    assert page.get_by_test_id("lab-guidelines-form").locator("textarea").input_value() == joined()
    probe.open("Django admin: skip reasons", "/admin/labeling/assignment/")
    probe.check("Django admin: skip reasons", shown_in="#result_list")

    probe.open("training: jobs", "/jobs/")
    in_corpus_path = [p for p in PAYLOADS if p in job.corpus_path]
    probe.check("training: corpus path", payloads=in_corpus_path, shown_in="[data-testid=jobs]")
    probe.open("training: job", f"/jobs/{job.pk}/")
    expect(page.locator("#job-page")).to_have_attribute("data-live", "true")
    probe.check("training: job log tail", shown_in="[data-testid=job-log]")
    probe.check("training: job error", shown_in="[data-testid=job-error]")
    probe.check("training: samples", payloads=sampled, shown_in="[data-testid=samples]")
    probe.check("training: hyper-parameters")
    probe.surface = "training: live log lines"
    job.error = PAYLOADS[-1]
    job.save(update_fields=["error"])
    outside_the_page_loop(job_events.send_now, job.pk, {"type": "job.log", "lines": [f"live {p}" for p in PAYLOADS]})
    outside_the_page_loop(job_events.send_now, job.pk, job_events.progress_event(job))
    expect(page.get_by_test_id("job-error")).to_have_text(PAYLOADS[-1])
    expect(page.get_by_test_id("job-log")).to_contain_text(f"live {PAYLOADS[-1]}")
    probe.check("training: live log lines", payloads=[f"live {p}" for p in PAYLOADS], shown_in="[data-testid=job-log]")
    probe.check("training: live job error", payloads=PAYLOADS[-1:], exact=("[data-testid=job-error]", PAYLOADS[-1:]))

    probe.open("models: versions", "/models/")
    probe.check("models: version names", shown_in="[data-testid=versions]")
    short = [p for p in PAYLOADS if len(p) <= 90]  # shown whole, not truncated
    probe.check("models: version notes", payloads=short, shown_in="[data-testid=versions]")
    probe.open("models: lineage", f"/models/{versions[3].pk}/lineage/")
    probe.check("models: lineage", payloads=PAYLOADS[3:4], shown_in="[data-testid=lineage]")
    probe.open("arena: leaderboard", "/arena/leaderboard/")
    probe.check("arena: version names", shown_in="[data-testid=leaderboard]")

    # The other pages an admin opens, for what they show of the above and
    # for the Content-Security-Policy: each must work under it.
    for surface, url, shown in [
        ("chat home", "/", []),
        ("settings", "/accounts/settings/", []),
        ("password change", "/accounts/password/", []),
        ("users", "/accounts/users/", []),
        ("training: new job (version choices)", "/jobs/new/", PAYLOADS),
        ("moderation: dashboard", "/moderation/dashboard/", []),
        ("arena", "/arena/", []),
        ("labeling: home", "/labeling/", []),
        ("labeling admin: annotators", "/labeling/admin/annotators/", []),
        ("Django admin", "/admin/", []),
        ("Django admin: prompts", "/admin/labeling/prompt/", PAYLOADS),
        ("Django admin: a prompt", f"/admin/labeling/prompt/{prompts[0].pk}/change/", PAYLOADS[:1]),
    ]:
        probe.open(surface, url)
        probe.check(payloads=shown)

    # A trial round: the question comes back over the arena WebSocket.
    probe.open("arena: trial", f"/arena/trial/?version={versions[0].pk}")
    shown = [q if len(q) <= 80 else q[:79] for q in questions]  # truncated at 80
    probe.check("arena: trial questions", payloads=shown, shown_in="table.grid")
    probe.check("arena: version choices", shown_in="[data-testid=trial-version] option")
    question = joined(separator=" ")
    page.get_by_test_id("arena-prompt").fill(question)
    page.get_by_test_id("arena-send").click()
    expect(page.get_by_test_id("arena-question")).to_be_visible()
    probe.check("arena: question", exact=("[data-testid=arena-question]", [question]))
    page.get_by_test_id("arena-stop").click()
    for side in "ab":
        expect(page.get_by_test_id(f"arena-answer-{side}")).to_have_attribute(
            "data-status", re.compile("stopped|complete|interrupted|moderated|failed"), timeout=30_000
        )
    probe.check("arena: answers", payloads=[])
