from django.db import migrations, models


def finish_reasons_from_chat(apps, schema_editor):
    """Candidates taken from a disliked chat answer learn why it stopped
    (chat's Message.finish_reason); the others stay unknown."""
    Candidate = apps.get_model("labeling", "Candidate")
    for candidate in Candidate.objects.filter(source_feedback__isnull=False).select_related("source_feedback__message"):
        reason = candidate.source_feedback.message.finish_reason
        if reason:
            Candidate.objects.filter(pk=candidate.pk).update(finish_reason=reason)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0007_message_finish_reason"),
        ("labeling", "0006_candidate_source_feedback"),
    ]

    operations = [
        migrations.AddField(
            model_name="candidate",
            name="finish_reason",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(finish_reasons_from_chat, migrations.RunPython.noop),
    ]
