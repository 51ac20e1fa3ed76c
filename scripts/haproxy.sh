#!/usr/bin/env bash
# Prints the HAProxy backend for web processes on this machine, to follow
# deploy/haproxy/site.cfg (which has the rest, and listens on LB_BIND):
#   scripts/haproxy.sh WEB_PORT [WEB_PORT ...] > backend.cfg
#   LB_BIND=127.0.0.1:8000 haproxy -f deploy/haproxy/site.cfg -f backend.cfg
# The loopback cluster (`make cluster`) and its test both use it.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/haproxy.sh WEB_PORT [WEB_PORT ...]" >&2; exit 2; }
echo "backend web"
for port in "$@"; do
  echo "    server web$port 127.0.0.1:$port"
done
