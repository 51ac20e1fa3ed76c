"""Freezes the labeled items that match some filters as a dataset version."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from labeling.datasets import SFT_TASK_KINDS, snapshot_create
from labeling.models import DatasetSnapshot, Prompt


class Command(BaseCommand):
    help = "Creates the next version of dataset NAME from the items that match the filters."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The dataset's name (letters, digits, - and _).")
        parser.add_argument("--kind", required=True, choices=DatasetSnapshot.Kind.values)
        parser.add_argument("--source", action="append", choices=Prompt.Source.values, dest="sources")
        parser.add_argument("--from", dest="created_from", metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="created_to", metavar="YYYY-MM-DD")
        parser.add_argument("--import", dest="import_id", type=int, metavar="ID", help="Only what this import brought.")
        parser.add_argument(
            "--min-agreement", type=float, help="preference: items whose rankings agree this much (0..1)."
        )
        parser.add_argument(
            "--task-kind", choices=SFT_TASK_KINDS, help="sft: demonstration tasks or better answers of rankings."
        )
        parser.add_argument(
            "--arena-votes",
            action="store_true",
            default=None,
            help="preference: also take single arena votes, which no annotator checked.",
        )
        parser.add_argument(
            "--model-version", type=int, metavar="ID", help="feedback: only the answers of this model version."
        )

    def handle(self, *args, name, kind, **options):
        keys = (
            "sources",
            "created_from",
            "created_to",
            "import_id",
            "min_agreement",
            "task_kind",
            "arena_votes",
            "model_version",
        )
        filters = {key: options[key] for key in keys if options.get(key) is not None}
        try:
            snapshot = snapshot_create(name=name, kind=kind, filters=filters)
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Snapshot {snapshot}: {snapshot.item_count} items, sha256 {snapshot.content_hash}.")
