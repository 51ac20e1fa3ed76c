"""Parsers of the files prompts come from. They read the whole file and
check every line before services.prompts_import writes anything, so a bad
line is reported with its number and nothing is half-imported.

Each parser yields ParsedItem: a prompt conversation, the candidate answers
that came with it, and, when the data says which is better, their ranking.

- `jsonl`: {"prompt": "text"}, {"prompt": [messages]} or {"messages":
  [messages]} per line; other keys are ignored, so TRL prompt-completion and
  preference files import their prompts.
- `hh`: Anthropic HH-RLHF, {"chosen", "rejected"} transcripts in
  "\\n\\nHuman: ...\\n\\nAssistant: ..." form. The turns both share up to
  the last human turn are the prompt; what follows in each is its answer.
- `oasst`: OpenAssistant message trees, one {"prompt": node} per line, a
  node being {"text", "role": "prompter"|"assistant", "replies": [nodes],
  "rank"}. Every prompter node is a prompt (its path from the root is the
  context); its assistant replies are candidates, ranked by `rank` (0 best,
  equal ranks tie) when at least two have one. Nodes marked "deleted" are
  left out with their subtrees; a "system" text beside "prompt" (which
  labeling.exporters writes) starts every conversation of the tree.
"""
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from core.text import clean_text
from training.data import parse_hh_transcript

from .errors import PromptImportError
from .text import clean_messages, normalize


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
    """Raises ValueError for a bad record; None when both answers are the
    same (the pair says nothing)."""
    transcripts = {}
    for key in ("chosen", "rejected"):
        if key not in record:
            raise ValueError(f'missing "{key}"')
        if not isinstance(record[key], str):
            raise ValueError(f'"{key}" must be a string')
        transcripts[key] = parse_hh_transcript(clean_text(record[key]))
    chosen, rejected = transcripts["chosen"], transcripts["rejected"]
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    while shared and chosen[shared - 1]["role"] != "user":
        shared -= 1
    if not shared:
        raise ValueError("chosen and rejected share no human turn")
    answers = []
    for key, turns in transcripts.items():
        rest = turns[shared:]
        if not rest:
            raise ValueError(f"{key} does not end with an assistant turn")
        if any(turn["role"] != "assistant" for turn in rest):
            raise ValueError("chosen and rejected differ before their last human turn")
        answers.append("\n\n".join(turn["content"] for turn in rest))
    messages = clean_messages(chosen[:shared])
    if normalize(answers[0]) == normalize(answers[1]):
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
        raise ValueError(f'{where}: a {node["role"]} node where a {expected_role} turn belongs')
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
