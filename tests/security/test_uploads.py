"""Upload limits and content checks on every import: the request cap
before any view runs, and each form's own checks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import TrainingJob
from labeling.models import PromptImport

pytestmark = pytest.mark.django_db

IMPORT_URL = "/labeling/admin/prompts/import/"


@pytest.fixture
def admin_client(make_user, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = Client()
    client.force_login(make_user(username="admin", role="admin"))
    return client


def test_a_request_over_the_cap_is_refused_before_any_view(admin_client, settings):
    settings.UPLOAD_MAX_MB = 1
    big = SimpleUploadedFile("prompts.jsonl", b'{"prompt": "hi"}\n' * 70_000)  # 1.2 MB
    response = admin_client.post(IMPORT_URL, {"file": big, "format": "jsonl"})
    assert response.status_code == 400
    assert PromptImport.objects.count() == 0
    # Anonymous too, holding the CSRF cookie any visitor gets: the CSRF check
    # reads the body for its token, before the view could refuse.
    anonymous = Client(enforce_csrf_checks=True)
    anonymous.get("/accounts/login/")
    big.seek(0)
    assert anonymous.post(IMPORT_URL, {"file": big}).status_code == 400


@pytest.mark.parametrize(
    "content,error",
    [
        (b"\x00\x01\x02binary", "NUL byte"),
        (b'{"prompt": "caf\xe9"}\n', "not UTF-8"),
        (b"\x1f\x8b\x08\x00broken", "cannot be unpacked"),
        (b"   \n\n", "empty"),
    ],
)
def test_prompt_import_refuses_what_is_not_text(admin_client, content, error):
    response = admin_client.post(IMPORT_URL, {"file": SimpleUploadedFile("x.jsonl", content), "format": "jsonl"})
    assert response.status_code in (200, 400)
    assert error in response.content.decode()
    assert PromptImport.objects.count() == 0


@pytest.mark.parametrize(
    "content,error",
    [(b"To be\x00or not", "NUL bytes"), (b"caf\xe9 au lait", "not UTF-8 text")],
)
def test_a_corpus_upload_must_be_utf8_text(admin_client, content, error):
    response = admin_client.post(
        "/jobs/new/", {"kind": "pretrain", "preset": "cpu-quick", "corpus_upload": SimpleUploadedFile("c.txt", content)}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert TrainingJob.objects.count() == 0
