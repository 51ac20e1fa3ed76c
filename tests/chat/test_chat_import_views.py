"""The import page under the data controls (/accounts/data/import/): upload
with or without consent, a bad file's reason on the page, the list of the
user's own imports, withdrawing consent; and imported chats in the sidebar's
list and on the chat page, for their owner only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chat.imports_service import chat_import_run
from chat.models import ChatImport, Conversation

from ..helpers.chat_exports import chatgpt_export

pytestmark = pytest.mark.django_db

URL = "/accounts/data/import/"
FILE_NAME = "my-chatgpt-history.json"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.MODERATION_LAYERS = ["rules"]


def post_export(client, data=None, **fields):
    upload = SimpleUploadedFile(FILE_NAME, data or chatgpt_export(), content_type="application/json")
    return client.post(URL, {"file": upload, **fields})


def test_an_upload_is_kept_and_queued_with_the_consent_given(client, user, django_capture_on_commit_callbacks):
    client.force_login(user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_export(client, shares_prompts="1")
    assert response.status_code == 302 and response["Location"] == URL
    record = ChatImport.objects.get(owner=user)
    assert record.state == ChatImport.State.QUEUED and record.shares_prompts
    assert record.counts["conversations"] == 2
    assert len(callbacks) == 1  # the task is sent once the upload is stored
    page = client.get(URL).content.decode()
    assert FILE_NAME in page and "Waiting to import" in page
    assert '<meta http-equiv="refresh"' in page  # the page follows the import


def test_consent_is_off_unless_ticked(client, user):
    client.force_login(user)
    post_export(client)
    assert not ChatImport.objects.get(owner=user).shares_prompts


def test_a_bad_file_is_refused_with_its_reason(client, user):
    client.force_login(user)
    response = post_export(client, data=b"[1, 2")
    assert response.status_code == 400
    assert "The file is not valid JSON" in response.content.decode()
    assert not Conversation.objects.exists()
    assert ChatImport.objects.get(owner=user).state == ChatImport.State.FAILED


def test_a_post_without_a_file_says_so(client, user):
    client.force_login(user)
    response = client.post(URL, {})
    assert response.status_code == 400 and "Choose a file to import." in response.content.decode()


def test_an_account_waiting_for_approval_cannot_import(client, make_user):
    client.force_login(make_user(username="waiting", is_approved=False))
    response = post_export(client)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:pending")
    assert not ChatImport.objects.exists()


def test_the_list_and_the_chats_are_the_owners_alone(client, user, make_user):
    client.force_login(user)
    post_export(client, shares_prompts="1")
    record = ChatImport.objects.get(owner=user)
    chat_import_run(import_id=record.pk)
    page = client.get(URL).content.decode()
    assert "Imported" in page and "2 conversations" in page and "Stop sharing" in page
    conversation = Conversation.objects.get(owner=user, title="Tides explained")
    listed = client.get("/api/conversations/").json()["conversations"]
    assert {c["title"]: c["imported"] for c in listed} == {"Tides explained": True, "Match": True}
    assert client.get(f"/c/{conversation.pk}/").status_code == 200

    client.force_login(make_user(username="mallory"))
    assert FILE_NAME not in client.get(URL).content.decode()
    assert client.get("/api/conversations/").json()["conversations"] == []
    assert client.get(f"/c/{conversation.pk}/").status_code == 404
    stop = client.post(reverse("data_controls:import-stop-sharing", args=[record.pk]))
    assert stop.status_code == 404
    record.refresh_from_db()
    assert record.shares_prompts


def test_the_owner_can_withdraw_consent(client, user):
    client.force_login(user)
    post_export(client, shares_prompts="1")
    record = ChatImport.objects.get(owner=user)
    response = client.post(reverse("data_controls:import-stop-sharing", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert not record.shares_prompts
    assert "Not shared for labeling." in client.get(URL).content.decode()


def test_the_settings_page_links_to_the_import(client, user):
    client.force_login(user)
    assert URL in client.get(reverse("accounts:settings")).content.decode()
