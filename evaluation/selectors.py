"""Reads of evaluation sets: the prompts they hold, in the recipes' prompts
format, and the keys that keep them out of training."""

import json
from pathlib import Path

from .models import EvaluationSet


def prompt_key(messages: list[dict]) -> str:
    """One prompt's identity: its messages' roles and texts, canonical."""
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False, separators=(",", ":"))


def held_out_prompt_keys() -> set[str]:
    """The keys of every prompt in every evaluation set."""
    return {prompt_key(p) for prompts in EvaluationSet.objects.values_list("prompts", flat=True) for p in prompts}


def evaluation_set_write_prompts(*, evaluation_set: EvaluationSet, path: Path) -> int:
    """The set's prompts as a prompts file ({"prompt": messages} a line)."""
    with open(path, "w", encoding="utf-8") as out:
        for messages in evaluation_set.prompts:
            out.write(json.dumps({"prompt": messages}, ensure_ascii=False) + "\n")
    return len(evaluation_set.prompts)


def _row_prompt(row: dict) -> list[dict] | None:
    """The prompt of a line of any export format a recipe trains on."""
    if isinstance(row.get("prompt"), list):
        return row["prompt"]
    messages = row.get("messages")
    if isinstance(messages, list) and messages:
        return messages[:-1] if messages[-1].get("role") == "assistant" else messages
    return None


def drop_held_out(*, path: Path) -> int:
    """Rewrites a training file without the lines whose prompt is in an
    evaluation set; returns how many it dropped."""
    held_out = held_out_prompt_keys()
    if not held_out:
        return 0
    kept, dropped = [], 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            prompt = _row_prompt(json.loads(line)) if line.strip() else None
            if prompt is not None and prompt_key(prompt) in held_out:
                dropped += 1
            else:
                kept.append(line)
    if dropped:
        partial = path.with_suffix(".partial")
        partial.write_text("".join(kept), encoding="utf-8")
        partial.replace(path)
    return dropped
