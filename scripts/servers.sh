# Sourced by scripts/test (and by tests/test_test_command.py): throwaway database servers.
#   start_postgres   PostgreSQL from Debian's packages (installed if missing) on 127.0.0.1, a data
#                    directory of its own; exports ASYNCMIGRATE_TEST_PG_URL
#   start_mariadb    the same for MariaDB; exports ASYNCMIGRATE_TEST_MYSQL_URL
#   stop_servers     stops both and removes their data directories (set it as the EXIT trap)
# A server that does not come up stops the run with exit 1 and its log printed.
# Ports: ASYNCMIGRATE_PG_PORT / ASYNCMIGRATE_MY_PORT, else a free one.

log() { printf '==> %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }
apt_install() {
  if ! is_root; then
    echo "missing Debian packages ($*) and this is not root: install them first" >&2
    exit 1
  fi
  log "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -q >/dev/null; APT_UPDATED=1; fi
  apt-get install -y -q "$@" >/dev/null
}
free_port() { "${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# server_failed NAME LOG: a server that did not come up stops the run, with its log shown
server_failed() {
  echo "error: $1 did not start; its log ($2):" >&2
  cat "$2" >&2 2>/dev/null || echo "(no log written)" >&2
  exit 1
}

PG_DIR=""
MY_DIR=""
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_servers() {
  if [ -n "$PG_DIR" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  if [ -n "$MY_DIR" ]; then
    if [ -f "$MY_DIR/pid" ]; then kill "$(cat "$MY_DIR/pid")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$MY_DIR"
  fi
}

find_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
start_postgres() {
  PG_BIN="$(find_pg_bin || true)"
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    apt_install postgresql
    PG_BIN="$(find_pg_bin)"
  fi
  PG_DIR="$(mktemp -d /tmp/asyncmigrate-pg.XXXXXX)"
  local port="${ASYNCMIGRATE_PG_PORT:-$(free_port)}" password="asyncmigrate-test"
  if is_root; then chown postgres "$PG_DIR"; fi
  log "starting PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port"
  printf '%s\n' "$password" > "$PG_DIR/pwfile"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
    || server_failed "PostgreSQL initdb" "$PG_DIR/initdb.log"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o \
    "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || server_failed PostgreSQL "$PG_DIR/log"
  export ASYNCMIGRATE_TEST_PG_URL="postgresql+asyncpg://postgres:$password@127.0.0.1:$port/postgres"
}

find_mariadbd() { command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true; }
start_mariadb() {
  local mariadbd
  mariadbd="$(find_mariadbd)"
  if [ -z "$mariadbd" ]; then
    apt_install mariadb-server
    mariadbd="$(find_mariadbd)"
  fi
  MY_DIR="$(mktemp -d /tmp/asyncmigrate-my.XXXXXX)"
  local port="${ASYNCMIGRATE_MY_PORT:-$(free_port)}" password="asyncmigrate-test" user
  user="$(id -un)"
  if is_root; then user=mysql; chown mysql "$MY_DIR"; fi
  log "starting MariaDB ($("$mariadbd" --version | awk '{print $3}')) on 127.0.0.1:$port"
  mariadb-install-db --user="$user" --datadir="$MY_DIR/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$MY_DIR/install.log" 2>&1 || server_failed "mariadb-install-db" "$MY_DIR/install.log"
  "$mariadbd" --no-defaults --user="$user" --datadir="$MY_DIR/data" --socket="$MY_DIR/sock" \
    --port="$port" --bind-address=127.0.0.1 --pid-file="$MY_DIR/pid" --log-error="$MY_DIR/error.log" \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --max-connections=300 &
  local server=$! up=""
  for _ in $(seq 1 150); do
    if mariadb-admin --socket="$MY_DIR/sock" -uroot ping >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$server" 2>/dev/null || break  # it exited: no point waiting 30 s
    sleep 0.2
  done
  [ -n "$up" ] || server_failed MariaDB "$MY_DIR/error.log"
  mariadb --socket="$MY_DIR/sock" -uroot -e "CREATE USER 'test'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT ALL ON *.* TO 'test'@'127.0.0.1';"
  export ASYNCMIGRATE_TEST_MYSQL_URL="mysql+asyncmy://test:$password@127.0.0.1:$port/mysql"
}
