"""The command line every recipe shares:
`python -m training.<kind> --config FILE [--set key=value ...]`.

Exit 0 on success and after a SIGTERM stop; exit 2 with one line on stderr
for a bad config or bad data, which the jobs app shows as the failure."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, load_config
from .data import DataError


def main(kind: str, config_cls, train, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m training.{kind}", description=f"Run the {kind} recipe.")
    parser.add_argument("--config", required=True, help="JSON or YAML file of the config's fields")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field (repeatable); the value is read as JSON when it parses",
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(config_cls, args.config, args.overrides)
        train(config)
    except (ConfigError, DataError) as error:
        print(f"{kind}: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


def run(kind: str, config_cls, train) -> None:
    sys.exit(main(kind, config_cls, train))
