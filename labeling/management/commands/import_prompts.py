"""Imports prompts from a file into the labeling pool, all or nothing."""

import gzip
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import UserError
from labeling.datasets import snapshot_create
from labeling.imports import prompts_import
from labeling.models import DatasetSnapshot, PromptImport


def _read_lines(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as file:
            return file.readlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read {path}: {error}.") from None


class Command(BaseCommand):
    help = (
        "Imports prompts from FILE (JSONL, Anthropic HH-RLHF or OpenAssistant trees; .gz is read as well). "
        "A bad line stops the import before anything is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to import.")
        parser.add_argument("--format", required=True, choices=PromptImport.Format.values)
        parser.add_argument(
            "--snapshot",
            metavar="NAME",
            help="hh and oasst: also freeze the ranked pairs of this import as the next version of "
            "preference dataset NAME.",
        )

    def handle(self, *args, file, snapshot=None, **options):
        fmt = options["format"]
        if snapshot and fmt == PromptImport.Format.JSONL:
            raise CommandError(
                "--snapshot needs ranked data (--format hh or oasst); a JSONL import brings prompts only."
            )
        started = time.perf_counter()
        lines = _read_lines(file)
        try:
            record = prompts_import(lines=lines, fmt=fmt, file_name=Path(file).name)
        except UserError as error:
            raise CommandError(error.message) from None
        elapsed = time.perf_counter() - started
        counts = record.counts
        self.stdout.write(
            f"Import #{record.pk}: {counts['lines']} lines, {counts['items']} items in {elapsed:.2f} s "
            f"({counts['items'] / max(elapsed, 1e-9):,.0f} items/s)."
        )
        self.stdout.write(
            f"  prompts: {counts['prompts_created']} new, "
            f"{counts['prompts_duplicate']} already in the pool or repeated; "
            f"candidates: {counts['candidates_created']} new; ranked tasks: {counts['tasks_created']} new, "
            f"{counts['tasks_duplicate']} duplicates skipped"
            + (
                f"; {counts['same_answers']} lines with two identical answers skipped."
                if counts["same_answers"]
                else "."
            )
        )
        if snapshot:
            started = time.perf_counter()
            try:
                frozen = snapshot_create(
                    name=snapshot, kind=DatasetSnapshot.Kind.PREFERENCE, filters={"import_id": record.pk}
                )
            except UserError as error:
                raise CommandError(error.message) from None
            self.stdout.write(
                f"Snapshot {frozen}: {frozen.item_count} ranked items, sha256 {frozen.content_hash} "
                f"({time.perf_counter() - started:.2f} s)."
            )
