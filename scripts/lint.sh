#!/usr/bin/env bash
# The checks `make test` runs before the suite: the layering contract
# between the apps (pyproject.toml's [tool.importlinter]), ruff's lint and
# ruff's format. `ruff check --fix` and `ruff format` mend most of what the
# last two report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$VENV/bin/lint-imports" --no-cache
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
