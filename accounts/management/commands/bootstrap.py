import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from engine.bundled import BundledModelMissing
from registry.services import model_version_import_bundled


class Command(BaseCommand):
    help = "First-start setup: import the bundled chat model and create the first admin account."

    def add_arguments(self, parser):
        parser.add_argument("--skip-model", action="store_true", help="Do not import the bundled model.")

    def handle(self, *args, skip_model=False, **options):
        if not skip_model and not settings.CHAT_MODEL:
            try:
                version = model_version_import_bundled()
            except BundledModelMissing as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Chat model: {version.name} ({version.path})")
        User = get_user_model()
        if not User.objects.filter(role=Role.ADMIN).exists() and not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            path = _write_private(Path(settings.DATA_DIR) / "admin_password", password + "\n")
            User.objects.create_superuser("admin", "", password, role=Role.ADMIN)
            self.stdout.write(self.style.SUCCESS(f"Created the admin account: user 'admin', its password is in {path}"))
            self.stdout.write("Only this account can read that file: sign in, change the password, then delete it.")


def _write_private(path: Path, text: str) -> Path:
    """`text` in a new file only this account can read, 0600 from its
    creation: stdout goes to systemd's, Docker's and CI's logs, which keep
    it and which others may read."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # an earlier install's: its admin is gone
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(text)
    return path
