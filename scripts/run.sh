#!/usr/bin/env bash
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
port=${WEB_PORT:-8000}
echo
echo "Chatsite is starting at http://127.0.0.1:$port/  (Ctrl-C stops everything)"
echo
export WEB_PORT=$port PATH="$VENV/bin:$PATH"
exec "$VENV/bin/honcho" start -f Procfile
