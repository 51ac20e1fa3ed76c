"""One unfinished chat import per user, held by the database (two uploads
at the same moment could both pass the service's check)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0010_chat_import"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="chatimport",
            constraint=models.UniqueConstraint(
                condition=models.Q(("finished_at__isnull", True)), fields=("owner",), name="chat_import_one_unfinished"
            ),
        ),
    ]
