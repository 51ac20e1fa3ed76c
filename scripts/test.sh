#!/usr/bin/env bash
# Installs what the tests need (Debian's Redis, PostgreSQL and chromium;
# the Python packages), starts Redis and PostgreSQL, and runs the suite on
# PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

apt_need redis-server redis-server
apt_need postgresql
apt_need chromium chromium
apt_need haproxy haproxy
apt_need docker-compose docker-compose
venv_install requirements-dev.txt
vendor_install

# The layering contract and ruff first: seconds, and they fail the run.
"$ROOT/scripts/lint.sh"

# A Redis of the tests' own, emptied first, so no stale task or delta leaks in.
TEST_REDIS_PORT=${TEST_REDIS_PORT:-6390}
redis_up "$TEST_REDIS_PORT" "${TMPDIR:-/tmp}/chatsite-test-redis"
redis-cli -p "$TEST_REDIS_PORT" flushall >/dev/null

# PostgreSQL from Debian's cluster tools, with a role for the tests.
postgres_up

# The bundled model, converted once (the SmolLM2 integration test reads it).
export DATA_DIR=${TEST_DATA_DIR:-$ROOT/var/test}
mkdir -p "$DATA_DIR"
"$PY" - <<'PY'
import os
from pathlib import Path
from engine.bundled import BUNDLED_NAME, convert_gguf, find_bundled_gguf
out = Path(os.environ["DATA_DIR"]) / "models" / BUNDLED_NAME
if not (out / "config.json").exists():
    print("Converting the bundled SmolLM2 GGUF once...")
    convert_gguf(find_bundled_gguf(), out)
PY

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://chatsite:chatsite@127.0.0.1:5432/chatsite}
export REDIS_URL=redis://127.0.0.1:$TEST_REDIS_PORT/0
export CHANNEL_LAYER_PREFIX=test
export SMOLLM2_DIR="$DATA_DIR/models/smollm2-135m-instruct"
export CHROMIUM_PATH=${CHROMIUM_PATH:-$(command -v chromium)}
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONFAULTHANDLER=1
export HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error TQDM_DISABLE=1
exec "$PY" -m pytest "$@"
