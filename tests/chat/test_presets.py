"""Settings that follow a user from chat to chat (chat/presets.py): the
defaults every new chat starts from and named presets. Their limits and
validation, ownership (another user's preset looks like none), the JSON
endpoints with CSRF, the chat socket starting a new chat from the
defaults, the export of all one's data and the account's deletion."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from chat import presets
from chat.data_controls import account_delete, user_data_export
from chat.models import ChatDefaults, Conversation, SettingsPreset
from chat.params import PRESET_NAME_MAX_CHARS, SYSTEM_PROMPT_MAX_CHARS, clean_generation_settings, clean_preset_name
from chat.presets import (
    chat_defaults_clear,
    chat_defaults_update,
    chat_defaults_values,
    preset_create,
    preset_delete,
    preset_update,
)
from core.errors import UserError

from ..helpers.sockets import connect

PIRATE = {"system_prompt": "Talk like a pirate.", "temperature": 0.3, "top_p": 0.8, "max_new_tokens": 40}
TERSE = {"system_prompt": "Be terse.", "temperature": 1.2, "top_p": 0.95, "max_new_tokens": 25}


def _client(user, *, enforce_csrf=False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def _json(client, method, path, body=None):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, data=json.dumps(body or {}), content_type="application/json")


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "raw,message",
    [
        ({**PIRATE, "temperature": 2.5}, "Temperature must be between 0.0 and 2.0."),
        ({**PIRATE, "max_new_tokens": 0}, "Max new tokens must be between 1"),
        ({**PIRATE, "system_prompt": "x" * (SYSTEM_PROMPT_MAX_CHARS + 1)}, f"at most {SYSTEM_PROMPT_MAX_CHARS}"),
        ({k: v for k, v in PIRATE.items() if k != "top_p"}, "Settings must hold exactly"),
        ({**PIRATE, "title": "Mine"}, "Settings must hold exactly"),
        ({**PIRATE, "seed": 1}, "Unknown setting: seed."),
        ([PIRATE], "Settings must be an object."),
    ],
)
def test_stored_settings_are_the_four_valid_ones(raw, message):
    with pytest.raises(UserError) as error:
        clean_generation_settings(raw)
    assert message in error.value.message


def test_a_preset_name_is_non_empty_text_within_its_limit_with_spaces_collapsed():
    assert clean_preset_name("  Code\x00   review ") == "Code review"
    for bad in ("", "   ", None, 7, "x" * (PRESET_NAME_MAX_CHARS + 1)):
        with pytest.raises(UserError):
            clean_preset_name(bad)


# ------------------------------------------------------------ services


@pytest.mark.django_db
class TestDefaults:
    def test_without_any_a_user_gets_the_sites(self, user, settings):
        assert chat_defaults_values(user=user) == {"system_prompt": "", **settings.GENERATION_DEFAULTS}

    def test_saved_defaults_are_the_users_alone_and_can_be_forgotten(self, user, make_user, settings):
        other = make_user(username="other")
        chat_defaults_update(user=user, values=PIRATE)
        chat_defaults_update(user=user, values=TERSE)  # a second save overwrites the first
        assert chat_defaults_values(user=user) == TERSE
        assert chat_defaults_values(user=other)["system_prompt"] == ""
        chat_defaults_clear(user=user)
        assert chat_defaults_values(user=user) == {"system_prompt": "", **settings.GENERATION_DEFAULTS}


@pytest.mark.django_db
class TestPresets:
    def test_create_rename_overwrite_delete(self, user):
        preset = preset_create(owner=user, name="Pirate", values=PIRATE)
        assert presets.preset_to_dict(preset) == {"id": preset.pk, "name": "Pirate", **PIRATE}
        preset_update(preset=preset, name="Sea dog")
        preset_update(preset=preset, values=TERSE)
        preset.refresh_from_db()
        assert (preset.name, presets.settings_of(preset)) == ("Sea dog", TERSE)
        preset_delete(preset=preset)
        assert not SettingsPreset.objects.exists()

    def test_a_name_is_taken_whatever_its_case_but_only_among_the_owners_presets(self, user, make_user):
        preset_create(owner=user, name="Coder", values=PIRATE)
        with pytest.raises(UserError) as error:
            preset_create(owner=user, name="coder", values=TERSE)
        assert error.value.code == "preset_name_taken" and '"coder"' in error.value.message
        preset_create(owner=make_user(username="other"), name="Coder", values=TERSE)
        other_of_mine = preset_create(owner=user, name="Writer", values=TERSE)
        with pytest.raises(UserError):
            preset_update(preset=other_of_mine, name="CODER")
        preset_update(preset=other_of_mine, name="WRITER")  # its own name, another case
        assert SettingsPreset.objects.filter(owner=user).count() == 2

    def test_the_limit_on_presets_is_checked_before_anything_is_stored(self, user, make_user, monkeypatch):
        monkeypatch.setattr(presets, "PRESETS_PER_USER_MAX", 2)
        preset_create(owner=user, name="One", values=PIRATE)
        preset_create(owner=user, name="Two", values=PIRATE)
        with pytest.raises(UserError) as error:
            preset_create(owner=user, name="Three", values=PIRATE)
        assert error.value.code == "too_many_presets" and "delete one first" in error.value.message
        assert sorted(SettingsPreset.objects.values_list("name", flat=True)) == ["One", "Two"]
        preset_create(owner=make_user(username="other"), name="Three", values=PIRATE)  # the limit is per user

    def test_another_users_preset_looks_like_none(self, user, make_user):
        preset = preset_create(owner=make_user(username="other"), name="Theirs", values=PIRATE)
        for preset_id in (preset.pk, "nope", None, 10**30):
            with pytest.raises(Exception) as error:
                presets.preset_access_by_id(user, preset_id)
            assert error.type.__name__ == "Http404"


# ------------------------------------------------------------ endpoints


@pytest.mark.django_db
class TestEndpoints:
    def test_defaults_are_read_saved_and_forgotten(self, user, settings):
        client = _client(user)
        assert client.get("/api/chat-defaults/").json()["saved"] is False
        response = _json(client, "put", "/api/chat-defaults/", PIRATE)
        assert response.status_code == 200 and response.json() == {"defaults": PIRATE, "saved": True}
        assert ChatDefaults.objects.get(user=user).system_prompt == PIRATE["system_prompt"]
        bad = _json(client, "put", "/api/chat-defaults/", {**PIRATE, "temperature": "hot"})
        assert bad.status_code == 400 and bad.json()["error"] == "Temperature must be a number."
        assert ChatDefaults.objects.get(user=user).temperature == PIRATE["temperature"]
        assert client.delete("/api/chat-defaults/").json() == {
            "defaults": {"system_prompt": "", **settings.GENERATION_DEFAULTS},
            "saved": False,
        }
        assert not ChatDefaults.objects.exists()

    def test_presets_are_listed_created_renamed_and_deleted(self, user):
        client = _client(user)
        created = _json(client, "post", "/api/presets/", {"name": "Pirate", "settings": PIRATE})
        assert created.status_code == 201
        preset_id = created.json()["preset"]["id"]
        assert client.get("/api/presets/").json()["presets"] == [{"id": preset_id, "name": "Pirate", **PIRATE}]
        renamed = _json(client, "patch", f"/api/presets/{preset_id}/", {"name": "Sea dog"})
        assert renamed.json()["preset"]["name"] == "Sea dog"
        assert client.get(f"/api/presets/{preset_id}/").json()["preset"]["name"] == "Sea dog"
        assert client.delete(f"/api/presets/{preset_id}/").json() == {"deleted": preset_id}
        assert client.get(f"/api/presets/{preset_id}/").status_code == 404

    @pytest.mark.parametrize(
        "body,message",
        [
            ({"settings": PIRATE}, "needs a name and its settings"),
            ({"name": "Pirate"}, "needs a name and its settings"),
            ({"name": "", "settings": PIRATE}, "Name the preset."),
            ({"name": "Pirate", "settings": {**PIRATE, "top_p": 0}}, "Top-p must be between"),
        ],
    )
    def test_a_bad_preset_is_refused_with_a_clear_error_and_nothing_stored(self, user, body, message):
        response = _json(_client(user), "post", "/api/presets/", body)
        assert response.status_code == 400 and message in response.json()["error"]
        assert not SettingsPreset.objects.exists()

    def test_no_one_reads_or_changes_another_users_preset(self, user, make_user):
        theirs = preset_create(owner=make_user(username="other"), name="Theirs", values=PIRATE)
        client = _client(user)
        assert client.get("/api/presets/").json()["presets"] == []
        for method, body in (("get", None), ("patch", {"name": "Mine now"}), ("delete", None)):
            response = _json(client, method, f"/api/presets/{theirs.pk}/", body)
            assert response.status_code == 404 and "Theirs" not in response.content.decode()
        theirs.refresh_from_db()
        assert theirs.name == "Theirs"

    def test_writes_need_the_csrf_token(self, user):
        client = _client(user, enforce_csrf=True)
        preset = preset_create(owner=user, name="Pirate", values=PIRATE)
        assert _json(client, "post", "/api/presets/", {"name": "New", "settings": TERSE}).status_code == 403
        assert _json(client, "patch", f"/api/presets/{preset.pk}/", {"name": "Renamed"}).status_code == 403
        assert _json(client, "delete", f"/api/presets/{preset.pk}/").status_code == 403
        assert _json(client, "put", "/api/chat-defaults/", PIRATE).status_code == 403
        assert list(SettingsPreset.objects.values_list("name", flat=True)) == ["Pirate"]
        assert not ChatDefaults.objects.exists()

    def test_the_chat_page_starts_from_the_users_defaults_and_lists_their_presets(self, user):
        chat_defaults_update(user=user, values=PIRATE)
        preset = preset_create(owner=user, name="Terse", values=TERSE)
        page = _client(user).get("/").content.decode()
        assert '"system_prompt": "Talk like a pirate."' in page
        assert f'"id": {preset.pk}, "name": "Terse"' in page


# ------------------------------------------------------------ the socket


@pytest.mark.django_db(transaction=True)
async def test_a_new_chat_starts_from_the_users_defaults_and_its_own_settings_override_them(user, captured_tasks):
    await database_sync_to_async(chat_defaults_update)(user=user, values=PIRATE)
    communicator, connected, _ = await connect(user)
    assert connected
    for frame_settings in ({}, {"temperature": 1.5}):
        await communicator.send_json_to(
            {"type": "send", "conversation": None, "parent": None, "content": "Ahoy", "settings": frame_settings}
        )
        reply = await communicator.receive_json_from(timeout=10)
        while reply["type"] != "sent":
            reply = await communicator.receive_json_from(timeout=10)
        conversation = await database_sync_to_async(Conversation.objects.get)(pk=reply["conversation"])
        expected = {**PIRATE, **frame_settings}
        assert presets.settings_of(conversation) == expected
    await communicator.disconnect()


# ------------------------------------------------------------ data controls


@pytest.mark.django_db
def test_the_export_holds_the_defaults_and_presets_and_deleting_the_account_removes_them(user, make_user):
    other = make_user(username="other")
    assert user_data_export(user=user)["chat_defaults"] is None
    chat_defaults_update(user=user, values=PIRATE)
    preset = preset_create(owner=user, name="Terse", values=TERSE)
    preset_create(owner=other, name="Theirs", values=TERSE)
    data = user_data_export(user=user)
    assert data["chat_defaults"] == PIRATE
    assert data["presets"] == [{"id": preset.pk, "name": "Terse", **TERSE}]
    account_delete(user=user)
    assert not ChatDefaults.objects.filter(user=user).exists()
    assert not SettingsPreset.objects.filter(owner=user).exists()
    assert SettingsPreset.objects.filter(owner=other).exists()
