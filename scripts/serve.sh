#!/usr/bin/env bash
# One role of the app in the foreground: what the Procfile, `make cluster`
# and the container image (deploy/) all run, so what a container runs is
# what the loopback cluster test runs.
#
#   scripts/serve.sh web|moderation|generation|training|beat|migrate
#
# Everything else comes from the environment (README, "Configuration").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
role=${1:?usage: scripts/serve.sh web|moderation|generation|training|beat|migrate}
worker() {  # worker QUEUE POOL CONCURRENCY
  exec "$PYTHON" -m celery -A chatsite worker -Q "$1" -P "$2" -c "$3" -n "$1@%h" \
    --without-gossip --without-mingle -l "${CELERY_LOG_LEVEL:-info}"
}
case "$role" in
  web)
    # One ASGI process; `make cluster` and the compose file run several
    # behind a load balancer. On SIGTERM it stops accepting, closes its
    # WebSockets with 1012 (pages reconnect, through the balancer, to a
    # live process) and waits up to WEB_GRACEFUL_SECONDS for requests.
    # Frames are small JSON (deltas coalesced every 50 ms), and compressing
    # each showed in the web process's profile under bench/load.py, so they
    # go uncompressed. Forwarded headers are believed
    # from TRUSTED_PROXIES only, by the app itself (core/proxy.py).
    exec "$PYTHON" -m uvicorn chatsite.asgi:application \
      --host "${WEB_HOST:-127.0.0.1}" --port "${WEB_PORT:-8000}" \
      --ws websockets-sansio --ws-per-message-deflate false \
      --lifespan off --no-server-header --no-proxy-headers \
      --timeout-graceful-shutdown "${WEB_GRACEFUL_SECONDS:-10}" --log-level "${WEB_LOG_LEVEL:-warning}" ;;
  moderation) worker moderation threads "${MODERATION_WORKER_THREADS:-4}" ;;
  generation) worker generation threads "${GENERATION_WORKER_THREADS:-16}" ;;
  training) worker "${TRAINING_QUEUE:-training}" solo 1 ;;
  beat) exec "$PYTHON" -m celery -A chatsite beat -l info -s "${DATA_DIR:-var}/celerybeat-schedule" ;;
  migrate)
    # Once per release, before the other roles start: the schema, then the
    # bundled model and the first admin (each skipped when already done).
    "$PYTHON" manage.py migrate --noinput
    exec "$PYTHON" manage.py bootstrap ;;
  *) echo "unknown role '$role': web, moderation, generation, training, beat or migrate" >&2; exit 2 ;;
esac
