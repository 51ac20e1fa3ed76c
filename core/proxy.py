"""The real client behind the load balancer.

HAProxy (or nginx, or a Kubernetes ingress) connects to the web processes
itself, so the peer address is the balancer's: the sign-in throttle would
count every client's failures as one address's, and logs would name the
balancer. It says who the client was in X-Forwarded-For, and whether it came
over HTTPS in X-Forwarded-Proto; anybody can send those headers, so they are
believed only from the addresses in TRUSTED_PROXIES. uvicorn's own
middleware does the parsing (the right-most untrusted hop is the client);
here it wraps the whole ASGI application, HTTP and WebSockets alike, under
any ASGI server, configured from settings rather than a server flag.
"""

from django.conf import settings
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def behind_trusted_proxies(app):
    """`app` that sees the forwarded client and scheme from TRUSTED_PROXIES;
    `app` itself when there are none."""
    trusted = settings.TRUSTED_PROXIES
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted) if trusted else app
