"""The admins' usage page, and setting a user's quota on the Users page."""

import pytest
from django.test import Client

from usage.services import usage_record

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_tokens_per_day_and_user_with_a_chart(make_user):
    admin = make_user(username="boss", role="admin")
    alice = make_user(username="alice", daily_token_quota=100)
    usage_record(user_id=alice.pk, answers=3, prompt_tokens=120, completion_tokens=45)
    page = _client(admin).get("/usage/").content.decode()
    assert "<svg" in page and "120 prompt tokens" in page
    assert "<td>alice</td><td>3</td><td>120</td><td>45</td>" in page
    assert "(over quota)" in page


def test_admins_set_and_clear_a_users_quota(make_user):
    admin = make_user(username="boss", role="admin")
    alice = make_user(username="alice")
    client = _client(admin)
    client.post(f"/accounts/users/{alice.pk}/", {"daily_token_quota": "5000"})
    alice.refresh_from_db()
    assert alice.daily_token_quota == 5000
    response = client.post(f"/accounts/users/{alice.pk}/", {"daily_token_quota": "-3"}, follow=True)
    assert "must be a whole number" in response.content.decode()
    alice.refresh_from_db()
    assert alice.daily_token_quota == 5000
    client.post(f"/accounts/users/{alice.pk}/", {"daily_token_quota": ""})
    alice.refresh_from_db()
    assert alice.daily_token_quota is None


def test_the_openai_api_answers_429_over_quota(make_user, settings):
    from openai_api.services import api_key_create
    from registry.models import ModelVersion

    ModelVersion.objects.create(name="served", source="imported", path="/nonexistent", is_serving=True)
    settings.USAGE_DAILY_TOKEN_QUOTA = 10
    alice = make_user(username="alice")
    usage_record(user_id=alice.pk, completion_tokens=10)
    _, raw = api_key_create(user=alice, name="k")
    response = Client().post(
        "/v1/chat/completions",
        data={"model": "served", "messages": [{"role": "user", "content": "hi"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 429
    assert "10 tokens for today" in response.json()["error"]["message"]
