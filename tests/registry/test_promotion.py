"""Promotion switches the model that answers chat without a restart, and an
answer being written when it happens finishes on the model it started with.

A generation worker of its own, on a queue of its own and without
CHAT_MODEL (the shared test worker answers with the tiny model the setting
names), so it answers with the registry's serving version as production
does; answers are sent to it directly, past input moderation."""

import pytest
from django.test import Client

from chat.models import Message, MessageStatus
from chat.services import conversation_create
from chat.tasks import generate_answer_task
from engine.tiny import build_tiny_chat_model
from registry.models import ModelVersion
from registry.services import model_version_promote

from ..helpers.polling import eventually
from ..processes import start_celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

QUEUE = "promotion-test"


@pytest.fixture
def serving_worker(app_env, process_log_dir):
    worker = start_celery_worker(dict(app_env, CHAT_MODEL=""), process_log_dir, queues=QUEUE, name=QUEUE, concurrency=2)
    yield worker
    worker.stop()


def ask(user, max_new_tokens: int) -> Message:
    conversation = conversation_create(owner=user)
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content="Tell me a story", status=MessageStatus.ACCEPTED
    )
    answer = Message.objects.create(
        conversation=conversation,
        parent=question,
        role=Message.Role.ASSISTANT,
        status=MessageStatus.QUEUED,
        sampling={"temperature": 0.7, "top_p": 0.9, "max_new_tokens": max_new_tokens},
    )
    generate_answer_task.apply_async(args=[answer.pk], queue=QUEUE)
    return answer


def test_promotion_switches_the_next_answer_and_spares_the_one_in_flight(
    serving_worker, tiny_model_dir, tmp_path, make_user
):
    old = ModelVersion.objects.create(name="tiny-old", source="imported", path=str(tiny_model_dir))
    new_dir = build_tiny_chat_model(tmp_path / "tiny-new", never_ends=True, seed=1)
    new = ModelVersion.objects.create(name="tiny-new", source="trained", path=str(new_dir))
    model_version_promote(version=old)
    user = make_user()
    admin = make_user(username="boss", role="admin")

    long_answer = ask(user, max_new_tokens=1500)
    eventually(
        lambda: (
            Message.objects.filter(pk=long_answer.pk, status=MessageStatus.STREAMING, model_version=old)
            .exclude(content="")
            .exists()
        ),
        what="the long answer streaming on the old version",
        timeout=90,
    )
    client = Client()
    client.force_login(admin)
    # No evaluation was run here: the admin promotes past the gate with a reason.
    assert client.post(f"/models/{new.pk}/promote/", {"override_reason": "switch test"}).status_code == 302
    assert list(ModelVersion.objects.filter(is_serving=True)) == [new]
    assert Message.objects.get(pk=long_answer.pk).status == MessageStatus.STREAMING, "still in flight at the switch"

    next_answer = ask(user, max_new_tokens=20)
    eventually(
        lambda: Message.objects.get(pk=next_answer.pk).status == MessageStatus.COMPLETE,
        what="the next answer",
        timeout=90,
    )
    next_answer.refresh_from_db()
    assert next_answer.model_version == new and next_answer.model_name == "tiny-new"
    assert f"Loading chat model from {new_dir}" in serving_worker.output(), (
        "the worker loaded the new version, no restart"
    )

    eventually(
        lambda: Message.objects.get(pk=long_answer.pk).status not in (MessageStatus.QUEUED, MessageStatus.STREAMING),
        what="the long answer finishing",
        timeout=300,
    )
    long_answer.refresh_from_db()
    assert long_answer.status == MessageStatus.COMPLETE and long_answer.completion_tokens == 1500
    assert long_answer.model_version == old
