"""Request ids: echoed on HTTP, and carried from the WebSocket frame that
sent a chat message through the moderation worker and the generation
worker, into each log line."""

import json
import logging
import re

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from core import request_ids

from ..helpers.sockets import connect, final_message, receive_until, send_message


@pytest.mark.django_db
def test_http_keeps_a_safe_client_id_and_replaces_an_unsafe_one():
    client = Client()
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-42.a_b").headers["X-Request-ID"] == "lb-42.a_b"
    replaced = client.get("/accounts/login/", HTTP_X_REQUEST_ID="bad id\n[forged]").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", replaced)


def test_log_lines_carry_the_bound_id_in_plain_and_json():
    record = logging.LogRecord("chat", logging.INFO, __file__, 1, "Answer %s complete", (7,), None)
    token = request_ids.bind("ws-0123")
    try:
        request_ids.RequestIdFilter().filter(record)
    finally:
        request_ids.reset(token)
    assert request_ids.current() == "-"
    entry = json.loads(request_ids.JsonFormatter().format(record))
    assert entry["request_id"] == "ws-0123" and entry["message"] == "Answer 7 complete" and entry["level"] == "INFO"


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
async def test_a_frames_id_follows_the_message_through_both_workers(celery_worker, user):
    communicator, _, _ = await connect(user)
    sent = await send_message(communicator, "Hello", settings={"max_new_tokens": 8})
    await receive_until(communicator, final_message(sent["answer"]["id"]))
    await communicator.disconnect()

    log = await database_sync_to_async(celery_worker.output)()
    moderated = re.search(
        rf"\[(ws-[0-9a-f]{{16}})\]: Message {sent['user_message']['id']} accepted by input moderation", log
    )
    assert moderated, "the moderation worker logs the frame's id"
    answered = re.search(rf"\[([^\]]+)\]: Answer {sent['answer']['id']} complete", log)
    assert answered and answered.group(1) == moderated.group(1), "the generation task carries the same id"
