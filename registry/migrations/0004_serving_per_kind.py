"""One serving version per kind (issue 16). The classifier that moderates
was marked by `metadata["serving"]`, a JSON flag moderation kept beside the
registry's `is_serving` column: it becomes the column, and the key goes.

Where several classifier versions said "serving": true, the newest served
(the rule the classifier layer loaded by) and stays the one that does; a
JSON string "true" never served and does not now."""
from django.db import migrations, models


def serving_flag_to_column(apps, schema_editor):
    ModelVersion = apps.get_model("registry", "ModelVersion")
    flagged = ModelVersion.objects.filter(metadata__has_key="serving").order_by("-created_at", "-id")
    serving = next(
        (version.pk for version in flagged if version.kind == "classifier" and version.metadata["serving"] is True), None
    )
    for version in flagged:
        version.metadata = {key: value for key, value in version.metadata.items() if key != "serving"}
        version.save(update_fields=["metadata"])
    if serving is not None:
        ModelVersion.objects.filter(pk=serving).update(is_serving=True)


def serving_column_to_flag(apps, schema_editor):
    ModelVersion = apps.get_model("registry", "ModelVersion")
    for version in ModelVersion.objects.filter(kind="classifier"):
        version.metadata = {**(version.metadata or {}), "serving": version.is_serving}
        version.is_serving = False
        version.save(update_fields=["metadata", "is_serving"])


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_arena_eligibility'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='modelversion',
            name='one_serving_version',
        ),
        migrations.RunPython(serving_flag_to_column, serving_column_to_flag),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(condition=models.Q(('is_serving', True)), fields=('kind',), name='one_serving_version_per_kind'),
        ),
    ]
