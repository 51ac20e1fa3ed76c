"""The recipes' dataset formats, and reading them. This is the one page
that documents them; the recipes link here rather than restate them.

Files are JSONL (one JSON object a line; `.gz` read as gzip), as
labeling.datasets writes them. A message is {"role": "system" | "user" |
"assistant", "content": str}.

- sft-messages (sft): a conversation ending with the assistant turn that is
  trained (the loss is on that turn only):
      {"messages": [{"role": "user", "content": "What is the capital of France?"},
                    {"role": "assistant", "content": "Paris."}]}
- preference (reward, dpo): one preference pair a line. "chosen"/"rejected"
  are assistant messages (or a plain string); "prompt" is messages (or a
  string, read as one user turn). "margin" (default 0) is how much better
  chosen is (the reward recipe's use_margin). Lines sharing a "group_id"
  come from one ranking of K answers (up to C(K,2) pairs); a line without
  one is its own group, and held-out data is whole groups:
      {"prompt": [{"role": "user", "content": "How do I pick a lock?"}],
       "chosen": [{"role": "assistant", "content": "I can't help with that..."}],
       "rejected": [{"role": "assistant", "content": "Sure, first..."}],
       "margin": 1.0, "group_id": "task-12"}
- prompts (ppo): {"prompt": [messages]} or {"messages": [...]} (or a
  string); a trailing assistant turn, as in an sft-messages file, is dropped,
  and the prompt must end with a user turn:
      {"prompt": [{"role": "user", "content": "Write a haiku about rain."}]}
- unpaired (kto): one judged answer a line, TRL's unpaired preference
  format; "label" true for a good answer (a thumbs up), false for a bad one:
      {"prompt": [{"role": "user", "content": "Tell me a joke."}],
       "completion": [{"role": "assistant", "content": "Why did the..."}],
       "label": true}
- corpus (pretrain): any UTF-8 text file, e.g. tinyshakespeare ("First
  Citizen: Before we proceed any further, hear me speak. ..."); not JSONL.
- HH-RLHF transcripts (reward_eval, and the converter below): Anthropic's
  {"chosen": "\\n\\nHuman: ...\\n\\nAssistant: ...", "rejected": "..."};
  `hh_pair` splits one into prompt and answers.

`python -m training.data hh-to-preference IN OUT` converts HH-RLHF
transcripts to the preference format (each line its own group).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    """A data file a recipe cannot use; the message names the file and line."""


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with _open(path) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{path}:{number}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: expected a JSON object")
            yield number, record


def _messages(value, where: str) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise DataError(f"{where}: expected a non-empty list of messages")
    for message in value:
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("content"), str)
            or message.get("role") not in ("system", "user", "assistant")
        ):
            raise DataError(f"{where}: each message needs a role (system/user/assistant) and a string content")
    return [{"role": m["role"], "content": m["content"]} for m in value]


def load_sft_messages(path: str | Path) -> list[list[dict]]:
    """Conversations that end with an assistant turn."""
    conversations = []
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        if "messages" not in record:
            raise DataError(f'{where}: missing "messages"')
        messages = _messages(record["messages"], where)
        if messages[-1]["role"] != "assistant":
            raise DataError(f"{where}: the last message must be the assistant's")
        conversations.append(messages)
    if not conversations:
        raise DataError(f"{path}: no examples")
    return conversations


def prompt_record(record, where: str) -> list[dict]:
    """One line of the prompts format as messages up to and including the
    last user turn (a trailing assistant turn, as in an SFT file, is
    dropped); DataError naming `where` otherwise."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object")
    value = record.get("prompt", record.get("messages"))
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    if value is None:
        raise DataError(f'{where}: missing "prompt" or "messages"')
    messages = _messages(value, where)
    while messages and messages[-1]["role"] == "assistant":
        messages.pop()
    if not messages or messages[-1]["role"] != "user":
        raise DataError(f"{where}: the prompt must end with a user turn")
    return messages


def load_prompts(path: str | Path) -> list[list[dict]]:
    """PPO's and the evaluation's prompts (prompt_record, a line each)."""
    prompts = [prompt_record(record, f"{path}:{number}") for number, record in read_jsonl(path)]
    if not prompts:
        raise DataError(f"{path}: no prompts")
    return prompts


