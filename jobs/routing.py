from django.urls import path

from core.telemetry.middleware import WebsocketMetricsMiddleware

from .consumers import JobConsumer

websocket_urlpatterns = [path("ws/jobs/<int:job_id>/", WebsocketMetricsMiddleware(JobConsumer.as_asgi(), route="jobs"))]
