#!/usr/bin/env bash
# stack.sh — the local stack: PostgreSQL cluster, kexin worker pool and nginx, all under one var/ folder.
# usage: scripts/stack.sh run|start|stop|status|pg-restart|pg-stop|pg-start
# env:   KEXIN_VAR (default ./var), PORT (default 8080), KEXIN_DEMO=0 to skip demo data,
#        KEXIN_WORKERS, KEXIN_PG_FAST=1 (throw-away cluster: no fsync),
#        KEXIN_PG_SHARED_BUFFERS (when the cluster is created; default 256MB)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${KEXIN_VAR:-$ROOT/var}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)
PORT=${PORT:-8080}
BIN=$ROOT/build/kexin
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
LOG=$VAR/log
PGRUN=$VAR/pgrun
NGX=$VAR/nginx
mkdir -p "$LOG" "$VAR/run" "$NGX/tmp"

export KEXIN_ROOT=$ROOT KEXIN_VAR=$VAR

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL refuses to run as root: then it runs as the `postgres` OS user (created by the
# Debian package). Its data lives under var/ unless that user cannot reach var/.
pg_user() { if is_root; then echo postgres; else id -un; fi; }
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGDATA=$VAR/pg
if is_root && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
  # e.g. a checkout under /root: keep the cluster where postgres can reach it, linked from var/.
  alt=/var/lib/kexin/$(echo -n "$VAR" | md5sum | cut -c1-12)
  mkdir -p "$alt"; chown postgres "$alt"
  PGDATA=$alt/pg PGRUN=$alt/pgrun
  ln -sfn "$alt" "$VAR/pg-elsewhere"
fi
export KEXIN_DSN=${KEXIN_DSN:-"host=$PGRUN dbname=kexin user=kexin_app"}
export KEXIN_MIGRATE_DSN=${KEXIN_MIGRATE_DSN:-"host=$PGRUN dbname=kexin user=kexin"}

psql_super() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -h "$PGRUN" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

pg_init() {
  [ -f "$PGDATA/PG_VERSION" ] && return 0
  echo "creating PostgreSQL cluster in $PGDATA"
  mkdir -p "$PGDATA" "$PGRUN"
  if is_root; then chown postgres "$PGDATA" "$PGRUN"; fi
  chmod 700 "$PGDATA"
  # UTF-8 with a UTF-8 ctype: Chinese text search and case-folding depend on it.
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  {
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$PGRUN'"
    echo "unix_socket_permissions = 0700"
    echo "max_connections = 200"
    echo "shared_buffers = ${KEXIN_PG_SHARED_BUFFERS:-256MB}"
    echo "timezone = 'UTC'"
    echo "log_min_duration_statement = 1000"
    if [ "${KEXIN_PG_FAST:-0}" = 1 ]; then
      echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
    fi
  } | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
}

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

pg_start() {
  mkdir -p "$PGRUN"; if is_root; then chown postgres "$PGRUN"; touch "$LOG/postgres.log"; chown postgres "$LOG/postgres.log"; fi
  pg_running || as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG/postgres.log" -w -t 30 start >/dev/null
}

pg_stop() { pg_running && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true; }

db_setup() {
  # Roles: kexin owns the schema and runs migrations; kexin_app is what the workers use.
  psql_super -d postgres <<'SQL' >/dev/null
SELECT 'CREATE ROLE kexin LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kexin')\gexec
SELECT 'CREATE ROLE kexin_app LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kexin_app')\gexec
SELECT 'CREATE DATABASE kexin OWNER kexin' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kexin')\gexec
SQL
  # Extensions need a superuser; everything else is the owner's migrations.
  psql_super -d kexin -c "CREATE EXTENSION IF NOT EXISTS pg_trgm; REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO kexin;" >/dev/null
  "$BIN" migrate | grep -v '^schema_migrations: 0 applied' || true
  if [ "${KEXIN_DEMO:-1}" = 1 ]; then "$BIN" demo | grep -v ': 0 applied' || true; fi
  if [ ! -s "$VAR/admin-password" ]; then
    umask 077
    if ! "$BIN" user add admin --admin --display "系统管理员" > "$VAR/admin-password.tmp" 2>/dev/null; then
      "$BIN" user passwd admin > "$VAR/admin-password.tmp"
    fi
    mv "$VAR/admin-password.tmp" "$VAR/admin-password"
    chmod 600 "$VAR/admin-password"
  fi
}

