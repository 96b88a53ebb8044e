#!/usr/bin/env bash
# tests/servers.sh: throwaway PostgreSQL and Redis servers on loopback for the test suites (sourced by
# tests/run.sh, or run alone: `tests/servers.sh start DIR` prints the export lines, `tests/servers.sh stop DIR`).
# Installs redis-server and postgresql from Debian when missing (as root). Each server gets a temp data
# dir under DIR and a free port; both are stopped by PID.
#   GATEWAY_TEST_POSTGRES_URL=postgres://gw:gwpass@127.0.0.1:PORT/postgres   (tests make their own databases)
#   GATEWAY_TEST_REDIS_URL=redis://127.0.0.1:PORT
set -uo pipefail

servers_pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
servers_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# servers_start DIR: starts both, exports the two URLs and SERVERS_PIDS; returns non-zero (with a reason on stderr) when one cannot run.
servers_start() {
  local dir=$1
  mkdir -p "$dir"
  if ! command -v redis-server >/dev/null 2>&1 || [ -z "$(servers_pgbin)" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql) >"$dir/apt.log" 2>&1
    fi
  fi
  command -v redis-server >/dev/null 2>&1 || { echo "servers: redis-server is missing (apt-get install -y redis-server)" >&2; return 1; }
  local pgbin; pgbin=$(servers_pgbin)
  [ -n "$pgbin" ] || { echo "servers: PostgreSQL is missing (apt-get install -y postgresql)" >&2; return 1; }
  local rp pgp; rp=$(servers_free_port); pgp=$(servers_free_port)
  setsid redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$dir/redis.log" 2>&1 &
  SERVERS_REDIS_PID=$!
  # PostgreSQL runs as another user (below) and must reach its folder: the folder and its parent (a 700 temp dir) let it pass.
  chmod 711 "$dir" "$(dirname "$dir")"; mkdir -p "$dir/pg"; echo gwpass >"$dir/pg/pw"
  local as=()
  if [ "$(id -u)" = 0 ]; then   # initdb refuses root: PostgreSQL runs as postgres (else nobody)
    local u=postgres; id postgres >/dev/null 2>&1 || u=nobody
    chown -R "$u" "$dir/pg"; as=(setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --)
  fi
  "${as[@]}" "$pgbin/initdb" -D "$dir/pg/data" -U gw --pwfile="$dir/pg/pw" -A scram-sha-256 -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { echo "servers: initdb failed: $(tail -n 2 "$dir/initdb.log" | tr '\n' ' ')" >&2; return 1; }
  setsid "${as[@]}" "$pgbin/postgres" -D "$dir/pg/data" -p "$pgp" -k "$dir/pg" -c listen_addresses=127.0.0.1 -c fsync=off \
    -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 >"$dir/pg.log" 2>&1 &
  SERVERS_PG_PID=$!
  printf '%s\n' "$pgp" >"$dir/pgport"
  local i
  for i in $(seq 150); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgp" && break; sleep 0.2; done
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgp" || { echo "servers: PostgreSQL did not start: $(tail -n 2 "$dir/pg.log" | tr '\n' ' ')" >&2; return 1; }
  for i in $(seq 50); do [ "$(redis-cli -p "$rp" ping 2>/dev/null)" = PONG ] && break; sleep 0.2; done
  [ "$(redis-cli -p "$rp" ping 2>/dev/null)" = PONG ] || { echo "servers: redis-server did not start" >&2; return 1; }
  export GATEWAY_TEST_POSTGRES_URL="postgres://gw:gwpass@127.0.0.1:$pgp/postgres" GATEWAY_TEST_REDIS_URL="redis://127.0.0.1:$rp"
  SERVERS_PIDS="$SERVERS_PG_PID $SERVERS_REDIS_PID"
  echo "$SERVERS_PIDS" >"$dir/pids"
}

# servers_stop DIR: PostgreSQL (fast shutdown) and Redis, by the PIDs servers_start kept.
servers_stop() {
  local dir=$1 pids p
  pids=$(cat "$dir/pids" 2>/dev/null) || return 0
  read -r pg redis <<<"$pids"
  kill -INT "$pg" 2>/dev/null; kill "$redis" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pg" 2>/dev/null || break; sleep 0.2; done
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  rm -f "$dir/pids"
}

# servers_pg_stop DIR / servers_pg_start DIR: PostgreSQL alone, stopped and started again on its port and data
# (a test of the database going away); the PID file keeps up with the new process.
servers_pg_stop() {
  local dir=$1 pg redis
  read -r pg redis <"$dir/pids"
  kill -INT "$pg" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pg" 2>/dev/null || break; sleep 0.1; done
}
servers_pg_start() {
  local dir=$1 pg redis pgbin as=() pgp
  read -r pg redis <"$dir/pids"; pgbin=$(servers_pgbin); pgp=$(cat "$dir/pgport")
  if [ "$(id -u)" = 0 ]; then
    local u=postgres; id postgres >/dev/null 2>&1 || u=nobody
    as=(setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --)
  fi
  setsid "${as[@]}" "$pgbin/postgres" -D "$dir/pg/data" -p "$pgp" -k "$dir/pg" -c listen_addresses=127.0.0.1 -c fsync=off \
    -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 >>"$dir/pg.log" 2>&1 &
  echo "$! $redis" >"$dir/pids"
  for _ in $(seq 150); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgp" && return 0; sleep 0.2; done
  echo "servers: PostgreSQL did not start again" >&2; return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    start) servers_start "${2:?DIR}" && echo "export GATEWAY_TEST_POSTGRES_URL=$GATEWAY_TEST_POSTGRES_URL GATEWAY_TEST_REDIS_URL=$GATEWAY_TEST_REDIS_URL" ;;
    stop) servers_stop "${2:?DIR}" ;;
    pg-stop) servers_pg_stop "${2:?DIR}" ;;
    pg-start) servers_pg_start "${2:?DIR}" ;;
    *) echo "usage: tests/servers.sh start|stop|pg-stop|pg-start DIR" >&2; exit 2 ;;
  esac
fi
