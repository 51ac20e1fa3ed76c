"""core.markdown's formulas and Mermaid fences: TeX and diagram source stay
text, escaped and sanitized, in the marked elements the browser draws from
(static/js/lib/math.js, diagrams.js); prices stay prices."""

import pytest

from core.markdown import render_markdown


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Euler: $e^{i\\pi}+1=0$.", '<p>Euler: <span class="math math-inline">e^{i\\pi}+1=0</span>.</p>'),
        ("$x$ is 5", '<p><span class="math math-inline">x</span> is 5</p>'),
        ("so \\(a<b\\) holds", '<p>so <span class="math math-inline">a&lt;b</span> holds</p>'),
        ("$$x^2$$ inline", '<p><span class="math math-display">x^2</span> inline</p>'),
        ("$$\n\\int_0^1 f\n$$", '<div class="math math-display">\\int_0^1 f</div>'),
        ("\\[\n\\frac{1}{2}\n\\]", '<div class="math math-display">\\frac{1}{2}</div>'),
    ],
)
def test_formulas_are_marked_source(text, html):
    assert render_markdown(text).strip() == html


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10.",
        "from $5 to $10",
        "between $ 5 and 6 $",
        "an escaped \\$x$ is not one",
        "`$x$` in code",
    ],
)
def test_prices_and_escapes_are_not_formulas(text):
    assert "math" not in render_markdown(text)


def test_formula_source_cannot_break_out_of_its_element():
    html = render_markdown("$</span><script>alert(1)</script>$ and $$<img src=x onerror=alert(2)>$$")
    assert "<script" not in html and "<img" not in html
    assert '<span class="math math-inline">&lt;/span&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>' in html


def test_a_mermaid_fence_is_a_marked_code_block():
    html = render_markdown("```mermaid\ngraph TD\n  A[<img src=x onerror=alert(1)>] --> B\n```")
    assert html.startswith('<pre><code class="language-mermaid">graph TD\n')
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html


def test_only_the_math_classes_survive_on_a_div():
    # The sanitizer keeps a div's class only when it is one of the math marks.
    assert render_markdown("$$\nx\n$$") == '<div class="math math-display">x</div>\n'
    assert "<div" not in render_markdown("<div class='evil'>x</div>")
