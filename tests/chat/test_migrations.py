"""Chat 0006 drops Feedback.labeling_candidate after labeling 0006 copied
each link to Candidate.source_feedback: a database with a thumbs-down
already in the pool keeps it linked across the migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from chat.models import Feedback
from labeling.models import Candidate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0005_conversation_soft_delete"), ("labeling", "0005_consensus_method_arena")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_a_linked_feedback_keeps_its_candidate_through_the_migration(make_user):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    try:
        user, other = (make_user(username=name) for name in ("sharer", "someone"))
        conversation = old.get_model("chat", "Conversation").objects.create(owner_id=user.pk)
        question = old.get_model("chat", "Message").objects.create(
            conversation=conversation, role="user", content="How do tides work?", status="accepted"
        )
        answer = old.get_model("chat", "Message").objects.create(
            conversation=conversation, parent=question, role="assistant", content="Nobody knows.", status="complete"
        )
        prompt = old.get_model("labeling", "Prompt").objects.create(
            messages=[{"role": "user", "content": "How do tides work?"}], source="chat", content_hash="p" * 64
        )
        OldCandidate = old.get_model("labeling", "Candidate")
        shared = OldCandidate.objects.create(prompt=prompt, text="Nobody knows.", text_hash="a" * 64, origin="model")
        unshared = OldCandidate.objects.create(prompt=prompt, text="Water.", text_hash="b" * 64, origin="model")
        OldFeedback = old.get_model("chat", "Feedback")
        linked = OldFeedback.objects.create(
            message=answer, user_id=user.pk, rating=-1, reasons=["Not helpful"], labeling_candidate=shared
        )
        OldFeedback.objects.create(message=answer, user_id=other.pk, rating=-1, reasons=["Other"])
    finally:
        _migrate(latest)

    assert Candidate.objects.get(pk=shared.pk).source_feedback == Feedback.objects.get(pk=linked.pk)
    assert Candidate.objects.get(pk=unshared.pk).source_feedback is None
    assert "labeling_candidate" not in {field.name for field in Feedback._meta.get_fields()}