def load_unpaired(path: str | Path) -> list[dict]:
    """KTO's rows: {"prompt": messages ending with a user turn, "completion":
    [one assistant message], "label": bool}."""
    rows = []
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        for key in ("prompt", "completion", "label"):
            if key not in record:
                raise DataError(f'{where}: missing "{key}"')
        prompt = record["prompt"]
        prompt = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else _messages(prompt, where)
        if prompt[-1]["role"] != "user":
            raise DataError(f"{where}: the prompt must end with a user turn")
        if not isinstance(record["label"], bool):
            raise DataError(f'{where}: "label" must be true or false')
        completion = _answer(record["completion"], where, "completion")
        rows.append(
            {"prompt": prompt, "completion": [{"role": "assistant", "content": completion}], "label": record["label"]}
        )
    if not rows:
        raise DataError(f"{path}: no examples")
    return rows


@dataclass
class PreferenceGroup:
    """One ranking: a prompt, its distinct responses, and every preference
    pair among them as (chosen index, rejected index, margin). A ranking of K
    answers gives up to C(K,2) pairs; they are scored in one forward."""

    group_id: str
    prompt: list[dict]
    responses: list[str] = field(default_factory=list)
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    def response_index(self, text: str) -> int:
        if text not in self.responses:
            self.responses.append(text)
        return self.responses.index(text)


def _answer(value, where: str, key: str) -> str:
    if isinstance(value, str):
        return value
    messages = _messages(value, f"{where}: {key}")
    if any(m["role"] != "assistant" for m in messages):
        raise DataError(f"{where}: {key} must hold assistant messages only")
    return "\n\n".join(m["content"] for m in messages)


def load_preference_groups(path: str | Path) -> list[PreferenceGroup]:
    """Preference pairs grouped by group_id (a line without one is its own
    group), in first-seen order."""
    groups: dict[str, PreferenceGroup] = {}
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        for key in ("prompt", "chosen", "rejected"):
            if key not in record:
                raise DataError(f'{where}: missing "{key}"')
        prompt = record["prompt"]
        prompt = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else _messages(prompt, where)
        chosen = _answer(record["chosen"], where, "chosen")
        rejected = _answer(record["rejected"], where, "rejected")
        margin = record.get("margin", 0.0)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)):
            raise DataError(f'{where}: "margin" must be a number')
        group_id = str(record.get("group_id", f"line-{number}"))
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = PreferenceGroup(group_id=group_id, prompt=prompt)
        elif group.prompt != prompt:
            raise DataError(f"{where}: group {group_id!r} has pairs with different prompts")
        group.pairs.append((group.response_index(chosen), group.response_index(rejected), float(margin)))
    if not groups:
        raise DataError(f"{path}: no preference pairs")
    return list(groups.values())


def split_groups(groups: list, eval_fraction: float, seed: int) -> tuple[list, list]:
    """(train, eval): whole groups are held out, so no ranking's pairs are on
    both sides. At least one group is held out when eval_fraction > 0."""
    if eval_fraction <= 0:
        return list(groups), []
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(len(groups) * eval_fraction))
    if n_eval >= len(groups):
        raise DataError(f"eval_fraction {eval_fraction} leaves no training group out of {len(groups)}")
    held = set(order[:n_eval])
    return [g for i, g in enumerate(groups) if i not in held], [g for i, g in enumerate(groups) if i in held]


# Anthropic HH-RLHF transcripts ("\n\nHuman: ...\n\nAssistant: ...").
_HH_TURN = re.compile(r"\n\n(Human|Assistant): ?")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}


def parse_hh_transcript(text: str) -> list[dict]:
    """The turns of an HH-RLHF transcript, each turn's text stripped.
    Consecutive turns of one speaker (a few transcripts have them) are
    joined, as chat templates want turns to alternate. Raises ValueError
    when there is text before the first turn."""
    parts = _HH_TURN.split(text)
    if parts[0].strip():
        raise ValueError('text before the first "Human:" turn')
    turns: list[dict] = []
    for speaker, content in zip(parts[1::2], parts[2::2], strict=True):
        role, content = _HH_ROLES[speaker], content.strip()
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + content
        else:
            turns.append({"role": role, "content": content})
    return turns


