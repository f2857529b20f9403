#!/usr/bin/env bash
# Starts a private, throwaway PostgreSQL for the tests and prints the URL of a fresh, empty database on stdout
# (only that; everything else goes to stderr), so that `make test` can run
#   DOPPEL_TEST_DATABASE_URL=$(scripts/test-postgres.sh)
# Safe to run again: a cluster already running is reused, a stopped or stale one is restarted, and the database
# is dropped and created anew each time. The cluster is left running afterwards for the next run.
# It does not touch Debian's own cluster (pg_ctlcluster, port 5432) and needs no systemd: CI containers have none.
# Settings: DOPPEL_PG_DIR (data directory, default /tmp/doppel-pg), DOPPEL_PG_PORT (default 55432),
# DOPPEL_PG_DB (default doppel_test); DOPPEL_NO_APT=1 skips the apt step as in install-deps.sh.
# Stop it with: runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl stop -D /tmp/doppel-pg
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

dir=${DOPPEL_PG_DIR:-/tmp/doppel-pg}
port=${DOPPEL_PG_PORT:-55432}
db=${DOPPEL_PG_DB:-doppel_test}

log() { echo "test-postgres: $*" >&2; }
die() { log "$*"; exit 1; }

# The name goes into both a URL and SQL; keeping it to plain identifier characters needs no quoting in either.
[[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "DOPPEL_PG_DB must be a plain identifier, got '$db'"
[[ $port =~ ^[0-9]+$ ]] || die "DOPPEL_PG_PORT must be a number, got '$port'"
case $dir in /?*) ;; *) die "DOPPEL_PG_DIR must be an absolute path, got '$dir'" ;; esac

# The server's programs live under /usr/lib/postgresql/<version>/bin, off PATH; take the newest version there.
server_bin() {
  local postgres
  postgres=$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -1)
  [ -n "$postgres" ] && dirname "$postgres"
}

# Debian's postgresql package, only when no server is installed (any version will do).
if ! bin=$(server_bin); then
  [ -z "${DOPPEL_NO_APT:-}" ] || die "no PostgreSQL server installed and DOPPEL_NO_APT is set; install postgresql"
  log "installing postgresql"
  apt_install postgresql || die "installing postgresql failed"
  bin=$(server_bin) || die "postgresql installed, but no server found under /usr/lib/postgresql"
fi
version=$(basename "$(dirname "$bin")")

# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user the package creates;
# anyone else runs it as themselves. From / so that the server never starts in a directory it cannot read.
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
  owner=$(id -un)
  as_owner() { (cd / && "$@"); }
fi

# pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
status() {
  local rc=0
  as_owner "$bin/pg_ctl" status -D "$dir" >/dev/null 2>&1 || rc=$?
  echo "$rc"
}

# A cluster left from an earlier run is reused unless it was made by another PostgreSQL version; then, being
# throwaway, it is made anew. A non-empty directory that is not a cluster is someone else's: leave it alone.
if [ -e "$dir" ] && [ ! -f "$dir/PG_VERSION" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  die "$dir exists and is not a PostgreSQL data directory; remove it or set DOPPEL_PG_DIR"
fi
if [ -f "$dir/PG_VERSION" ] && [ "$(cat "$dir/PG_VERSION")" != "$version" ]; then
  old="/usr/lib/postgresql/$(cat "$dir/PG_VERSION")/bin"
  log "$dir holds a PostgreSQL $(cat "$dir/PG_VERSION") cluster; replacing it with a $version one"
  [ -x "$old/pg_ctl" ] && as_owner "$old/pg_ctl" stop -D "$dir" -m immediate >/dev/null 2>&1 || true
  rm -rf "$dir"
fi

init() {
  log "creating a PostgreSQL $version cluster in $dir"
  mkdir -p "$dir"
  chown "$owner": "$dir"
  chmod 700 "$dir"
  # Trust, and only over loopback and a socket inside the data directory: no password for the tests to carry,
  # and nothing reachable from outside the machine.
  local out
  out=$(as_owner "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=trust -E UTF8 \
    --locale=C.UTF-8 2>&1) || { echo "$out" >&2; die "initdb failed"; }
}

start() {
  log "starting PostgreSQL $version on 127.0.0.1:$port ($dir)"
  # fsync and friends off: the data is thrown away, and the tests run much faster without waiting for the disk.
  # More connections than the default 100, for many tests each holding a pool at once.
  as_owner "$bin/pg_ctl" start -D "$dir" -w -t 60 -l "$dir/postgres.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c max_connections=200 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
}

[ -f "$dir/PG_VERSION" ] || init
state=$(status)
if [ "$state" = 0 ]; then
  # Running: reuse it if it answers on our port (the pid file's fourth line). A server started on another port
  # is restarted; so is one that does not answer, e.g. a killed postmaster that pid 1 of a container has not
  # reaped yet, which pg_ctl still counts as running.
  if [ "$(sed -n 4p "$dir/postmaster.pid")" = "$port" ] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5; then
    log "reusing the cluster running on 127.0.0.1:$port ($dir)"
  else
    log "cluster in $dir runs on another port or does not answer; restarting it on $port"
    as_owner "$bin/pg_ctl" stop -D "$dir" -m fast -w -t 30 >&2 ||
      as_owner "$bin/pg_ctl" stop -D "$dir" -m immediate -w -t 10 >&2 || true
    state=3
  fi
fi
case $state in
  0) ;;
  3)
    # Stopped, or stale after a crash or a reboot: pg_ctl clears a stale pid file itself. A cluster that will
    # not come up again (torn by a kill, say) is thrown away and made anew, once.
    if ! start; then
      tail -n 20 "$dir/postgres.log" >&2 || true
      log "could not start the existing cluster; making a new one"
      as_owner "$bin/pg_ctl" stop -D "$dir" -m immediate >/dev/null 2>&1 || true
      rm -rf "$dir"
      init
      start || { tail -n 20 "$dir/postgres.log" >&2 || true; die "could not start PostgreSQL"; }
    fi
    ;;
  *)
    die "pg_ctl cannot use $dir as a data directory (is it readable by $owner?)"
    ;;
esac

# A fresh, empty database each run: FORCE ends connections a killed test run may have left open.
admin="postgres://postgres@127.0.0.1:$port/postgres"
"$bin/psql" "$admin" -X -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >&2
log "fresh database $db ready"
echo "postgres://postgres@127.0.0.1:$port/$db"
