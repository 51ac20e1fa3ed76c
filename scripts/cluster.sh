#!/usr/bin/env bash
# `make cluster`: the multi-process stack on one machine. PostgreSQL (Debian's),
# Redis, WEB_PROCESSES web processes behind HAProxy at http://127.0.0.1:WEB_PORT/,
# and a worker per queue and beat, each started by scripts/serve.sh as in a
# container. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

apt_need redis-server redis-server
apt_need haproxy haproxy
postgres_up chatsite
venv_install requirements.txt
vendor_install

export WEB_PROCESSES=${WEB_PROCESSES:-2} WEB_PORT=${WEB_PORT:-8000}
export DATABASE_URL=${DATABASE_URL:-postgres://chatsite:chatsite@127.0.0.1:5432/chatsite}
# HAProxy connects to the web processes from loopback; only it is believed
# about the client's address.
export TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1}
export PATH="$VENV/bin:$PATH"
run_dir="$ROOT/var/cluster"
mkdir -p "$run_dir"

scripts/serve.sh migrate

web_ports=()
for i in $(seq "$WEB_PROCESSES"); do web_ports+=($((WEB_PORT + i))); done
scripts/haproxy.sh "${web_ports[@]}" > "$run_dir/haproxy-backend.cfg"
{
  echo "redis: scripts/redis.sh"
  echo "lb: env LB_BIND=127.0.0.1:$WEB_PORT haproxy -db -f deploy/haproxy/site.cfg -f $run_dir/haproxy-backend.cfg"
  for port in "${web_ports[@]}"; do echo "web$port: env WEB_PORT=$port scripts/serve.sh web"; done
  for role in moderation generation training beat; do echo "$role: scripts/serve.sh $role"; done
} > "$run_dir/Procfile"

echo
echo "Chatsite (cluster: $WEB_PROCESSES web processes behind HAProxy, PostgreSQL) at http://127.0.0.1:$WEB_PORT/  (Ctrl-C stops everything)"
echo
exec honcho start -f "$run_dir/Procfile" -d "$ROOT"
