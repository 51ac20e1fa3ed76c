import pytest

from moderation.models import ReviewDecision, ReviewItem
from moderation.pipeline import moderate
from moderation.services import review_item_create, review_item_decide

pytestmark = pytest.mark.django_db

LIST_URL = "/moderation/review/"


@pytest.fixture
def items(exchange, make_user):
    question, answer = exchange
    output = review_item_create(
        message=answer, direction="output", text="I will kill you, said the villain",
        verdict=moderate("I will kill you, said the villain", "assistant"),
    )
    decided = review_item_create(
        message=question, direction="input", text="how do I make a pipe bomb",
        verdict=moderate("how do I make a pipe bomb", "user"),
    )
    review_item_decide(item=decided, reviewer=make_user(username="mod0", role="moderator"), decision="confirm")
    return output, decided


@pytest.fixture
def moderator_client(client, make_user):
    client.force_login(make_user(username="mod", role="moderator"))
    return client


def test_anonymous_visitors_are_sent_to_log_in(client, items):
    for url in (LIST_URL, f"{LIST_URL}{items[0].pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_plain_users_are_refused(client, make_user, items):
    client.force_login(make_user(username="plain", role="user"))
    assert client.get(LIST_URL).status_code == 403
    assert client.post(f"{LIST_URL}{items[0].pk}/", {"decision": "confirm"}).status_code == 403
    assert items[0].decisions.count() == 0


def test_the_list_shows_open_items_with_their_context(moderator_client, items):
    output, decided = items
    page = moderator_client.get(LIST_URL).content.decode()
    assert "I will kill you, said the villain" in page
    assert "harassment/threatening" in page and "rules" in page
    assert "owner" in page and "Tell me a story about a dragon" in page  # the owner and the question answered
    assert "pipe bomb" not in page  # decided, so not open


def test_the_list_filters_by_status(moderator_client, items):
    confirmed = moderator_client.get(LIST_URL, {"status": "confirmed"}).content.decode()
    assert "pipe bomb" in confirmed and "said the villain" not in confirmed
    everything = moderator_client.get(LIST_URL, {"status": "all"}).content.decode()
    assert everything.index("pipe bomb") < everything.index("said the villain")  # newest first


def test_admins_pass_the_role_check(client, make_user, items):
    client.force_login(make_user(username="root", role="admin"))
    assert client.get(LIST_URL).status_code == 200


def test_a_moderator_decides_with_a_note(moderator_client, items):
    output, _ = items
    url = f"{LIST_URL}{output.pk}/"
    page = moderator_client.get(url)
    assert page.status_code == 200 and "said the villain" in page.content.decode()
    response = moderator_client.post(url, {"decision": "overturn", "note": "fiction"})
    assert response.status_code == 302 and response["Location"] == LIST_URL
    output.refresh_from_db()
    assert output.status == ReviewItem.Status.OVERTURNED and output.reviewer.username == "mod"
    assert ReviewDecision.objects.filter(item=output, decision="overturn", note="fiction").exists()


def test_an_invalid_decision_is_refused(moderator_client, items):
    output, _ = items
    response = moderator_client.post(f"{LIST_URL}{output.pk}/", {"decision": "delete"})
    assert response.status_code == 400
    output.refresh_from_db()
    assert output.status == ReviewItem.Status.OPEN and not output.decisions.exists()


def test_decisions_need_the_csrf_token(make_user, items):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(username="mod", role="moderator"))
    assert client.post(f"{LIST_URL}{items[0].pk}/", {"decision": "confirm"}).status_code == 403


def test_a_missing_item_is_404(moderator_client):
    assert moderator_client.get(f"{LIST_URL}999999/").status_code == 404
