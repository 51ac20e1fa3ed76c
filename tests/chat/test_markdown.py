from html.parser import HTMLParser

import pytest

from core.markdown import render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "![x](javascript:alert(1))",
    "```html\n<script>alert(1)</script>\n```",
    "<details open ontoggle=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<style>body{display:none}</style>",
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No element that runs code, no event handler, no script URL."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "img", "svg", "iframe", "style", "details", "object", "embed", "form"}, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            if name in attrs:
                assert attrs[name].split(":")[0].lower() in {"http", "https", "mailto"}, attrs[name]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_render_inert(payload):
    assert_inert(render_markdown(payload))


def test_markdown_features_survive_sanitizing():
    html = render_markdown(
        "# Title\n\n* one\n* two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('hi')\n```\n\n[site](https://example.org)"
    )
    assert "<h1>Title</h1>" in html
    assert "<li>one</li>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert '<code class="language-python">' in html and '<span class="nb">print</span>' in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_single_line_breaks_stay_as_lines():
    """A poem's lines stand as the model wrote them; a blank line still
    makes a paragraph, and a break in code stays a newline."""
    html = render_markdown("Roses are red,\nViolets are blue.\n\nNext verse\n\n```\na\nb\n```")
    assert "<p>Roses are red,<br>\nViolets are blue.</p>" in html and "<p>Next verse</p>" in html
    assert "<pre><code>a\nb\n</code></pre>" in html
