# After labeling 0006 copied each link to Candidate.source_feedback.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_conversation_soft_delete'),
        ('labeling', '0006_candidate_source_feedback'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='feedback',
            name='labeling_candidate',
        ),
    ]
