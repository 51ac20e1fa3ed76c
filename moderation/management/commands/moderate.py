"""Scores a JSONL file of {"text": ...} lines, one verdict per line out: how
moderation quality is measured on held-out data."""

import json

from django.core.management.base import BaseCommand, CommandError

from moderation.pipeline import ROLES, moderate_many

BATCH_SIZE = 256


def _read_texts(path: str) -> list[str]:
    """Every text of the file, checked before anything is written, so a bad
    line never leaves half an output behind. Blank lines are skipped."""
    texts = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise CommandError(f"{path}, line {number}: invalid JSON ({error.msg}).") from None
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    raise CommandError(f'{path}, line {number}: expected an object with a string "text".')
                texts.append(record["text"])
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
    return texts


class Command(BaseCommand):
    help = 'Moderates each {"text": ...} line of a JSONL file and writes one verdict per line.'

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help='JSONL file with one {"text": ...} object per line.')
        parser.add_argument("--output", required=True, help="JSONL file to write, one verdict per input line.")
        parser.add_argument(
            "--role", choices=ROLES, default="user", help="Moderate as input (user) or output (assistant)."
        )

    def handle(self, *args, **options):
        texts = _read_texts(options["input"])
        output, role = options["output"], options["role"]
        with open(output, "w", encoding="utf-8") as out:
            for start in range(0, len(texts), BATCH_SIZE):
                for verdict in moderate_many(texts[start : start + BATCH_SIZE], role):
                    out.write(json.dumps(verdict.as_dict()) + "\n")
                self.stderr.write(f"\rmoderated {min(start + BATCH_SIZE, len(texts))}/{len(texts)}", ending="")
        self.stderr.write("")
        self.stdout.write(f"Wrote {len(texts)} verdicts to {output}.")
