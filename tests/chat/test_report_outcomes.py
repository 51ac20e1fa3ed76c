"""A user who reported an answer learns what the moderators decided: on the
answer (chat.reports, the page's loaded messages), over their open chat
sockets when a moderator decides (review.services, chat.events), and on
the My reports page."""

import pytest
from channels.db import database_sync_to_async

from chat import services
from chat.models import Conversation, Message, MessageStatus
from chat.reports import report_list, report_states
from moderation.models import ReviewItem
from review.services import review_item_decide, review_items_decide

from ..helpers.sockets import connect


def _answer(owner, text="You are a fool."):
    conversation = Conversation.objects.create(owner=owner, title="Rude answers")
    question = Message.objects.create(
        conversation=conversation, role="user", content="Insult me", status=MessageStatus.ACCEPTED
    )
    return Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content=text, status=MessageStatus.COMPLETE
    )


@pytest.fixture
def moderator(make_user):
    return make_user(username="mod", role="moderator")


@pytest.mark.django_db
class TestReportStates:
    @pytest.mark.parametrize(
        "decision,status,outcome",
        [
            (None, "open", "Reported · under review"),
            ("confirm", "confirmed", "Reported · a moderator confirmed it breaks the rules"),
            ("overturn", "overturned", "Reported · a moderator found no violation"),
        ],
    )
    def test_each_decision_reads_as_its_outcome(self, user, moderator, decision, status, outcome):
        answer = _answer(user)
        item = services.message_report(user=user, message=answer, reason="rude")
        if decision:
            review_item_decide(item=item, reviewer=moderator, decision=decision, note="internal: seen before")
        [state] = report_states(user=user, message_ids=[answer.pk]).values()
        assert (state["status"], state["outcome"]) == (status, outcome)
        assert (state["decided_at"] is None) == (decision is None)
        assert "internal" not in str(state), "a moderator's note is for the moderators"

    def test_the_latest_report_on_an_answer_is_its_state(self, user, moderator):
        answer = _answer(user)
        first = services.message_report(user=user, message=answer, reason="rude")
        review_item_decide(item=first, reviewer=moderator, decision="overturn")
        services.message_report(user=user, message=answer, reason="still rude")
        assert report_states(user=user, message_ids=[answer.pk])[answer.pk]["status"] == "open"
        # A change of mind on the older report does not hide the newer one.
        review_item_decide(item=first, reviewer=moderator, decision="confirm")
        assert report_states(user=user, message_ids=[answer.pk])[answer.pk]["status"] == "open"

    def test_only_the_reporter_sees_a_report(self, user, make_user, client):
        answer = _answer(user)
        services.message_report(user=user, message=answer, reason="rude")
        other = make_user(username="bob")
        assert report_states(user=other, message_ids=[answer.pk]) == {}
        assert report_list(user=other) == []
        client.force_login(other)
        page = client.get("/accounts/data/reports/")
        assert page.status_code == 200 and "You are a fool." not in page.content.decode()

    def test_my_reports_lists_each_report_with_its_outcome_and_chat(self, user, moderator, client):
        kept = _answer(user, "You are a fool.")
        gone = _answer(user, "Nobody likes you.")
        services.message_report(user=user, message=kept, reason="rude")
        decided = services.message_report(user=user, message=gone, reason="<b>mean</b>")
        review_item_decide(item=decided, reviewer=moderator, decision="confirm", note="internal: repeat offender")
        services.conversation_delete(conversation=gone.conversation)

        rows = report_list(user=user)
        assert [(r["answer"], r["status"], r["reason"]) for r in rows] == [
            ("Nobody likes you.", "confirmed", "<b>mean</b>"),
            ("You are a fool.", "open", "rude"),
        ]
        assert rows[0]["conversation"] is None and rows[1]["conversation"] == kept.conversation

        client.force_login(user)
        page = client.get("/accounts/data/reports/").content.decode()
        assert "Reported · a moderator confirmed it breaks the rules" in page and "Reported · under review" in page
        assert "&lt;b&gt;mean&lt;/b&gt;" in page and "<b>mean</b>" not in page
        assert f'href="/c/{kept.conversation_id}/"' in page and "The chat was deleted." in page
        assert "repeat offender" not in page
        assert 'href="/accounts/data/reports/"' in client.get("/accounts/settings/").content.decode()

    def test_the_report_endpoint_answers_with_the_state(self, user, client):
        answer = _answer(user)
        client.force_login(user)
        response = client.post(
            f"/api/messages/{answer.pk}/report/", data={"reason": ""}, content_type="application/json"
        )
        assert response.status_code == 201
        assert response.json()["report"]["outcome"] == "Reported · under review"

    def test_a_decision_tells_the_reporters_chats_once_it_commits(self, user, make_user, moderator, captured_events):
        answer = _answer(user)
        others = _answer(make_user(username="bob"))
        mine = services.message_report(user=user, message=answer, reason="rude")
        theirs = services.message_report(user=others.conversation.owner, message=others, reason="")
        automatic = Message.objects.create(
            conversation=answer.conversation, role="assistant", content="x", status=MessageStatus.MODERATED
        )
        flagged = ReviewItem.objects.create(message=automatic, direction="output", text="x", verdict={})
        with captured_events() as events:
            review_items_decide(items=[mine, theirs, flagged], reviewer=moderator, decision="confirm")
        assert sorted((e.group, e.event["message_id"], e.event["report"]["status"]) for e in events) == sorted(
            [
                (f"chat.user.{user.pk}", answer.pk, "confirmed"),
                (f"chat.user.{others.conversation.owner_id}", others.pk, "confirmed"),
            ]
        )


@pytest.mark.django_db(transaction=True)
async def test_the_reporters_open_chat_socket_hears_the_decision(make_user):
    reporter = await database_sync_to_async(make_user)(username="alice")
    bystander = await database_sync_to_async(make_user)(username="bob")
    moderator = await database_sync_to_async(make_user)(username="mod", role="moderator")
    answer = await database_sync_to_async(_answer)(reporter)
    item = await database_sync_to_async(services.message_report)(user=reporter, message=answer, reason="rude")
    reporter_socket, connected, _ = await connect(reporter)
    bystander_socket, bystander_connected, _ = await connect(bystander)
    assert connected and bystander_connected

    await database_sync_to_async(review_item_decide)(item=item, reviewer=moderator, decision="overturn")

    frame = await reporter_socket.receive_json_from(timeout=10)
    assert frame["type"] == "report" and frame["message_id"] == answer.pk
    assert frame["report"]["outcome"] == "Reported · a moderator found no violation"
    assert await bystander_socket.receive_nothing(timeout=0.5)
    await reporter_socket.disconnect()
    await bystander_socket.disconnect()
