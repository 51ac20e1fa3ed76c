"""Writes a dataset snapshot as a Hugging Face dataset folder (Parquet shards
and a dataset card), and pushes it to a Hub repository when asked."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from labeling.datasets import snapshot_get
from labeling.hub_export import HUB_FORMATS, dataset_folder_write, dataset_push, folder_name
from labeling.models import DatasetSnapshot


class Command(BaseCommand):
    help = (
        "Writes snapshot SNAPSHOT (name, or name@version; the latest version by default) as a Hugging Face "
        "dataset folder that datasets.load_dataset reads, under DATA_DIR/exports/ unless --out says where; "
        "--push REPO uploads it to that Hub dataset repository (needs DATASET_HUB_TOKEN)."
    )

    def add_arguments(self, parser):
        parser.add_argument("snapshot", help="name or name@version")
        parser.add_argument("--format", required=True, choices=list(HUB_FORMATS))
        parser.add_argument("--out", help="The folder to write (default DATA_DIR/exports/NAME-vVERSION-FORMAT).")
        parser.add_argument("--replace", action="store_true", help="Write over the folder if it exists.")
        parser.add_argument(
            "--push", metavar="REPO", help="Also upload it to this Hub dataset repository (owner/name)."
        )
        parser.add_argument(
            "--public", action="store_true", help="With --push: make the repository public if it is created."
        )

    def handle(self, *args, snapshot, out=None, replace=False, push=None, public=False, **options):
        fmt = options["format"]
        try:
            frozen = snapshot_get(spec=snapshot)
        except DatasetSnapshot.DoesNotExist as error:
            raise CommandError(str(error) or f"No snapshot {snapshot!r}.") from None
        folder = Path(out) if out else settings.DATA_DIR / "exports" / folder_name(snapshot=frozen, fmt=fmt)
        try:
            written = dataset_folder_write(snapshot=frozen, fmt=fmt, out=folder, replace=replace)
        except (UserError, ValueError) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        except OSError as error:
            raise CommandError(f"Cannot write {folder}: {error.strerror}.") from None
        self.stdout.write(
            f"Wrote {folder}: {written['rows']} {fmt} rows of {frozen} in {written['shards']} Parquet "
            f"shard(s), {written['bytes']:,} bytes, sha256 {frozen.content_hash}."
        )
        if push:
            try:
                url = dataset_push(snapshot=frozen, fmt=fmt, folder=folder, repo_id=push, private=not public)
            except UserError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"Pushed to {push}: {url}")
