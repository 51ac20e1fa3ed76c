"""Who may open the arena's pages and API: enabled users and admins play;
only admins see the leaderboard and run trials; a match is its owner's."""

import json

import pytest

from arena.services import match_vote

from .helpers import played_match

pytestmark = pytest.mark.django_db


def vote(client, match, outcome):
    return client.post(
        f"/arena/api/matches/{match.pk}/vote/", json.dumps({"outcome": outcome}), content_type="application/json"
    )


class TestPermissions:
    @pytest.mark.parametrize("path", ["/arena/", "/arena/api/matches/1/"])
    def test_user_not_enabled_gets_403(self, client, make_user, versions, path):
        client.force_login(make_user(username="plain"))
        assert client.get(path).status_code == 403

    def test_user_not_enabled_cannot_vote_even_on_their_old_match(self, client, make_user, versions, captured_tasks):
        user = make_user(username="revoked", arena_enabled=True)
        match = played_match(user)
        user.arena_enabled = False
        user.save(update_fields=["arena_enabled"])
        client.force_login(user)
        assert vote(client, match, "a").status_code == 403
        match.refresh_from_db()
        assert not match.is_decided

    def test_anonymous_page_goes_to_login_and_api_is_refused(self, client, versions):
        assert client.get("/arena/").status_code == 302
        assert client.get("/arena/api/matches/1/").status_code == 403

    def test_enabled_user_and_admin_open_the_arena(self, client, arena_user, admin, versions):
        for who in (arena_user, admin):
            client.force_login(who)
            page = client.get("/arena/")
            assert page.status_code == 200 and b'data-testid="arena-form"' in page.content

    @pytest.mark.parametrize("path", ["/arena/leaderboard/", "/arena/trial/"])
    def test_leaderboard_and_trials_are_for_admins_only(self, client, arena_user, make_user, admin, versions, path):
        for who in (arena_user, make_user(username="mod", role="moderator")):
            client.force_login(who)
            assert client.get(path).status_code == 403
        client.force_login(admin)
        assert client.get(path).status_code == 200

    def test_users_cannot_see_or_vote_on_others_matches(self, client, arena_user, make_user, versions, captured_tasks):
        match = played_match(arena_user)
        client.force_login(make_user(username="other", arena_enabled=True))
        assert client.get(f"/arena/api/matches/{match.pk}/").status_code == 404
        assert vote(client, match, "a").status_code == 404
        match.refresh_from_db()
        assert not match.is_decided


class TestApi:
    def test_vote_reveals_versions_and_a_second_vote_conflicts(self, client, arena_user, versions, captured_tasks):
        match = played_match(arena_user)
        client.force_login(arena_user)
        hidden = client.get(f"/arena/api/matches/{match.pk}/").json()
        assert hidden["versions"] is None and hidden["answers"]["a"]["content"] == "Nine."
        response = vote(client, match, "b")
        assert response.status_code == 200
        assert response.json()["versions"] == {"a": match.version_a.name, "b": match.version_b.name}
        assert response.json()["outcome"] == "b"
        again = vote(client, match, "a")
        assert again.status_code == 409 and again.json()["code"] == "already_decided"

    def test_bad_vote_is_400(self, client, arena_user, versions, captured_tasks):
        match = played_match(arena_user)
        client.force_login(arena_user)
        assert vote(client, match, "left").status_code == 400
        assert vote(client, match, 1).status_code == 400

    def test_vote_needs_csrf(self, arena_user, versions, captured_tasks):
        from django.test import Client

        match = played_match(arena_user)
        client = Client(enforce_csrf_checks=True)
        client.force_login(arena_user)
        assert vote(client, match, "a").status_code == 403

    def test_one_version_shows_a_clear_message(self, client, arena_user, versions):
        versions[1].delete()
        client.force_login(arena_user)
        page = client.get("/arena/")
        assert b"at least two registered chat models" in page.content and b"arena-form" not in page.content


class TestAdminPages:
    def test_leaderboard_lists_versions_with_ratings(self, client, admin, arena_user, versions, captured_tasks):
        match_vote(match=played_match(arena_user), outcome="a")
        client.force_login(admin)
        page = client.get("/arena/leaderboard/").content.decode()
        assert 'data-testid="leaderboard-row"' in page
        assert versions[0].name in page and versions[1].name in page

    def test_trial_page_offers_only_non_serving_versions(self, client, admin, versions):
        client.force_login(admin)
        page = client.get("/arena/trial/").content.decode()
        assert f'<option value="{versions[1].pk}"' in page and f'<option value="{versions[0].pk}"' not in page
        chosen = client.get(f"/arena/trial/?version={versions[1].pk}").content.decode()
        assert f'data-trial-version="{versions[1].pk}"' in chosen
        assert client.get(f"/arena/trial/?version={versions[0].pk}").status_code == 404

    def test_admin_enables_arena_on_the_users_page(self, client, admin, make_user):
        player = make_user(username="newplayer")
        client.force_login(admin)
        assert b"arena-enable-newplayer" in client.get("/accounts/users/").content
        client.post(f"/accounts/users/{player.pk}/", {"arena_enabled": "1"})
        player.refresh_from_db()
        assert player.arena_enabled and player.role == "user" and player.is_approved
        client.post(f"/accounts/users/{player.pk}/", {"arena_enabled": "0"})
        player.refresh_from_db()
        assert not player.arena_enabled
