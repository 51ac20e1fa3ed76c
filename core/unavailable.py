"""The server error handler (handler500): a database or Redis that is down
or refusing connections is a 503 that says which and when to try again, as
JSON for the APIs and a page for people, never a traceback. Any other
failure is Django's plain 500 page.

Redis is on the request path wherever the cache is (allauth's rate limits on
sign-up, sign-in and password resets) and wherever a task is queued, so its
outage reads like the database's."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

UNAVAILABLE_MESSAGE = "The service is briefly unavailable (its database cannot be reached). Try again in a few seconds."
REDIS_UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable (its cache and task queue cannot be reached). Try again in a few seconds."
)
RETRY_AFTER_SECONDS = 5


def unavailable_message(error: BaseException | None) -> str | None:
    """What to tell a client whose request `error` ended, when it is an
    outage of a service the app depends on; None for any other failure."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return UNAVAILABLE_MESSAGE
    if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
        return REDIS_UNAVAILABLE_MESSAGE
    return None


@requires_csrf_token
def server_error_view(request, template_name="500.html"):
    message = unavailable_message(sys.exc_info()[1])
    if message is None:
        return server_error(request, template_name)
    if request.path.startswith(("/api/", "/arena/api/", "/v1/")):
        response = JsonResponse({"error": message, "code": "unavailable"}, status=503)
    else:
        # No base template and no request context: the context processors
        # (the top bar's links) would look up the user, in the database that is down.
        page = render_to_string("unavailable.html", {"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
