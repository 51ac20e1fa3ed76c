"""chatsite/settings.py's own logic: the per-install secret key."""

import os
import stat
from pathlib import Path

import pytest

from chatsite import settings as site_settings


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_secret_key_is_never_readable_by_others(tmp_path, monkeypatch, loose_umask):
    """Written first and restricted after, the key sat world-readable for a
    moment, and for good if the process died in between (here: chmod fails)."""

    def dies(self, mode):
        raise KeyboardInterrupt("killed between the write and the chmod")

    monkeypatch.setattr(Path, "chmod", dies)
    data_dir = tmp_path / "data"
    try:
        key = site_settings._local_secret_key(data_dir)
    except KeyboardInterrupt:
        key = None
    path = data_dir / "secret_key"
    if path.exists() and path.read_text():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key and len(key) >= 50
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_the_secret_key_is_kept_and_reused(tmp_path):
    first = site_settings._local_secret_key(tmp_path)
    assert site_settings._local_secret_key(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"], "no temporary file left behind"
