"""The worst message's CPU cost under an admin's catastrophic regex rule,
before (Python's backtracking `re`, as the rules layer compiled admin rules
until issue 15) and after (RE2, `moderation.rule_syntax.compile_pattern`), and
the built-in rules (still on `re`) against hostile text as long as a
message may be, before and after the layer collapsed runs of whitespace
for them.

The backtracking baseline grows exponentially with the input, so it is
timed on inputs short enough to finish, its growth per character fitted,
and the review's 40-character attack extrapolated from that fit.

    .venv/bin/python bench/regex_rules.py [--out bench/results/regex_rules.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The review's plausible admin rules, with the input that makes each
# backtrack: word characters and no way to finish the match.
CATASTROPHIC = {
    r"^(a|aa)+$": lambda n: "a" * n + "!",
    r"(\w+\s?)+(?:kill|murder)\b": lambda n: "a" * n + "!",
}
ATTACK_CHARS = 40
MESSAGE_CHARS = 16_000  # settings.CHAT_MAX_MESSAGE_CHARS' default
BASELINE_BUDGET_S = 2.0  # stop lengthening the baseline's input past this


def cpu_seconds(function, repeat: int = 1) -> float:
    """The least CPU time of `repeat` calls (the least is the one least
    disturbed by other processes on a shared machine)."""
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def backtracking(pattern: str, make_input) -> dict:
    """Times `re` on growing inputs until one takes BASELINE_BUDGET_S, then
    fits log(seconds) against length over the slowest half."""
    compiled = re.compile(pattern, re.IGNORECASE)
    points = []
    for n in range(8, 64):
        seconds = cpu_seconds(lambda n=n: compiled.search(make_input(n)))
        points.append((n, seconds))
        if seconds > BASELINE_BUDGET_S:
            break
    fitted = [(n, s) for n, s in points[len(points) // 2 :] if s > 0]
    (n0, s0), (n1, s1) = fitted[0], fitted[-1]
    growth = (s1 / s0) ** (1 / (n1 - n0))
    return {
        "timed": [{"chars": n, "cpu_s": round(s, 6)} for n, s in points],
        "growth_per_char": round(growth, 3),
        "longest_timed_chars": n1,
        "longest_timed_cpu_s": round(s1, 3),
        f"extrapolated_cpu_s_at_{ATTACK_CHARS}_chars": round(s1 * growth ** (ATTACK_CHARS - n1), 1),
    }


def linear(pattern: str, make_input) -> dict:
    from moderation.rule_syntax import REGEX, compile_pattern

    compiled = compile_pattern(REGEX, pattern)
    return {
        f"cpu_s_at_{n}_chars": round(cpu_seconds(lambda n=n: compiled.search(make_input(n).encode()), repeat=5), 6)
        for n in (ATTACK_CHARS, MESSAGE_CHARS)
    }


def hostile_messages() -> dict[str, str]:
    """Texts aimed at the built-in rules' repetitions: long runs of what
    their gaps and optional parts accept, and the rules' own words in a
    random order (many partial matches), as long as a message may be."""
    n = MESSAGE_CHARS
    from moderation.default_rules import DEFAULT_RULES

    vocabulary = sorted({word for rule in DEFAULT_RULES for word in re.findall(r"[a-z']{2,}", rule.pattern)})
    chooser = random.Random(15)
    return {
        "i_then_spaces": "i" + " " * (n - 2) + "x",
        "spaces_after_each_i": ("i" + " " * 200 + "x ") * (n // 203),
        "i_will_repeated": ("i will " * n)[:n],
        "how_to_repeated": ("how do i make " * n)[:n],
        "words_no_object": ("i am going to really very much " * n)[:n],
        "word_characters": "a" * n,
        "apostrophes": ("i'm '" * n)[:n],
        "rule_words_shuffled": " ".join(chooser.choice(vocabulary) for _ in range(n))[:n],
    }


def builtins() -> dict:
    """After: `score_text` as the layer runs it. Before: each built-in
    expression on the raw text, as the layer ran them until issue 15 (on
    the whitespace run, timed at shorter lengths and extrapolated, since it
    grows quadratically)."""
    from moderation.rules import builtin_rules, score_text

    rules = builtin_rules()
    regexes = [rule.pattern for rule in rules if isinstance(rule.pattern, re.Pattern)]
    after = {
        name: round(cpu_seconds(lambda text=text: score_text(text, rules), repeat=3), 4)
        for name, text in hostile_messages().items()
    }
    timed = {}
    for chars in (1000, 2000, 4000):
        text = "i" + " " * (chars - 2) + "x"
        timed[chars] = cpu_seconds(lambda text=text: [pattern.search(text) for pattern in regexes])
    growth = (timed[4000] / timed[1000]) ** 0.5  # per doubling
    before = timed[4000] * growth ** math.log2(MESSAGE_CHARS / 4000)
    return {
        "chars": MESSAGE_CHARS,
        "after_cpu_s_per_message": after,
        "after_worst_cpu_s": max(after.values()),
        "before_i_then_spaces": {
            "timed": {str(chars): round(seconds, 4) for chars, seconds in timed.items()},
            "growth_per_doubling": round(growth, 2),
            f"extrapolated_cpu_s_at_{MESSAGE_CHARS}_chars": round(before, 1),
        },
        "ratio_before_over_after_i_then_spaces": round(before / max(after["i_then_spaces"], 1e-6)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "regex_rules.json"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    report = {"admin_rules": {}, "machine": {"cpus": os.cpu_count(), "load_average_before": load_before}}
    for pattern, make_input in CATASTROPHIC.items():
        before, after = backtracking(pattern, make_input), linear(pattern, make_input)
        at_attack = before[f"extrapolated_cpu_s_at_{ATTACK_CHARS}_chars"]
        after_attack = after[f"cpu_s_at_{ATTACK_CHARS}_chars"]
        report["admin_rules"][pattern] = {
            "before_re": before,
            "after_re2": after,
            f"ratio_before_over_after_at_{ATTACK_CHARS}_chars": float(f"{at_attack / max(after_attack, 1e-6):.3g}"),
        }
        print(
            f"{pattern}\n  re: x{before['growth_per_char']} per character, {before['longest_timed_cpu_s']} s at "
            f"{before['longest_timed_chars']} chars, about {at_attack:g} s at {ATTACK_CHARS}\n"
            f"  re2: {after_attack} s at {ATTACK_CHARS} chars, {after[f'cpu_s_at_{MESSAGE_CHARS}_chars']} s at "
            f"{MESSAGE_CHARS}"
        )
    report["builtin_rules_on_re"] = builtins()
    built_in = report["builtin_rules_on_re"]
    print(
        f"built-in rules on re, an 'i' then spaces ({MESSAGE_CHARS} chars): before about "
        f"{built_in['before_i_then_spaces'][f'extrapolated_cpu_s_at_{MESSAGE_CHARS}_chars']} s, after "
        f"{built_in['after_cpu_s_per_message']['i_then_spaces']} s; worst hostile message after: "
        f"{built_in['after_worst_cpu_s']} s"
    )
    report["machine"]["load_average_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
