"""Times on server-rendered pages in the reader's zone (issue 17): the
browser's, from the `tz` cookie static/js/timezone.js sets, unless the
account chose one in Settings; a name the IANA database does not know is
ignored."""

from datetime import UTC, datetime

import pytest

from accounts.timezones import TIME_ZONE_COOKIE
from openai_api.models import ApiKey
from openai_api.services import api_key_create

pytestmark = pytest.mark.django_db

NOON_UTC = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys_page(client, user):
    """The API keys page of `user`, whose key was made at noon UTC."""
    key, _ = api_key_create(user=user, name="laptop")
    ApiKey.objects.filter(pk=key.pk).update(created_at=NOON_UTC)
    client.force_login(user)

    def get(zone: str | None = None) -> str:
        if zone is None:
            client.cookies.pop(TIME_ZONE_COOKIE, None)
        else:
            client.cookies[TIME_ZONE_COOKIE] = zone
        return client.get("/api-keys/").content.decode()

    return get


def test_a_time_renders_in_the_browsers_zone(keys_page):
    assert "2026-01-15 12:00" in keys_page()
    page = keys_page("Asia/Tokyo")
    assert "2026-01-15 21:00" in page and "2026-01-15 12:00" not in page
    assert "2026-01-15 07:00" in keys_page("America/New_York")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../../etc/passwd", "/etc/localtime", "", "x" * 300])
def test_a_zone_the_database_does_not_know_is_ignored(keys_page, zone):
    assert "2026-01-15 12:00" in keys_page(zone)


def test_the_accounts_own_zone_comes_before_the_browsers(keys_page, user):
    user.time_zone = "America/New_York"
    user.save()
    assert "2026-01-15 07:00" in keys_page("Asia/Tokyo")


def test_settings_choose_a_zone_and_refuse_an_unknown_one(client, user):
    client.force_login(user)
    client.cookies[TIME_ZONE_COOKIE] = "Asia/Tokyo"
    page = client.get("/accounts/settings/").content.decode()
    assert "Automatic: this browser's (Asia/Tokyo)" in page
    assert '<option value="Europe/Paris">Europe/Paris</option>' in page

    assert client.post("/accounts/settings/", {"time_zone": "Europe/Paris"}).status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Europe/Paris"
    assert '<option value="Europe/Paris" selected>' in client.get("/accounts/settings/").content.decode()

    response = client.post(
        "/accounts/settings/", {"time_zone": "Mars/Olympus_Mons", "shares_chat_data": "1"}, follow=True
    )
    assert "Unknown time zone: Mars/Olympus_Mons." in response.content.decode()
    user.refresh_from_db()
    assert user.time_zone == "Europe/Paris" and not user.shares_chat_data

    client.post("/accounts/settings/", {"time_zone": ""})
    user.refresh_from_db()
    assert user.time_zone == ""
