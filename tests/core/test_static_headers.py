"""The diagram frame's own policy (core/static_headers.py): inline styles
for Mermaid there, and nothing else that the pages' policy refuses; every
other static file keeps the pages' policy."""

import pytest


@pytest.mark.django_db
def test_the_diagram_frame_alone_allows_inline_styles(client):
    frame = client.get("/static/diagram-frame.html")
    assert frame.status_code == 200
    policy = frame["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy

    script = client.get("/static/js/diagrams/frame.js")
    assert script.status_code == 200
    assert "unsafe-inline" not in script["Content-Security-Policy"]


@pytest.mark.django_db
def test_katex_and_mermaid_are_served_from_the_npm_packages(client):
    for path in (
        "/static/vendor/katex/katex.mjs",
        "/static/vendor/katex/katex.min.css",
        "/static/vendor/mermaid/mermaid.esm.min.mjs",
    ):
        assert client.get(path).status_code == 200, path
