"""Chat import (issue 19): the record of each uploaded ChatGPT or Open WebUI
export, and the conversations it made pointing at it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0009_conversation_model_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ChatImport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "format",
                    models.CharField(
                        choices=[("chatgpt", "ChatGPT export"), ("open_webui", "Open WebUI export")], max_length=16
                    ),
                ),
                ("file_name", models.CharField(max_length=255)),
                ("file_size", models.PositiveBigIntegerField()),
                ("shares_prompts", models.BooleanField(default=False)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting to import"),
                            ("importing", "Importing"),
                            ("moderating", "Checking with moderation"),
                            ("done", "Imported"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("error", models.CharField(blank=True, default="", max_length=500)),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chat_imports",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="conversation",
            name="chat_import",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="conversations",
                to="chat.chatimport",
            ),
        ),
        migrations.AddIndex(
            model_name="chatimport",
            index=models.Index(fields=["owner", "-created_at"], name="chat_chatim_owner_i_8db8c9_idx"),
        ),
    ]
