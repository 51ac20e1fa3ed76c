"""Prompt files into the pool: the parsers of the formats, then
prompts_import, which writes a whole file or nothing. The parsers read the
whole file and check every line before anything is written, so a bad line
is reported with its number and nothing is half-imported.

Each parser yields ParsedItem: a prompt conversation, the candidate answers
that came with it, and, when the data says which is better, their ranking.

- `jsonl`: {"prompt": "text"}, {"prompt": [messages]} or {"messages":
  [messages]} per line; other keys are ignored, so TRL prompt-completion and
  preference files import their prompts.
- `hh`: Anthropic HH-RLHF, {"chosen", "rejected"} transcripts in
  "\\n\\nHuman: ...\\n\\nAssistant: ..." form, split by
  training.data.hh_pair (the reader of training's own HH files): the turns
  both share up to the last human turn are the prompt; what follows in each
  is its answer.
- `oasst`: OpenAssistant message trees, one {"prompt": node} per line, a
  node being {"text", "role": "prompter"|"assistant", "replies": [nodes],
  "rank"}. Every prompter node is a prompt (its path from the root is the
  context); its assistant replies are candidates, ranked by `rank` (0 best,
  equal ranks tie) when at least two have one. Nodes marked "deleted" are
  left out with their subtrees; a "system" text beside "prompt" (which
  labeling.datasets writes) starts every conversation of the tree.
"""

import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction

from core.text import clean_text
from training.data import hh_pair

from .batches import BATCH_SIZE, batches
from .consensus import borda_points
from .errors import PromptImportError
from .models import Candidate, Consensus, Prompt, PromptImport, Task, TaskCandidate
from .text import clean_messages, messages_hash, text_hash

# --- Parsing -----------------------------------------------------------------


@dataclass
class ParsedItem:
    line: int
    messages: list[dict]
    candidates: list[str] = field(default_factory=list)
    # Groups of indexes into `candidates`, best first; None: not ranked.
    ranking: list[list[int]] | None = None
    # Within a line, which item (OpenAssistant trees hold several prompts).
    ref: str = ""


def _records(lines: Iterable[str], file_name: str) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise PromptImportError(file_name, number, f"invalid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict):
            raise PromptImportError(file_name, number, "expected a JSON object")
        yield number, record


def parse_jsonl(lines: Iterable[str], file_name: str) -> Iterator[ParsedItem]:
    for number, record in _records(lines, file_name):
        if "messages" in record and "prompt" in record:
            raise PromptImportError(file_name, number, 'give "prompt" or "messages", not both')
        value = record.get("messages", record.get("prompt"))
        if value is None:
            raise PromptImportError(file_name, number, 'missing "prompt" or "messages"')
        if isinstance(value, str):
            value = [{"role": "user", "content": value}]
        try:
            messages = clean_messages(value)
        except ValueError as error:
            raise PromptImportError(file_name, number, str(error)) from None
        yield ParsedItem(line=number, messages=messages)


def _hh_item(number: int, record: dict) -> ParsedItem | None:
    """Raises ValueError for a bad record; None when the two answers are
    one candidate here (the pair says nothing). training.data.hh_pair splits
    the pair; its text is then cleaned like every imported text, and answers
    are the same when labeling.text.text_hash says so, as candidates are."""
    pair = hh_pair(record)
    if pair is None:
        return None
    prompt, chosen, rejected = pair
    messages = clean_messages(prompt)
    answers = [clean_text(chosen), clean_text(rejected)]
    if text_hash(answers[0]) == text_hash(answers[1]):
        return None
    return ParsedItem(line=number, messages=messages, candidates=answers, ranking=[[0], [1]])


def parse_hh(lines: Iterable[str], file_name: str, *, same_answers: list[int] | None = None) -> Iterator[ParsedItem]:
    """`same_answers`, when given, collects the numbers of lines whose two
    answers are the same; such lines carry no preference and are left out."""
    for number, record in _records(lines, file_name):
        try:
            item = _hh_item(number, record)
        except ValueError as error:
            raise PromptImportError(file_name, number, str(error)) from None
        if item is None:
            if same_answers is not None:
                same_answers.append(number)
            continue
        yield item


_OASST_ROLES = {"prompter": "user", "assistant": "assistant"}


def _oasst_node(node, where: str, expected_role: str) -> dict:
    if not isinstance(node, dict):
        raise ValueError(f"{where} is not an object")
    for key in ("text", "role"):
        if key not in node:
            raise ValueError(f'{where}: missing "{key}"')
    if node["role"] not in _OASST_ROLES:
        raise ValueError(f'{where}: role {node["role"]!r}; expected "prompter" or "assistant"')
    if node["role"] != expected_role:
        raise ValueError(f"{where}: a {node['role']} node where a {expected_role} turn belongs")
    if not isinstance(node["text"], str):
        raise ValueError(f'{where}: "text" must be a string')
    if not clean_text(node["text"]).strip():
        raise ValueError(f"{where}: empty text")
    if not isinstance(node.get("replies", []), list):
        raise ValueError(f'{where}: "replies" must be a list')
    rank = node.get("rank")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 0):
        raise ValueError(f'{where}: "rank" must be a whole number from 0')
    return node


