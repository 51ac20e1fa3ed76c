"""The preference pairs arena votes already made are marked as single
votes (issue 15, item 9), so default preference snapshots leave them out
as they leave out new ones."""
from django.db import migrations


def mark_arena_votes(apps, schema_editor):
    ArenaMatch = apps.get_model("arena", "ArenaMatch")
    Consensus = apps.get_model("labeling", "Consensus")
    voted = ArenaMatch.objects.filter(preference_task__isnull=False).values("preference_task_id")
    Consensus.objects.filter(task_id__in=voted, method="imported").update(method="arena")


class Migration(migrations.Migration):

    dependencies = [
        ("arena", "0001_initial"),
        ("labeling", "0005_consensus_method_arena"),
    ]

    operations = [migrations.RunPython(mark_arena_votes, migrations.RunPython.noop)]
