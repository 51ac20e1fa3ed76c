# The link between a thumbs-down and the candidate it became turns around:
# Candidate.source_feedback (labeling -> chat) replaces
# Feedback.labeling_candidate (chat -> labeling), so chat knows nothing of
# labeling. Existing links are copied here, before chat 0006 drops the old
# column; a candidate several feedbacks pointed at keeps the first.

import django.db.models.deletion
from django.db import migrations, models


def copy_links_forward(apps, schema_editor):
    Feedback = apps.get_model("chat", "Feedback")
    Candidate = apps.get_model("labeling", "Candidate")
    linked = Feedback.objects.filter(labeling_candidate__isnull=False).order_by("id")
    for feedback_id, candidate_id in linked.values_list("id", "labeling_candidate_id"):
        Candidate.objects.filter(pk=candidate_id, source_feedback__isnull=True).update(source_feedback_id=feedback_id)


def copy_links_back(apps, schema_editor):
    Feedback = apps.get_model("chat", "Feedback")
    Candidate = apps.get_model("labeling", "Candidate")
    linked = Candidate.objects.filter(source_feedback__isnull=False)
    for candidate_id, feedback_id in linked.values_list("id", "source_feedback_id"):
        Feedback.objects.filter(pk=feedback_id).update(labeling_candidate_id=candidate_id)


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_conversation_soft_delete'),
        ('labeling', '0005_consensus_method_arena'),
    ]

    operations = [
        migrations.AddField(
            model_name='candidate',
            name='source_feedback',
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.feedback'
            ),
        ),
        migrations.RunPython(copy_links_forward, copy_links_back),
    ]