def _oasst_items(node: dict, where: str, context: list[dict]) -> Iterator[ParsedItem]:
    """The prompts of the subtree of prompter `node`, depth first."""
    messages = [*context, {"role": "user", "content": clean_text(node["text"])}]
    replies = [
        (_oasst_node(reply, f"{where}.replies[{index}]", "assistant"), f"{where}.replies[{index}]")
        for index, reply in enumerate(node.get("replies", []))
    ]
    replies = [(reply, path) for reply, path in replies if not reply.get("deleted")]
    candidates = [clean_text(reply["text"]) for reply, _ in replies]
    ranks = {index: reply["rank"] for index, (reply, _) in enumerate(replies) if reply.get("rank") is not None}
    ranking = None
    if len(ranks) >= 2:
        ranking = [[i for i in sorted(ranks) if ranks[i] == rank] for rank in sorted(set(ranks.values()))]
    yield ParsedItem(line=0, messages=messages, candidates=candidates, ranking=ranking, ref=where)
    for reply, path in replies:
        answer = {"role": "assistant", "content": clean_text(reply["text"])}
        for index, child in enumerate(reply.get("replies", [])):
            child_where = f"{path}.replies[{index}]"
            child = _oasst_node(child, child_where, "prompter")
            if not child.get("deleted"):
                yield from _oasst_items(child, child_where, [*messages, answer])


def parse_oasst(lines: Iterable[str], file_name: str) -> Iterator[ParsedItem]:
    for number, record in _records(lines, file_name):
        try:
            if "prompt" not in record:
                raise ValueError('missing "prompt" (the root message of the tree)')
            root = _oasst_node(record["prompt"], "prompt", "prompter")
            context = []
            if "system" in record:
                if not isinstance(record["system"], str) or not clean_text(record["system"]).strip():
                    raise ValueError('"system" must be non-empty text')
                context = [{"role": "system", "content": clean_text(record["system"])}]
            items = list(_oasst_items(root, "prompt", context))
        except ValueError as error:
            raise PromptImportError(file_name, number, str(error)) from None
        for item in items:
            item.line = number
            yield item


# --- Writing a file's items ------------------------------------------------


def prompts_import(*, lines: Iterable[str], fmt: str, file_name: str, created_by=None) -> PromptImport:
    """Imports a whole file or nothing: every line is parsed and checked
    first (PromptImportError names the first bad line), then everything is
    written in one transaction. Prompts already in the pool (or repeated in
    the file) are counted and reused; ranked data (HH-RLHF pairs, ranked
    OpenAssistant replies) becomes ranking tasks that need no annotation,
    with the data's ranking as their consensus, each the same pair once."""
    lines = list(lines)
    same_answers: list[int] = []
    if fmt == PromptImport.Format.HH:
        items = list(parse_hh(lines, file_name, same_answers=same_answers))
    elif fmt == PromptImport.Format.OASST:
        items = list(parse_oasst(lines, file_name))
    elif fmt == PromptImport.Format.JSONL:
        items = list(parse_jsonl(lines, file_name))
    else:
        raise ValueError(f"Unknown import format {fmt!r}.")
    with transaction.atomic():
        record = PromptImport.objects.create(format=fmt, file_name=file_name, created_by=created_by)
        counts = _import_items(record, items)
        record.counts = {"lines": sum(1 for line in lines if line.strip()), "same_answers": len(same_answers), **counts}
        record.save(update_fields=["counts"])
    return record


