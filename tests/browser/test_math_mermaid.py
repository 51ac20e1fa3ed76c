"""Formulas and Mermaid diagrams in answers (core/markdown.py marks them,
static/js/lib/math.js and diagrams.js draw them): KaTeX typesets in place
under the pages' Content-Security-Policy (a refused style is a page error,
tests/browser/conftest.py), a diagram comes back from its sandboxed frame
as a styled picture, and one Mermaid cannot read keeps its code on show."""

import base64
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from chat.models import Conversation, Message, MessageStatus

from .conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.integration]

PASSWORD = "a-Strong-pass-123"

ANSWER = r"""Euler: $e^{i\pi} + 1 = 0$, and it costs $5 and $10.

$$
\int_0^1 x^2\,dx = \frac{1}{3}
$$

```mermaid
graph TD
  A[Question] --> B{Sure?}
  B -->|Yes| C[Answer]
```

```mermaid
graph TD
  this is -- not --> (((a diagram
```
"""


def _conversation(owner, text):
    conversation = Conversation.objects.create(owner=owner, title="Maths")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Show me", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content=text, status=MessageStatus.COMPLETE
    )
    conversation.current_leaf = answer
    conversation.save()
    return conversation


def _svg_of(image) -> str:
    src = image.get_attribute("src")
    assert src.startswith("data:image/svg+xml")
    head, _, data = src.partition(",")
    return base64.b64decode(data).decode() if head.endswith(";base64") else unquote(data)


def test_formulas_and_diagrams_render_under_the_policy(page, make_user):
    user = make_user(username="ada", password=PASSWORD)
    conversation = _conversation(user, ANSWER)
    log_in(page, "ada", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    content = page.locator("[data-testid=message][data-role=assistant] [data-testid=message-content]")

    inline = content.locator(".math-inline")
    expect(inline).to_have_count(1)
    expect(inline.locator(".katex-html")).to_be_visible()
    expect(inline.locator("math")).to_have_count(1)  # MathML beside it, for screen readers
    assert inline.get_attribute("data-tex") == r"e^{i\pi} + 1 = 0"
    expect(content.locator(".math-display .katex-display")).to_be_visible()
    expect(content.locator("p").first).to_contain_text("it costs $5 and $10.")
    # KaTeX's stylesheet applied: the fraction is laid out, not a line of text.
    assert content.locator(".math-display .mfrac").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('.katex')).fontFamily").startswith("KaTeX_Main")

    diagram = content.get_by_test_id("diagram").first
    image = diagram.locator("img.diagram-image")
    expect(image).to_be_visible(timeout=20_000)
    page.wait_for_function("() => document.querySelector('img.diagram-image').naturalWidth > 0")
    svg = _svg_of(image)
    assert "<style>" in svg and "Question" in svg  # styled by Mermaid's own sheet, inside the picture
    expect(diagram.locator("..").locator("pre")).to_be_hidden()
    diagram.locator("..").get_by_test_id("diagram-toggle").click()
    expect(diagram.locator("..").locator("pre")).to_be_visible()
    expect(diagram).to_be_hidden()

    broken = content.locator(".diagram-block").nth(1)
    expect(broken.get_by_test_id("diagram-error")).to_contain_text("could not be drawn")
    expect(broken.locator("pre")).to_be_visible()
    expect(broken.locator("pre")).to_contain_text("(((a diagram")
    assert page.errors == []


def test_a_diagram_is_drawn_again_in_the_dark_theme(page, make_user):
    user = make_user(username="grace", password=PASSWORD)
    conversation = _conversation(user, "```mermaid\ngraph LR\n  A --> B\n```")
    page.add_init_script("if (window === window.top) localStorage.setItem('chatsite-theme', 'light')")
    log_in(page, "grace", PASSWORD)
    page.goto(f"/c/{conversation.pk}/")
    image = page.locator("img.diagram-image")
    expect(image).to_be_visible(timeout=20_000)
    light = image.get_attribute("src")
    page.get_by_test_id("theme-toggle").click()  # Light -> Dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.wait_for_function("(before) => document.querySelector('img.diagram-image').src !== before", arg=light)
    assert _svg_of(image) != unquote(light.partition(",")[2])
    assert page.errors == []
