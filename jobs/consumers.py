"""The job page's WebSocket: /ws/jobs/<id>/. Admins and the job's owner
only; others are closed with 4403 (4401 when not signed in). On connect the
page gets the job as it is now (progress, every metric point, the log's
tail), then relays what the worker sends: progress, log lines, points.
Like every signed-in socket it counts against the account's cap, its
frames against the rate, and it closes when the account's rights change
(core/user_sockets.py)."""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.db import database_sync_to_async
from core.user_sockets import UserSockets
from core.websockets import ClosesOnLayerFault, DispatchesOffTheSharedThread

from .access import access_job_by_id
from .events import job_group
from .selectors import job_metric_points
from .serializers import job_to_dict


@database_sync_to_async
def _job_snapshot(user, job_id):
    job = access_job_by_id(user, job_id)
    return {"type": "snapshot", "job": job_to_dict(job), "points": job_metric_points(job=job), "log": job.log_tail}


class JobConsumer(ClosesOnLayerFault, UserSockets, DispatchesOffTheSharedThread, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = None
        # Accept, then close with a code the page can read (a refused
        # handshake reaches the browser only as 1006).
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        try:
            snapshot = await _job_snapshot(user, self.scope["url_route"]["kwargs"]["job_id"])
        except (PermissionDenied, Http404):
            await self.close(code=4403)
            return
        if not await self.admit(user):
            return
        self.group = job_group(snapshot["job"]["id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(snapshot)

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """The page only pings; any other frame, JSON or not, is answered
        with an error frame rather than dropping the socket."""
        if not await self.frame_allowed():
            return
        try:
            content = json.loads(text_data) if text_data is not None else None
        except (ValueError, RecursionError):
            content = None
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "code": "invalid_request", "message": "This socket only takes pings."}
            )

    def rejoin_groups(self) -> list[str]:
        return super().rejoin_groups() + ([self.group] if self.group else [])

    async def job_progress(self, event):
        await self.send_json({"type": "progress", "job": event["job"]})

    async def job_log(self, event):
        await self.send_json({"type": "log", "lines": event["lines"]})

    async def job_metrics(self, event):
        await self.send_json({"type": "metrics", "points": event["points"]})
