"""Every page each role reaches from the navigation, and the pages behind it
that run a script (a conversation, an arena round, a trial, a training job,
the review queue, a ranking and a demonstration task), opened in a real
browser against the live stack:

- each page's native ES module graph loads: every module that the entry
  module imports, followed through static/js/ here, was fetched, no
  /static/ request failed, and the entry module ran;
- nothing is logged to the console as an error, and the
  Content-Security-Policy (core/csp.py: scripts and styles only from
  /static/, no style attribute) refuses nothing: a `securitypolicyviolation`
  event is recorded from before the page's first script runs."""

import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus
from jobs.models import TrainingJob
from labeling.assignments import candidate_add, task_create_demonstration, task_create_ranking
from labeling.models import Candidate, Prompt
from labeling.text import messages_hash
from moderation import categories as c
from moderation.flags import review_item_create
from registry.models import ModelVersion

from ..moderation.factories import make_verdict
from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"

_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${where})`);
});
"""
_SETTLE = "() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 300)))"
_MODULES = "() => Array.from(document.querySelectorAll('script[type=module]'), (s) => s.src)"
_FETCHED = "() => performance.getEntriesByType('resource').map((e) => e.name)"
_IMPORT = re.compile(r"""^import\s[^'"]*?from\s+'([^']+)';""", re.M | re.S)

# What only a page's entry module puts there: proof that the graph ran.
_RAN = {
    "js/chat/main.js": "#conv-list > *",
    "js/arena.js": "#arena > .conn-banner",
    "js/jobs.js": "#job-page > .conn-banner, #job-form [data-field][hidden]",
    "js/review.js": "[data-testid=review-row].selected",
    "js/labeling/ranking.js": "[data-testid=lab-group]",
    "js/labeling/lease.js": "#lab-lease .lab-lease-left:not(:empty)",
}


def module_graph(entry: Path) -> set[Path]:
    """`entry` and every module it imports, directly or not."""
    graph, todo = set(), [entry.resolve()]
    while todo:
        module = todo.pop()
        if module in graph:
            continue
        graph.add(module)
        assert module.is_file(), f"{module} is imported but does not exist"
        todo += [(module.parent / spec).resolve() for spec in _IMPORT.findall(module.read_text())]
    return graph


def test_module_graph_follows_relative_imports():
    graph = {path.relative_to(STATIC_JS).as_posix() for path in module_graph(STATIC_JS / "chat" / "main.js")}
    assert {"chat/main.js", "chat/tree.js", "lib/dom.js", "lib/http.js", "lib/socket.js", "lib/stream.js"} <= graph
    assert "arena.js" not in graph


class PageWatch:
    """Opens pages in one browser tab and lists what went wrong on each."""

    def __init__(self, page):
        self.page = page
        self.failed: list[str] = []
        self.console: list[str] = []
        self.findings: list[str] = []
        self.seen_entries: set[str] = set()
        page.add_init_script(_RECORD_VIOLATIONS)
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 and "/static/" in r.url else None,
        )
        page.on("requestfailed", lambda r: self.failed.append(f"{r.failure} {r.url}") if "/static/" in r.url else None)
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)

    def visit(self, url: str) -> None:
        page = self.page
        response = page.goto(url)
        if response is None or not response.ok:
            self.findings.append(f"{url}: answered {response and response.status}")
            return
        page.evaluate(_SETTLE)
        fetched = {urlparse(name).path for name in page.evaluate(_FETCHED)}
        for src in page.evaluate(_MODULES):
            entry = urlparse(src).path.removeprefix("/static/")
            self.seen_entries.add(entry)
            for module in module_graph(STATIC_JS.parent / entry):
                path = "/static/" + module.relative_to(STATIC_JS.parent).as_posix()
                if path not in fetched:
                    self.findings.append(f"{url}: module {path} (from {entry}) was not loaded")
            if entry in _RAN and not page.locator(_RAN[entry]).count():
                self.findings.append(f"{url}: {entry} did not run ({_RAN[entry]} is missing)")
        for violation in page.evaluate("() => window.__cspViolations"):
            self.findings.append(f"{url}: CSP violation: {violation}")
        for errors, kind in (
            (self.failed, "static request"),
            (self.console, "console error"),
            (page.errors, "page error"),
        ):
            self.findings.extend(f"{url}: {kind}: {error}" for error in errors)
            errors.clear()

    def navigation(self) -> list[str]:
        """The same-origin pages linked from the top and section navigation."""
        hrefs = self.page.eval_on_selector_all(".topnav a, .subnav a", "(links) => links.map((a) => a.href)")
        return [urlparse(href).path for href in hrefs if urlparse(href).netloc == urlparse(self.page.url).netloc]

    def crawl(self, start: list[str]) -> list[str]:
        """Visits `start` and every page their navigation links to."""
        todo, done = list(start), []
        while todo:
            url = todo.pop(0)
            # Django's own admin is not ours (test_xss.py opens it under the policy).
            if url in done or url.startswith("/admin/"):
                continue
            done.append(url)
            self.visit(url)
            todo += [link for link in self.navigation() if link not in done]
        return done


@pytest.fixture
def site(make_user, tiny_model_dir):
    """One user per role and something for every scripted page to show."""
    users = {
        role: make_user(username=role, password=PASSWORD, role=role, arena_enabled=True)
        for role in ("user", "annotator", "moderator", "admin")
    }
    ModelVersion.objects.create(name="tiny-a", source="imported", path=str(tiny_model_dir), is_serving=True)
    candidate = ModelVersion.objects.create(
        name="tiny-b", source="imported", path=str(tiny_model_dir), arena_enabled=True
    )

    conversation = Conversation.objects.create(owner=users["user"], title="Tables")
    question = Message.objects.create(
        conversation=conversation, role="user", content="A table, please.", status=MessageStatus.ACCEPTED
    )
    # An aligned Markdown table: its alignment must not need a style attribute.
    Message.objects.create(
        conversation=conversation,
        parent=question,
        role="assistant",
        status=MessageStatus.COMPLETE,
        content="| left | centre | right |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
    )
    flagged = Conversation.objects.create(owner=users["user"], title="Flagged")
    flagged_question = Message.objects.create(
        conversation=flagged, role="user", content="Something bad", status=MessageStatus.ACCEPTED
    )
    flagged_answer = Message.objects.create(
        conversation=flagged,
        parent=flagged_question,
        role="assistant",
        content="(template)",
        status=MessageStatus.MODERATED,
    )
    review_item_create(message=flagged_answer, direction="output", text="flagged text", verdict=make_verdict(c.HATE))

    prompts = []
    for question in ("Name a planet.", "Name a star."):
        messages = [{"role": "user", "content": question}]
        prompts.append(
            Prompt.objects.create(messages=messages, source=Prompt.Source.IMPORT, content_hash=messages_hash(messages))
        )
    candidates = [
        candidate_add(prompt=prompts[0], text=text, origin=Candidate.Origin.MODEL) for text in ("Mars.", "Venus.")
    ]
    task_create_ranking(prompt=prompts[0], candidates=candidates, required_annotations=1)
    task_create_demonstration(prompt=prompts[1], required_annotations=1)

    job = TrainingJob.objects.create(
        kind="pretrain",
        state=TrainingJob.State.RUNNING,
        created_by=users["admin"],
        corpus_path="corpus.txt",
        preset="tiny",
        recipe="pretrain",
        hyperparameters={},
        log_tail="step 1",
        step=1,
        total_steps=10,
    )
    return {
        "user": ["/", f"/c/{conversation.pk}/", "/arena/"],
        "annotator": ["/", "/labeling/ranking/next/", "/labeling/demonstration/next/"],
        "moderator": ["/"],
        "admin": ["/", "/jobs/new/", f"/jobs/{job.pk}/", f"/arena/trial/?version={candidate.pk}"],
    }


@pytest.mark.parametrize("role", ["user", "annotator", "moderator", "admin"])
def test_every_page_loads_its_modules_and_breaks_no_policy(page, site, role):
    watch = PageWatch(page)
    log_in(page, role, PASSWORD)
    visited = watch.crawl(site[role])
    assert not watch.findings, f"{len(watch.findings)} findings on {len(visited)} pages:\n" + "\n".join(watch.findings)
    expected = {
        "user": {"js/chat/main.js", "js/arena.js"},
        "annotator": {"js/labeling/ranking.js", "js/labeling/lease.js", "js/labeling/demonstration.js"},
        "moderator": {"js/review.js"},
        "admin": {"js/jobs.js", "js/arena.js", "js/review.js"},
    }[role]
    assert expected <= watch.seen_entries, f"pages with modules not reached: {expected - watch.seen_entries}"


def test_an_aligned_markdown_table_keeps_its_alignment(page, site):
    log_in(page, "user", PASSWORD)
    page.goto(urljoin(page.url, site["user"][1]))
    cells = page.locator(".md td")
    expect(cells).to_have_count(3)
    aligns = [cell.evaluate("(el) => getComputedStyle(el).textAlign") for cell in cells.all()]
    assert aligns == ["left", "center", "right"]
    assert page.errors == []
