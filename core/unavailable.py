"""The server error handler (handler500): a database that is down or
refusing connections is a 503 that says so and when to try again, as JSON
for the APIs and a page for people, never a traceback. Any other failure is
Django's plain 500 page."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import server_error

UNAVAILABLE_MESSAGE = "The service is briefly unavailable (its database cannot be reached). Try again in a few seconds."
RETRY_AFTER_SECONDS = 5


@requires_csrf_token
def server_error_view(request, template_name="500.html"):
    error = sys.exc_info()[1]
    if not isinstance(error, (OperationalError, InterfaceError)):
        return server_error(request, template_name)
    if request.path.startswith(("/api/", "/arena/api/", "/v1/")):
        response = JsonResponse({"error": UNAVAILABLE_MESSAGE, "code": "unavailable"}, status=503)
    else:
        # No base template and no request context: the context processors
        # (the top bar's links) would look up the user, in the database that is down.
        page = render_to_string("unavailable.html", {"message": UNAVAILABLE_MESSAGE})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
