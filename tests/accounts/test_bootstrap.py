"""`manage.py bootstrap`'s first admin: its password never goes to stdout,
which systemd, Docker and CI keep in their logs."""

import io
import stat

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_first_admins_password_is_written_to_a_private_file(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("bootstrap", "--skip-model", stdout=out)
    path = tmp_path / "admin_password"
    password = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password not in out.getvalue() and str(path) in out.getvalue()
    assert authenticate(username="admin", password=password).is_admin
    call_command("bootstrap", "--skip-model", stdout=io.StringIO())  # a second run creates nothing
    assert path.read_text().strip() == password
