"""CPU seconds a long chat history costs the generation worker, before and
after issue 15 item 1: fitting N turns into the model's context with the
old `encode_chat` (drop the two oldest turns, render the template and
tokenise everything again, until it fits: quadratic) and the new one
(engine/backends/local.py), on the same histories, with SmolLM2's
tokenizer and template. Then the worst request each way: before, any
history a 1 MiB /v1 body holds reached the worker; after, /v1 refuses more
than CHAT_MAX_TURNS messages or CHAT_MAX_CONTEXT_CHARS characters at
parsing, and the worst it takes is that many.

    .venv/bin/python bench/v1_history.py [--turns 2000 4000 8000 16000] [--old-max-turns 16000]
        [--model-dir var/test/models/smollm2-135m-instruct] [--out bench/results/v1_history.json]

The history is the review's exploit: alternating one-character turns,
ending in the user's "hi".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from bench.report import report_write  # noqa: E402

MAX_NEW_TOKENS = 512  # GENERATION_MAX_NEW_TOKENS' default


def old_encode_chat(tokenizer, max_context: int, messages: list[dict], max_new_tokens: int):
    """encode_chat as it was up to c3a156c (engine/backends/local.py), the baseline."""
    system = [m for m in messages[:1] if m["role"] == "system"]
    turns = messages[len(system) :]
    budget = max_context - max_new_tokens
    while True:
        ids = tokenizer.apply_chat_template(
            system + turns, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"]
        if ids.shape[1] <= budget:
            return ids
        if len(turns) <= 1:
            raise ValueError("the newest turn alone does not fit")
        turns = turns[2:] if len(turns) > 2 else turns[-1:]


def history(turns: int, chars: int = 1) -> list[dict]:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "a" * chars} for i in range(turns)]
    return [*messages, {"role": "user", "content": "hi"}]


def cpu_seconds(function):
    started = time.process_time()
    result = function()
    return result, round(time.process_time() - started, 4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    parser.add_argument("--old-max-turns", type=int, default=16000, help="the old algorithm runs up to this many")
    parser.add_argument("--model-dir", default=str(ROOT / "var/test/models/smollm2-135m-instruct"))
    parser.add_argument("--out", default=str(ROOT / "bench/results/v1_history.json"))
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from transformers import AutoTokenizer

    from engine.backends.local import LocalBackend
    from openai_api.requests import ApiError, parse_completion_request

    class Encoder(LocalBackend):
        """The backend's context fitting without its model."""

        def __init__(self, tokenizer, max_context: int):
            self.tokenizer, self.max_context = tokenizer, max_context

    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    max_context = json.loads((Path(args.model_dir) / "config.json").read_text())["max_position_embeddings"]
    encoder = Encoder(tokenizer, max_context)
    report = {
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "tokenizer": Path(args.model_dir).name,
        "max_context": max_context,
        "max_new_tokens": MAX_NEW_TOKENS,
        "histories": {},
    }
    encoder.encode_chat(history(10), MAX_NEW_TOKENS)  # the template compiled, the tokenizer warm
    for turns in args.turns:
        messages = history(turns)
        new_ids, new = cpu_seconds(lambda messages=messages: encoder.encode_chat(messages, MAX_NEW_TOKENS))
        row = {"new_cpu_seconds": new, "prompt_tokens": int(new_ids.shape[1])}
        if turns <= args.old_max_turns:
            old_ids, old = cpu_seconds(
                lambda messages=messages: old_encode_chat(tokenizer, max_context, messages, MAX_NEW_TOKENS)
            )
            same = bool(old_ids.shape == new_ids.shape and (old_ids == new_ids).all())
            row.update(old_cpu_seconds=old, same_prompt=same, old_over_new=round(old / max(new, 1e-4), 1))
        report["histories"][turns] = row
        print(turns, row, flush=True)

    # The worst request each way.
    biggest = max(args.turns)
    body = json.dumps({"model": "", "messages": history(biggest)}).encode()

    def parse_as_the_view_does():
        try:
            parse_completion_request(json.loads(body))
        except ApiError as error:
            return {"status": error.status, "code": error.code, "message": error.message}

    refused, parse_cpu = cpu_seconds(parse_as_the_view_does)
    # The most /v1 now takes: CHAT_MAX_TURNS messages holding CHAT_MAX_CONTEXT_CHARS.
    per_turn = settings.CHAT_MAX_CONTEXT_CHARS // settings.CHAT_MAX_TURNS - 1
    accepted = history(settings.CHAT_MAX_TURNS - 1, chars=per_turn)
    parse_completion_request({"messages": accepted})  # it is taken
    _, accepted_new = cpu_seconds(lambda: encoder.encode_chat(accepted, MAX_NEW_TOKENS))
    _, accepted_old = cpu_seconds(lambda: old_encode_chat(tokenizer, max_context, accepted, MAX_NEW_TOKENS))
    measured_old = [t for t in args.turns if "old_cpu_seconds" in report["histories"][t]]
    before = report["histories"][max(measured_old)]["old_cpu_seconds"] if measured_old else None
    after = parse_cpu + accepted_new
    report["worst_request"] = {
        "before": {
            "turns": max(measured_old) if measured_old else None,
            "cpu_seconds": before,
            "note": "the old encode_chat on the longest history measured; a 1 MiB body holds about 32,000 turns",
        },
        "after": {
            "refused_body_bytes": len(body),
            "refused_turns": biggest + 1,
            "refused_as": refused,
            "parse_cpu_seconds": parse_cpu,
            "accepted_turns": len(accepted),
            "accepted_chars": sum(len(m["content"]) for m in accepted),
            "accepted_encode_cpu_seconds": accepted_new,
            "accepted_encode_old_cpu_seconds": accepted_old,
            "cpu_seconds": round(after, 4),
        },
        "before_over_after": round(before / max(after, 1e-4), 1) if before else None,
    }
    report_write(report, args.out)


if __name__ == "__main__":
    main()
