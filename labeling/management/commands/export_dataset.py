"""Writes a dataset snapshot in one of the formats trainers read."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from labeling.datasets import FORMATS, snapshot_export, snapshot_get
from labeling.models import DatasetSnapshot


class Command(BaseCommand):
    help = "Exports snapshot SNAPSHOT (name, or name@version; the latest version by default) as JSONL."

    def add_arguments(self, parser):
        parser.add_argument("snapshot", help="name or name@version")
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument("--output", required=True, help="The JSONL file to write; - for standard output.")

    def handle(self, *args, snapshot, output, **options):
        fmt = options["format"]
        try:
            frozen = snapshot_get(spec=snapshot)
        except DatasetSnapshot.DoesNotExist as error:
            raise CommandError(str(error) or f"No snapshot {snapshot!r}.") from None
        started = time.perf_counter()
        try:
            count = snapshot_export(snapshot=frozen, fmt=fmt, output=self.stdout if output == "-" else output)
        except (UserError, ValueError) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
        elapsed = time.perf_counter() - started
        self.stderr.write(
            f"Wrote {count} {fmt} lines from {frozen} ({frozen.item_count} items) in {elapsed:.2f} s "
            f"({frozen.item_count / max(elapsed, 1e-9):,.0f} items/s, {count / max(elapsed, 1e-9):,.0f} lines/s)."
        )
