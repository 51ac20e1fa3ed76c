"""Creating evaluation sets: from a dataset snapshot's prompts or from an
imported prompts file. A set is never edited afterwards."""

import hashlib
import json
import random

from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import UserError
from labeling.datasets import snapshot_rows
from training.data import DataError, prompt_record

from .models import EvaluationSet
from .selectors import prompt_key

NAME_MAX = 100


def _content_hash(prompts: list[list[dict]]) -> str:
    return hashlib.sha256(json.dumps(prompts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def evaluation_set_create(
    *, name: str, purpose: str, source: str, prompts: list[list[dict]], created_by, snapshot=None, description=""
) -> EvaluationSet:
    """Stores a set of distinct prompts (the first of duplicates kept).
    Raises UserError on a bad name, no prompts or too many
    (EVALUATION_SET_MAX_PROMPTS), or a name already taken."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise UserError("invalid_name", f"Give the set a name of at most {NAME_MAX} characters.")
    if purpose not in EvaluationSet.Purpose.values:
        raise UserError("invalid_purpose", f"Unknown purpose {purpose!r}.")
    seen, distinct = set(), []
    for messages in prompts:
        key = prompt_key(messages)
        if key not in seen:
            seen.add(key)
            distinct.append(messages)
    if not distinct:
        raise UserError("empty", "The set would hold no prompt.")
    limit = settings.EVALUATION_SET_MAX_PROMPTS
    if len(distinct) > limit:
        raise UserError("too_many", f"A set holds at most {limit} prompts; this one has {len(distinct)}.")
    try:
        with transaction.atomic():
            return EvaluationSet.objects.create(
                name=name,
                purpose=purpose,
                source=source,
                snapshot=snapshot,
                description=description,
                prompts=distinct,
                prompt_count=len(distinct),
                content_hash=_content_hash(distinct),
                created_by=created_by,
            )
    except IntegrityError:
        raise UserError("name_taken", f"An evaluation set named {name!r} exists already.") from None


def evaluation_set_from_snapshot(
    *, name: str, purpose: str, snapshot, created_by, count: int | None = None, seed: int = 0, description: str = ""
) -> EvaluationSet:
    """The distinct prompts of a snapshot's rows, or `count` of them drawn
    at random (seeded): the held-out split. From then on no training job
    trains on them, from this snapshot or any other."""
    prompts, seen = [], set()
    for number, row in enumerate(snapshot_rows(snapshot=snapshot), start=1):
        try:
            messages = prompt_record({"prompt": row["messages"]}, f"{snapshot} row {number}")
        except DataError as error:
            raise UserError("invalid_snapshot", str(error)) from None
        if prompt_key(messages) not in seen:
            seen.add(prompt_key(messages))
            prompts.append(messages)
    if count is not None:
        if count <= 0:
            raise UserError("invalid_count", "The number of prompts must be positive.")
        prompts = random.Random(seed).sample(prompts, min(count, len(prompts)))
    return evaluation_set_create(
        name=name,
        purpose=purpose,
        source=EvaluationSet.Source.SNAPSHOT,
        prompts=prompts,
        snapshot=snapshot,
        created_by=created_by,
        description=description or f"{len(prompts)} prompts of {snapshot}",
    )


def evaluation_set_import(*, name: str, purpose: str, lines, created_by, description: str = "") -> EvaluationSet:
    """A set from JSONL text lines in the recipes' prompts format
    ({"prompt": messages or text} a line); a bad line is refused with its
    number, and nothing is stored."""
    prompts = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError("invalid_file", f"Line {number} is not UTF-8 text.") from None
        if not line.strip():
            continue
        try:
            prompts.append(prompt_record(json.loads(line), f"line {number}"))
        except ValueError as error:  # DataError, or invalid JSON
            message = str(error) if isinstance(error, DataError) else f"line {number}: invalid JSON"
            raise UserError("invalid_file", message) from None
    return evaluation_set_create(
        name=name,
        purpose=purpose,
        source=EvaluationSet.Source.IMPORT,
        prompts=prompts,
        created_by=created_by,
        description=description,
    )
