"""Label or user reply tasks for the best answers of finished ranking items."""

from django.core.management.base import BaseCommand, CommandError

from labeling.answer_tasks import ANSWER_TASK_KINDS, ranked_items_answer_tasks_create
from labeling.models import MAX_CANDIDATES


class Command(BaseCommand):
    help = (
        "Makes label tasks (Likert scales) or user reply tasks for the best answers of up to ITEMS finished "
        "ranking items that still have answers without one; says how many."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=ANSWER_TASK_KINDS)
        parser.add_argument("--items", type=int, default=20, help="At most this many ranking items (default 20).")
        parser.add_argument(
            "--per-item", type=int, default=1, help=f"The best 1..{MAX_CANDIDATES} answers of each (default 1)."
        )
        parser.add_argument(
            "--annotations", type=int, help="Annotators per task (default LABELING_ANNOTATIONS_PER_ITEM)."
        )

    def handle(self, *args, kind, items, per_item, annotations, **options):
        if items < 1:
            raise CommandError("--items must be at least 1.")
        if not 1 <= per_item <= MAX_CANDIDATES:
            raise CommandError(f"--per-item must be from 1 to {MAX_CANDIDATES}.")
        if annotations is not None and annotations < 1:
            raise CommandError("--annotations must be at least 1.")
        made, used = ranked_items_answer_tasks_create(
            kind=kind, items=items, per_item=per_item, required_annotations=annotations
        )
        self.stdout.write(f"{made} {kind} task(s) made from {used} ranking item(s).")
