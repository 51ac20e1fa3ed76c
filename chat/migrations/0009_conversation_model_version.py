"""A conversation may pick the policy version that writes its answers
(issue 19); null keeps today's behaviour: the serving version."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0008_chat_defaults_settings_preset"),
        ("registry", "0004_serving_per_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="model_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="registry.modelversion",
            ),
        ),
    ]
