from django.urls import path

from core.telemetry.middleware import WebsocketMetricsMiddleware

from .consumers import ChatConsumer

websocket_urlpatterns = [path("ws/chat/", WebsocketMetricsMiddleware(ChatConsumer.as_asgi(), route="chat"))]
