"""Headers for static files of their own (settings.WHITENOISE_ADD_HEADERS_FUNCTION).

static/diagram-frame.html is where Mermaid lays diagrams out
(static/js/diagrams/frame.js): Mermaid writes `style` attributes and a
<style> element as it draws, which the pages' policy (core.csp) refuses. So
this one document gets a policy that allows inline styles and nothing else
beyond its own scripts: no fetches, no frames, no forms, images only as
data: URLs, framed by this site only. The page loads it sandboxed (opaque
origin), so even a flaw in Mermaid cannot reach the reader's session.
"""

DIAGRAM_FRAME = "diagram-frame.html"

_DIAGRAM_FRAME_POLICY = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'unsafe-inline'; "
    "img-src data:; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'self'"
)


def add_headers(headers, path: str, url: str) -> None:
    if url.endswith("/" + DIAGRAM_FRAME):
        headers["Content-Security-Policy"] = _DIAGRAM_FRAME_POLICY
