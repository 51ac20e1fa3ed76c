from django.urls import path

from core.telemetry.middleware import WebsocketMetricsMiddleware

from .consumers import ArenaConsumer

websocket_urlpatterns = [path("ws/arena/", WebsocketMetricsMiddleware(ArenaConsumer.as_asgi(), route="arena"))]
