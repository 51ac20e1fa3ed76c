"""Strings that run a script if a page renders them as HTML (or as a URL,
a style, a template) instead of as text. Each one that runs calls
`__xssHit('Pnn')`, which the browser tests expose to the page, or opens a
dialog (`alert`), which the tests also catch; `top.` reaches the page from
inside a frame. Each is at most 100 characters, so it fits the shortest
field it is stored in (an API key's name)."""

HIT = "__xssHit"

PAYLOADS = [
    # Plain tags and handlers.
    "<script>__xssHit('P01')</script>",
    "<img src=x onerror=\"__xssHit('P02')\">",
    "<svg onload=\"__xssHit('P03')\">",
    "<svg><script>__xssHit('P04')</script></svg>",
    "<ScRiPt>__xssHit('P05')</sCrIpT>",
    "<<script>script>__xssHit('P06')<</script>/script>",
    "<details open ontoggle=\"__xssHit('P07')\">",
    "<input autofocus onfocus=\"__xssHit('P08')\">",
    "<body onload=\"__xssHit('P09')\">",
    "<svg/onload=alert('P10')>",
    # Breaking out of the context the text lands in.
    "\"><img src=x onerror=__xssHit('P11')>",
    "'><script>__xssHit('P12')</script>",
    "</textarea><script>__xssHit('P13')</script>",
    "</script><script>__xssHit('P14')</script>",
    "</title><script>__xssHit('P15')</script>",
    "--><script>__xssHit('P16')</script><!--",
    "]]><script>__xssHit('P17')</script>",
    "</pre><img src=x onerror=__xssHit('P18')>",
    # Links and URLs.
    "[click](javascript:__xssHit('P19'))",
    "[click](JaVaScRiPt:__xssHit('P20'))",
    "[click](&#106;avascript:__xssHit('P21'))",
    "<javascript:__xssHit('P22')>",
    "[x][p23]\n\n[p23]: javascript:__xssHit('P23')",
    "<a href=\"javascript:__xssHit('P24')\">link</a>",
    "<a href=\"jav&#x09;ascript:__xssHit('P25')\">tab</a>",
    "<a href=\"data:text/html,<script>top.__xssHit('P26')</script>\">d</a>",
    "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgnUDI3Jyk8L3NjcmlwdD4=)",
    "javascript:__xssHit('P28')",
    # Markdown images.
    "![x](x\" onerror=\"__xssHit('P29'))",
    "![x](javascript:__xssHit('P30'))",
    # Frames, objects and document-level tags.
    "<iframe srcdoc=\"<script>top.__xssHit('P31')</script>\"></iframe>",
    "<object data=\"javascript:__xssHit('P32')\"></object>",
    "<embed src=\"data:text/html,<script>top.__xssHit('P33')</script>\">",
    '<meta http-equiv="refresh" content="0;url=javascript:__xssHit(\'P34\')">',
    "<base href=\"javascript:__xssHit('P35')//\">",
    "<form><button formaction=\"javascript:__xssHit('P36')\">go</button></form>",
    # Styles.
    "<div style=\"width:expression(__xssHit('P37'))\">css</div>",
    "<style>@import 'javascript:__xssHit(\"P38\")';</style>",
    # Mutation XSS (parser differentials between a sanitizer and the browser).
    "<math><mtext><table><mglyph><style><img src=x onerror=__xssHit('P39')>",
    "<noscript><p title=\"</noscript><img src=x onerror=__xssHit('P40')>\">",
    # Template syntaxes, in case a string reaches a template engine.
    "${__xssHit('P41')}",
    "{{constructor.constructor('__xssHit(\"P42\")')()}}",
    "{{ 7*7 }}{% now 'Y' %}<%= 'P43' %>",
    # Encodings and Unicode.
    "&lt;script&gt;__xssHit('P44')&lt;/script&gt;",
    "\\u003cscript\\u003e__xssHit('P45')\\u003c/script\\u003e",
    "\uff1cscript\uff1e__xssHit('P46')\uff1c/script\uff1e",
    "<scr\u200bipt>__xssHit('P47')</scr\u200bipt>",
    "\u202e>tpircs/<)'P48'(tiHssx__>tpircs<",
]

assert len(PAYLOADS) == len(set(PAYLOADS)) and all(len(p) <= 100 for p in PAYLOADS)

# Inside formulas (KaTeX, static/js/lib/math.js) and Mermaid diagrams
# (static/js/lib/diagrams.js): Markdown that the browser turns into markup
# after the sanitizer has passed it. Each is one Markdown block.
RENDERED_PAYLOADS = [
    "$\\href{javascript:__xssHit('M01')}{click}$",
    "$$\\url{javascript:__xssHit('M02')}$$",
    "\\(\\htmlData{onclick=__xssHit('M03')}{x}\\)",
    "\\[\\includegraphics{javascript:__xssHit('M04')}\\]",
    "$\\text{<img src=x onerror=__xssHit('M05')>}$",
    "```mermaid\ngraph TD\n  A[\"<img src=x onerror=__xssHit('M06')>\"] --> B\n```",
    "```mermaid\ngraph TD\n  A --> B\n  click A call __xssHit('M07')\n"
    "  click B href \"javascript:__xssHit('M08')\"\n```",
    "```mermaid\nsequenceDiagram\n  A->>B: <script>__xssHit('M09')</script>\n```",
    "```mermaid\n%%{init: {'securityLevel': 'loose'}}%%\ngraph TD\n"
    "  A[\"<a href=javascript:__xssHit('M10')>x</a>\"]\n```",
]


def joined(payloads=PAYLOADS, separator: str = "\n\n") -> str:
    """Every payload in one text, each its own Markdown block."""
    return separator.join(payloads)


def chunks(limit: int, payloads=PAYLOADS, separator: str = " ") -> list[str]:
    """The payloads packed, in order, into texts of at most `limit`
    characters, for fields too short for all of them or lists that show only
    the last few rows."""
    out, current = [], ""
    for payload in payloads:
        candidate = f"{current}{separator}{payload}" if current else payload
        if len(candidate) > limit:
            out.append(current)
            candidate = payload
        current = candidate
    out.append(current)
    return out
