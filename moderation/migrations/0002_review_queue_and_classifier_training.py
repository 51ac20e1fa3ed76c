import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATUS_CHOICES = [("open", "Open"), ("confirmed", "Confirmed"), ("overturned", "Overturned")]
STATUS_OF_DECISION = {"confirm": "confirmed", "overturn": "overturned"}


def audit_statuses(apps, schema_editor):
    """Decisions made before the audit kept statuses: each one's status
    before is the previous decision's status after (or open)."""
    ReviewDecision = apps.get_model("moderation", "ReviewDecision")
    previous: dict[int, str] = {}
    changed = []
    for decision in ReviewDecision.objects.order_by("item_id", "at", "id"):
        decision.status_before = previous.get(decision.item_id, "open")
        decision.status_after = STATUS_OF_DECISION[decision.decision]
        previous[decision.item_id] = decision.status_after
        changed.append(decision)
    ReviewDecision.objects.bulk_update(changed, ["status_before", "status_after"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("moderation", "0001_initial"),
        ("registry", "0001_initial"),
        ("chat", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="reviewitem",
            name="origin",
            field=models.CharField(
                choices=[("automatic", "Flagged automatically"), ("report", "Reported by a user")],
                default="automatic",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="reviewitem",
            name="reported_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="reviewitem",
            name="report_reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddConstraint(
            model_name="reviewitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("origin", "report"), ("status", "open")),
                fields=("message", "reported_by"),
                name="one_open_report_per_message_and_user",
            ),
        ),
        migrations.AddField(
            model_name="reviewdecision",
            name="status_before",
            field=models.CharField(choices=STATUS_CHOICES, default="open", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="reviewdecision",
            name="status_after",
            field=models.CharField(choices=STATUS_CHOICES, default="open", max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(audit_statuses, migrations.RunPython.noop),
        migrations.CreateModel(
            name="ClassifierTraining",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("example_count", models.PositiveIntegerField(blank=True, null=True)),
                ("figures", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True, default="")),
                (
                    "model_version",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="registry.modelversion",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]