nginx_conf() {
  local user_line="" group=""
  if is_root; then
    # nginx workers need the static files and the socket; www-data when it can read them.
    if runuser -u www-data -- test -r "$ROOT/static/css/app.css" 2>/dev/null; then
      user_line="user www-data www-data;"; group=www-data
    else
      user_line="user root root;"
    fi
  fi
  export KEXIN_SOCKET_GROUP=$group
  sed -e "s|@ROOT@|$ROOT|g" -e "s|@VAR@|$VAR|g" -e "s|@PORT@|$PORT|g" \
      -e "s|@USER@|$user_line|g" -e "s|@SOCKET@|$VAR/run/kexin.sock|g" \
      -e "s|@BODY_MAX@|${KEXIN_BODY_MAX_MB:-10}m|g" \
      "$ROOT/nginx/kexin.conf.in" > "$NGX/nginx.conf"
  /usr/sbin/nginx -t -q -p "$NGX" -c "$NGX/nginx.conf" -e "$LOG/nginx-error.log"
}

nginx_start() { nginx_conf; /usr/sbin/nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$LOG/nginx-error.log"; }
nginx_stop() {
  if [ -f "$NGX/nginx.pid" ]; then
    /usr/sbin/nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$LOG/nginx-error.log" -s quit 2>/dev/null || true
    for _ in $(seq 50); do [ -f "$NGX/nginx.pid" ] || break; sleep 0.1; done
  fi
}

kexin_pid() { cat "$VAR/run/kexin.pid" 2>/dev/null || true; }
kexin_stop() {
  local pid; pid=$(kexin_pid)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$VAR/run/kexin.pid"
}

wait_healthy() {
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "kexin did not become healthy; see $LOG" >&2
  return 1
}

banner() {
  echo
  echo "  Kexin is running:  http://127.0.0.1:$PORT/"
  echo "  Sign in as:        admin / $(cat "$VAR/admin-password")   (also in $VAR/admin-password)"
  echo "  Logs:              $LOG/"
  if [ -s "$VAR/demo-users.txt" ]; then
    echo
    echo "  Demo company 华通智能 — accounts ($VAR/demo-users.txt):"
    grep -v '^#' "$VAR/demo-users.txt" | sed 's/^/    /'
  fi
  echo
}

start_all() {
  [ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
  pg_init; pg_start; db_setup
  nginx_conf
  kexin_stop
  "$BIN" serve >>"$LOG/kexin.log" 2>&1 &
  echo $! > "$VAR/run/kexin.pid"
  nginx_stop; nginx_start
  wait_healthy
}

stop_all() { nginx_stop; kexin_stop; pg_stop; }

case "${1:-}" in
  start) start_all; banner ;;
  run)
    trap 'echo; echo "stopping…"; stop_all; exit 0' INT TERM
    start_all; banner
    echo "  Ctrl-C stops everything."
    # Wait for the pool; Ctrl-C interrupts wait and the trap stops the rest cleanly.
    while kill -0 "$(kexin_pid)" 2>/dev/null; do wait "$(kexin_pid)" 2>/dev/null || sleep 1; done
    stop_all ;;
  stop) stop_all; echo "stopped" ;;
  status) pg_running && echo "postgres: running" || echo "postgres: stopped"
          kill -0 "$(kexin_pid)" 2>/dev/null && echo "kexin: running ($(kexin_pid))" || echo "kexin: stopped"
          [ -f "$NGX/nginx.pid" ] && echo "nginx: running" || echo "nginx: stopped" ;;
  pg-restart) as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w restart -l "$LOG/postgres.log" >/dev/null ;;
  pg-stop) pg_stop ;;
  pg-start) pg_start ;;
  dsn) echo "$KEXIN_DSN" ;;
  psql) shift; "$PGBIN/psql" -h "$PGRUN" -U postgres -d kexin -X "$@" ;;
  *) echo "usage: $0 run|start|stop|status|pg-restart|pg-stop|pg-start|psql|dsn" >&2; exit 2 ;;
esac
