"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from arena.routing import websocket_urlpatterns as arena_websocket_urlpatterns  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from core.proxy import behind_trusted_proxies  # noqa: E402
from core.websockets import DatabaseUnavailableGuard  # noqa: E402
from jobs.routing import websocket_urlpatterns as job_websocket_urlpatterns  # noqa: E402

application = behind_trusted_proxies(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                DatabaseUnavailableGuard(
                    AuthMiddlewareStack(
                        URLRouter(websocket_urlpatterns + arena_websocket_urlpatterns + job_websocket_urlpatterns)
                    )
                )
            ),
        }
    )
)
