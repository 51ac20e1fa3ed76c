"""/metrics, in Prometheus's text format."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .access import bearer_token, can_read_metrics
from .collectors import exposition


@require_GET
def metrics_view(request):
    if not can_read_metrics(request):
        if bearer_token(request) is None and not request.user.is_authenticated:
            response = HttpResponse(
                "Send the metrics token, or sign in as an admin.\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        raise PermissionDenied
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
