"""`python manage.py evaluation_set NAME --from-snapshot SNAP [--count N]`
or `--file PROMPTS.jsonl`: makes an evaluation set (held-out prompts, or a
red-team set with --red-team). Its prompts are never trained on again."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from evaluation.models import EvaluationSet
from evaluation.services import evaluation_set_from_snapshot, evaluation_set_import
from labeling.datasets import snapshot_get
from labeling.models import DatasetSnapshot


class Command(BaseCommand):
    help = "Makes an evaluation set from a dataset snapshot's prompts or a prompts file."

    def add_arguments(self, parser):
        parser.add_argument("name")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--from-snapshot", metavar="NAME[@VERSION]")
        source.add_argument("--file", help='JSONL, one prompt a line ({"prompt": messages or text})')
        parser.add_argument("--count", type=int, help="from a snapshot: this many of its prompts, drawn at random")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--red-team", action="store_true", help="prompts whose answers moderation judges")
        parser.add_argument("--description", default="")
        parser.add_argument("--user", default="admin")

    def handle(self, *args, **options):
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user is named {options['user']!r}.") from None
        purpose = EvaluationSet.Purpose.RED_TEAM if options["red_team"] else EvaluationSet.Purpose.GENERAL
        try:
            if options["from_snapshot"]:
                try:
                    snapshot = snapshot_get(spec=options["from_snapshot"])
                except DatasetSnapshot.DoesNotExist as error:
                    raise CommandError(str(error)) from None
                made = evaluation_set_from_snapshot(
                    name=options["name"],
                    purpose=purpose,
                    snapshot=snapshot,
                    created_by=user,
                    count=options["count"],
                    seed=options["seed"],
                    description=options["description"],
                )
            else:
                path = Path(options["file"])
                if not path.is_file():
                    raise CommandError(f"{path} is not a file.")
                with open(path, "rb") as stream:
                    made = evaluation_set_import(
                        name=options["name"],
                        purpose=purpose,
                        lines=stream,
                        created_by=user,
                        description=options["description"],
                    )
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Evaluation set {made.name}: {made.prompt_count} prompts, sha256 {made.content_hash}.")
