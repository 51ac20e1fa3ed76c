"""A snapshot's frozen rows in the formats trainers read, one JSON object a
line (TRL's dataset formats, conversational form):

- sft-messages: {"messages": [...prompt, {"role": "assistant", ...}]}
- sft-prompt-completion: {"prompt": [...], "completion": [{"role": "assistant", ...}]}
- preference: {"prompt": [...], "chosen": [{"role": "assistant", ...}],
  "rejected": [...], "margin": 1.5, "group_id": "task-12"}: every pair of
  a ranking's candidates that are not tied, better first; `margin` is their
  consensus score difference and `group_id` names the ranking, so a trainer
  can keep its C(K,2) pairs in one split and one batch. A candidate the
  consensus flagged harmful is never `chosen` (its pairs as `rejected` stay:
  they teach what to avoid).
- oasst: OpenAssistant message trees, {"message_tree_id", "prompt": node},
  a node {"text", "role": "prompter"|"assistant", "replies": [...]},
  ranked replies with "rank" (0 best); a system message, which the format
  has no node for, goes in "system". labeling.importers reads them back.
"""
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .consensus import preference_pairs
from .models import FLAG_HARMFUL, DatasetSnapshot
from .selectors import snapshot_rows

FORMATS = {
    "sft-messages": DatasetSnapshot.Kind.SFT,
    "sft-prompt-completion": DatasetSnapshot.Kind.SFT,
    "preference": DatasetSnapshot.Kind.PREFERENCE,
    "oasst": None,  # either kind
}


def _assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def _pairs(row: dict) -> Iterator[dict]:
    candidates = {c["id"]: c for c in row["candidates"]}
    groups: dict[int, list[int]] = {}
    for candidate in row["candidates"]:
        groups.setdefault(candidate["rank"], []).append(candidate["id"])
    harmful = {pk for pk, c in candidates.items() if FLAG_HARMFUL in c["flags"]}
    scores = {pk: c["score"] for pk, c in candidates.items()}
    for chosen, rejected, margin in preference_pairs([groups[r] for r in sorted(groups)], scores, harmful):
        yield {
            "prompt": row["messages"],
            "chosen": _assistant(candidates[chosen]["text"]),
            "rejected": _assistant(candidates[rejected]["text"]),
            "margin": margin,
            "group_id": row["id"],
        }


def _tree(row: dict) -> dict:
    messages = row["messages"]
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if "candidates" in row:
        answers = [{"text": c["text"], "role": "assistant", "rank": c["rank"], "replies": []} for c in row["candidates"]]
    else:
        answers = [{"text": row["completion"], "role": "assistant", "replies": []}]
    replies = answers
    for message in reversed(turns):
        role = "prompter" if message["role"] == "user" else "assistant"
        node = {"text": message["content"], "role": role, "replies": replies}
        replies = [node]
    tree = {"message_tree_id": row["id"], "prompt": replies[0]}
    if system:
        tree["system"] = system[0]
    return tree


def formats_for(*, kind: str) -> list[str]:
    """The formats a `kind` snapshot can be written in."""
    return [fmt for fmt, fits in FORMATS.items() if fits in (None, kind)]


def format_check(*, kind: str, fmt: str) -> None:
    """Raises ValueError unless a `kind` snapshot can be written as `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if FORMATS[fmt] not in (None, kind):
        raise ValueError(f"a {kind} snapshot cannot be exported as {fmt}")


def export_rows(*, kind: str, rows: list[dict], fmt: str) -> Iterator[dict]:
    """Rows of a `kind` snapshot in format `fmt`."""
    format_check(kind=kind, fmt=fmt)
    for row in rows:
        if fmt == "sft-messages":
            yield {"messages": [*row["messages"], *_assistant(row["completion"])]}
        elif fmt == "sft-prompt-completion":
            yield {"prompt": row["messages"], "completion": _assistant(row["completion"])}
        elif fmt == "preference":
            yield from _pairs(row)
        else:
            yield _tree(row)


def export_lines(*, kind: str, rows: list[dict], fmt: str) -> Iterator[str]:
    """The same rows as JSONL lines, as files and downloads hold them."""
    for record in export_rows(kind=kind, rows=rows, fmt=fmt):
        yield json.dumps(record, ensure_ascii=False) + "\n"


def snapshot_export(*, snapshot: DatasetSnapshot, fmt: str, output: TextIO | Path | str) -> int:
    """Writes the snapshot in format `fmt` to `output` (a stream, or a file
    path), one object a line; returns how many lines. The format and the
    file's hash are checked before a file is opened, so a refusal leaves
    no file behind."""
    format_check(kind=snapshot.kind, fmt=fmt)
    rows = snapshot_rows(snapshot=snapshot)
    if isinstance(output, (str, Path)):
        with open(output, "w", encoding="utf-8") as stream:
            return _write(export_lines(kind=snapshot.kind, rows=rows, fmt=fmt), stream)
    return _write(export_lines(kind=snapshot.kind, rows=rows, fmt=fmt), output)


def _write(lines: Iterator[str], stream: TextIO) -> int:
    count = 0
    for line in lines:
        stream.write(line)
        count += 1
    return count
