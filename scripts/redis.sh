#!/usr/bin/env bash
# The Procfile's Redis: runs one in the foreground, or waits quietly when
# REDIS_URL already points at a Redis that answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
url=${REDIS_URL:-redis://127.0.0.1:6379/0}
port=$(echo "$url" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')
if redis-cli -u "$url" ping >/dev/null 2>&1; then
  echo "Using the Redis already running at $url"
  exec sleep infinity
fi
mkdir -p "$ROOT/var/redis"
exec redis-server --port "$port" --bind 127.0.0.1 --dir "$ROOT/var/redis" --save 60 1 --appendonly no
