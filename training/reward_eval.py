"""Pairwise accuracy of a reward model on a file of preference pairs:
`python -m training.reward_eval --model DIR --pairs FILE` prints
{"accuracy": ..., "pairs": ...}. FILE holds HH-RLHF transcripts or
preference lines (formats in training/data.py)."""

from __future__ import annotations

import argparse
import json
import sys

from . import device as hw
from .config import ConfigError
from .data import DataError, load_eval_pairs
from .reward import RewardJudge


def pairwise_accuracy(
    model_dir: str,
    pairs_file: str,
    *,
    max_length: int | None = None,
    batch_size: int = 8,
    limit: int | None = None,
    device: str = "auto",
) -> dict:
    """`max_length` None: the context the model was trained on (training.reward saves it)."""
    judge = RewardJudge.load(model_dir, hw.resolve_device(device), max_length=max_length, normalize=False)
    triples = load_eval_pairs(pairs_file)[:limit]
    wins = 0.0
    for start in range(0, len(triples), batch_size):
        chunk = triples[start : start + batch_size]
        rewards = judge.score([p for p, _, _ in chunk for _ in (0, 1)], [a for _, c, r in chunk for a in (c, r)])
        diff = rewards.view(-1, 2)[:, 0] - rewards.view(-1, 2)[:, 1]
        wins += (diff > 0).sum().item() + 0.5 * (diff == 0).sum().item()
    return {"accuracy": wins / len(triples), "pairs": len(triples)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.reward_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--pairs", required=True)
    parser.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="score the last N tokens of each text (default: what the model was trained on, else 512)",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        result = pairwise_accuracy(
            args.model,
            args.pairs,
            max_length=args.max_length,
            batch_size=args.batch_size,
            limit=args.limit,
            device=args.device,
        )
    except (ConfigError, DataError) as error:
        print(f"reward_eval: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
