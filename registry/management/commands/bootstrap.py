import secrets

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
            User.objects.create_superuser("admin", "", password, role=Role.ADMIN)
            self.stdout.write(self.style.SUCCESS(f"Created the admin account: user 'admin', password '{password}'"))
            self.stdout.write("It is shown this once: change it after you sign in.")
