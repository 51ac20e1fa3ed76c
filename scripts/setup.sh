#!/usr/bin/env bash
# Sets the app up on the embedded defaults: virtual environment, packages,
# Redis, database, the bundled model and the first admin account.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

apt_need redis-server redis-server
venv_install requirements.txt
vendor_install
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py bootstrap