def _import_items(record: PromptImport, items: list[ParsedItem]) -> dict:
    hashes = [messages_hash(item.messages) for item in items]
    prompt_ids = {}
    for chunk in batches(list(set(hashes))):
        prompt_ids.update(Prompt.objects.filter(content_hash__in=chunk).values_list("content_hash", "id"))
    existing_prompt_ids = set(prompt_ids.values())
    new_prompts: dict[str, Prompt] = {}
    for item, digest in zip(items, hashes, strict=True):
        if digest not in prompt_ids and digest not in new_prompts:
            ref = f"{record.file_name}:{item.line}" + (f" {item.ref}" if item.ref else "")
            new_prompts[digest] = Prompt(
                messages=item.messages,
                source=Prompt.Source.IMPORT,
                source_ref=ref[:500],
                content_hash=digest,
                prompt_import=record,
            )
    Prompt.objects.bulk_create(new_prompts.values(), batch_size=BATCH_SIZE)
    prompt_ids.update({digest: prompt.pk for digest, prompt in new_prompts.items()})

    candidate_ids, candidates_created = _import_candidates(items, hashes, prompt_ids, existing_prompt_ids)
    tasks_created, tasks_duplicate = _import_rankings(record, items, hashes, prompt_ids, candidate_ids)
    return {
        "items": len(items),
        "prompts_created": len(new_prompts),
        "prompts_duplicate": len(items) - len(new_prompts),
        "candidates_created": candidates_created,
        "tasks_created": tasks_created,
        "tasks_duplicate": tasks_duplicate,
    }


def _import_candidates(items, hashes, prompt_ids, existing_prompt_ids) -> tuple[dict[tuple[int, str], int], int]:
    """The id of every candidate of the items by (prompt id, text hash),
    and how many of them are new."""
    ids: dict[tuple[int, str], int] = {}
    wanted = {
        (prompt_ids[digest], text_hash(text)): text
        for item, digest in zip(items, hashes, strict=True)
        for text in item.candidates
    }
    old_prompts = sorted({prompt_id for prompt_id, _ in wanted if prompt_id in existing_prompt_ids})
    for chunk in batches(old_prompts):
        for prompt_id, digest, pk in Candidate.objects.filter(prompt_id__in=chunk).values_list(
            "prompt_id", "text_hash", "id"
        ):
            ids[prompt_id, digest] = pk
    new = [
        Candidate(prompt_id=prompt_id, text=text, text_hash=digest, origin=Candidate.Origin.IMPORTED)
        for (prompt_id, digest), text in wanted.items()
        if (prompt_id, digest) not in ids
    ]
    Candidate.objects.bulk_create(new, batch_size=BATCH_SIZE)
    ids.update({(candidate.prompt_id, candidate.text_hash): candidate.pk for candidate in new})
    return ids, len(new)


def _import_rankings(record, items, hashes, prompt_ids, candidate_ids) -> tuple[int, int]:
    """Each ranked item as a finished task whose consensus is the data's
    ranking; an item already imported (same prompt, same candidates, same
    order) is counted, not repeated. Returns (created, duplicates)."""
    planned: dict[str, tuple[int, list[list[int]]]] = {}
    duplicates = 0
    for item, digest in zip(items, hashes, strict=True):
        if item.ranking is None:
            continue
        prompt_id, seen, groups = prompt_ids[digest], set(), []
        for group in item.ranking:
            ids = []
            for index in group:
                pk = candidate_ids[prompt_id, text_hash(item.candidates[index])]
                if pk not in seen:
                    seen.add(pk)
                    ids.append(pk)
            if ids:
                groups.append(sorted(ids))
        if len(groups) < 2:
            continue
        fingerprint = hashlib.sha256(json.dumps([prompt_id, groups]).encode()).hexdigest()
        if fingerprint in planned:
            duplicates += 1
        else:
            planned[fingerprint] = (prompt_id, groups)
    for chunk in batches(list(planned)):
        for fingerprint in Task.objects.filter(import_fingerprint__in=chunk).values_list(
            "import_fingerprint", flat=True
        ):
            del planned[fingerprint]
            duplicates += 1
    tasks = [
        Task(
            kind=Task.Kind.RANKING,
            prompt_id=prompt_id,
            required_annotations=0,
            prompt_import=record,
            import_fingerprint=fingerprint,
        )
        for fingerprint, (prompt_id, _) in planned.items()
    ]
    Task.objects.bulk_create(tasks, batch_size=BATCH_SIZE)
    links, consensus_rows = [], []
    for task, (_, groups) in zip(tasks, planned.values(), strict=True):
        order = [pk for group in groups for pk in group]
        random.shuffle(order)
        links += [TaskCandidate(task=task, candidate_id=pk, position=i) for i, pk in enumerate(order)]
        points = borda_points(groups)
        consensus_rows.append(
            Consensus(
                task=task,
                method=Consensus.Method.IMPORTED,
                groups=groups,
                scores={str(pk): value for pk, value in points.items()},
            )
        )
    TaskCandidate.objects.bulk_create(links, batch_size=BATCH_SIZE)
    Consensus.objects.bulk_create(consensus_rows, batch_size=BATCH_SIZE)
    return len(tasks), duplicates