def hh_pair(record: dict) -> tuple[list[dict], str, str] | None:
    """(prompt, chosen answer, rejected answer) of an HH record: the turns
    both transcripts share up to the last human turn are the prompt, what
    follows in each (one or more assistant turns) its answer. None when the
    two answers are the same. Raises ValueError for a bad record.
    load_eval_pairs, `hh-to-preference` and labeling.imports all read HH
    pairs with it.

    Its one normalisation is stripping each turn's text (parse_hh_transcript):
    the blank lines between turns and the space after "Human:" are the
    transcript's syntax, not what was said. Turns and answers are then
    compared exactly. Removing control characters before storing text, and
    treating texts that differ only in case or spacing as one candidate, are
    labeling's rules for everything it imports (core.text.clean_text,
    labeling.text.text_hash), so they are applied there, not here."""
    transcripts = []
    for key in ("chosen", "rejected"):
        if key not in record:
            raise ValueError(f'missing "{key}"')
        if not isinstance(record[key], str):
            raise ValueError(f'"{key}" must be a string')
        transcripts.append(parse_hh_transcript(record[key]))
    chosen, rejected = transcripts
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    while shared and chosen[shared - 1]["role"] != "user":
        shared -= 1
    if not shared:
        raise ValueError("chosen and rejected share no human turn")
    answers = []
    for key, turns in zip(("chosen", "rejected"), transcripts, strict=True):
        rest = turns[shared:]
        if not rest:
            raise ValueError(f"{key} does not end with an assistant turn")
        if any(t["role"] != "assistant" for t in rest):
            raise ValueError("chosen and rejected differ before their last human turn")
        answers.append("\n\n".join(t["content"] for t in rest))
    if answers[0] == answers[1]:
        return None
    return chosen[:shared], answers[0], answers[1]


def hh_to_preference(lines: Iterable[tuple[int, dict]]) -> tuple[list[dict], int]:
    """Preference-format records of HH records, and how many were skipped
    (unparseable or identical answers)."""
    out, skipped = [], 0
    for number, record in lines:
        try:
            pair = hh_pair(record)
        except (KeyError, TypeError, ValueError):
            pair = None
        if pair is None:
            skipped += 1
            continue
        prompt, chosen, rejected = pair
        out.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
                "margin": 0.0,
                "group_id": f"hh-{number}",
            }
        )
    return out, skipped


def load_eval_pairs(path: str | Path) -> list[tuple[list[dict], str, str]]:
    """(prompt, chosen, rejected) triples of a file of either HH transcripts
    or preference-format lines, for reward_eval."""
    triples = []
    for number, record in read_jsonl(path):
        if isinstance(record.get("chosen"), str) and "prompt" not in record:
            try:
                pair = hh_pair(record)
            except (KeyError, TypeError, ValueError) as error:
                raise DataError(f"{path}:{number}: {error}") from None
            if pair is not None:
                triples.append(pair)
            continue
        for key in ("prompt", "chosen", "rejected"):
            if key not in record:
                raise DataError(f'{path}:{number}: missing "{key}"')
        where = f"{path}:{number}"
        prompt = record["prompt"]
        prompt = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else _messages(prompt, where)
        triples.append(
            (prompt, _answer(record["chosen"], where, "chosen"), _answer(record["rejected"], where, "rejected"))
        )
    if not triples:
        raise DataError(f"{path}: no pairs")
    return triples


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.data")
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("hh-to-preference", help="HH-RLHF transcripts -> preference JSONL")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--limit", type=int, default=None, help="keep the first N pairs")
    args = parser.parse_args(argv)
    try:
        records, skipped = hh_to_preference(read_jsonl(args.input))
    except DataError as error:
        print(f"data: {error}", file=sys.stderr)
        return 2
    if args.limit is not None:
        records = records[: args.limit]
    count = write_jsonl(args.output, records)
    print(json.dumps({"pairs": count, "skipped": skipped, "output": args.output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
