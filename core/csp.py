"""A Content-Security-Policy on every page Django answers, as defence in
depth behind escaping and sanitizing (tests/browser/test_xss.py): a script
that slipped into a page still would not run, and a link or form could not
lead to a `javascript:` URL.

What the pages need: scripts only from /static/, native ES modules
included (none inline, no inline `on*=` handlers; `json_script` blocks are
data and never run); styles only from /static/ too: no `<style>` blocks
and no `style=` attributes (bar charts are SVG sized by attributes, a
Markdown table's alignment is a class), while scripts may still set
`element.style`, which the policy allows; the favicon's `data:` URL;
fetches and the WebSockets of the same host. Django 6's own CSP support
would replace this.
"""

from django.core.exceptions import DisallowedHost

_POLICY = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "connect-src 'self'{sockets}; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'{form_targets}; "
    "frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """Sets the header unless the view set its own. Older browsers do not
    count ws: and wss: as 'self', hence the host named again (validated by
    ALLOWED_HOSTS in get_host)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            try:
                host = request.get_host()
                sockets = f" ws://{host} wss://{host}"
            except DisallowedHost:  # already answered 400
                sockets = ""
            # A page whose forms lead elsewhere (single sign-on's redirect to
            # a provider) names those origins on the response.
            form_targets = "".join(f" {origin}" for origin in getattr(response, "csp_form_targets", ()))
            response["Content-Security-Policy"] = _POLICY.format(sockets=sockets, form_targets=form_targets)
        return response
