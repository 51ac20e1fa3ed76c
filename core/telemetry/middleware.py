"""Counting traffic where it enters: Django's middleware for HTTP requests,
an ASGI wrapper for each WebSocket route."""

import time

from .instruments import WEBSOCKET_CONNECTIONS, http_request_record


class RequestMetricsMiddleware:
    """Counts and times each request Django answers, by the URL name of its
    view (a bounded label, unlike the path). Placed after WhiteNoise, so
    static files are not counted; /metrics itself is not counted either."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view = request.resolver_match.view_name if request.resolver_match else "unmatched"
        if view != "metrics":
            http_request_record(
                method=request.method, view=view, status=response.status_code, seconds=time.perf_counter() - started
            )
        return response


class WebsocketMetricsMiddleware:
    """Wraps one WebSocket route's consumer: a socket counts as open from
    its accepted handshake until the consumer ends, however it ends (the
    browser leaving, a close, a crash), so the count cannot drift."""

    def __init__(self, app, *, route: str):
        self.app = app
        self.route = route

    async def __call__(self, scope, receive, send):
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKET_CONNECTIONS.opened(route=self.route)
            await send(message)

        try:
            return await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                WEBSOCKET_CONNECTIONS.closed(route=self.route)
