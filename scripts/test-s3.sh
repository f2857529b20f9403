#!/usr/bin/env bash
# Starts a private, throwaway S3-compatible server for the tests (moto_server, in memory, from the venv that
# scripts/test-venv.sh makes) and prints its endpoint URL on stdout (only that; everything else goes to stderr),
# with a fresh, empty bucket doppel-test in it, so that `make test` can run
#   DOPPEL_TEST_S3_ENDPOINT=$(scripts/test-s3.sh)
# Safe to run again: a moto_server already answering on the port is reused, one that is gone or hung is started
# anew, and its state is reset each time (every bucket and object dropped) before the bucket is created. The
# server is left running afterwards for the next run. moto accepts any access key id and secret.
# Settings: DOPPEL_S3_PORT (default 55433), DOPPEL_S3_DIR (pid file and log, default /tmp/doppel-s3), and those
# of scripts/test-venv.sh.
# Stop it with: kill $(cat /tmp/doppel-s3/moto.pid)
set -euo pipefail

port=${DOPPEL_S3_PORT:-55433}
dir=${DOPPEL_S3_DIR:-/tmp/doppel-s3}
bucket=doppel-test
url="http://127.0.0.1:$port"
pidfile="$dir/moto.pid"
logfile="$dir/moto.log"

log() { echo "test-s3: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $port =~ ^[0-9]+$ ]] || die "DOPPEL_S3_PORT must be a number, got '$port'"
case $dir in /?*) ;; *) die "DOPPEL_S3_DIR must be an absolute path, got '$dir'" ;; esac
command -v curl >/dev/null || die "curl is missing; run scripts/install-deps.sh"

venv=$("$(dirname "$0")/test-venv.sh")
[ -x "$venv/bin/moto_server" ] || die "$venv has no moto_server; remove $venv/.doppel-requirements and run again"

# moto_server answers its own API (the dashboard's data) with 200; nothing else on the port would.
is_moto() { curl -fsS -o /dev/null --max-time 5 "$url/moto-api/data.json" 2>/dev/null; }
# Anything at all listening there: curl's exit code 7 is "connection refused".
port_taken() {
  local rc=0
  curl -s -o /dev/null --max-time 5 "$url/" || rc=$?
  [ "$rc" -ne 7 ]
}
# The pid in the pid file, when that process is still a moto_server (and not a recycled pid).
our_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q moto_server && echo "$pid"
}

if is_moto; then
  log "reusing the moto_server on $url"
else
  # Ours from an earlier run, if it hangs or listens elsewhere, is stopped; anyone else's port is left alone.
  if pid=$(our_pid); then
    log "moto_server $pid does not answer on $url; stopping it"
    # CONT too: a stopped process acts on TERM only once it runs again. A zombie has an empty cmdline, so it
    # counts as gone.
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do our_pid >/dev/null || break; sleep 0.1; done
    if our_pid >/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do our_pid >/dev/null || break; sleep 0.1; done
    fi
    our_pid >/dev/null && die "could not stop moto_server $pid"
  fi
  port_taken && die "something other than moto_server listens on $url; stop it or set DOPPEL_S3_PORT"
  mkdir -p "$dir"
  rm -f "$pidfile"
  log "starting moto_server on $url (log $logfile)"
  # In its own session, with no tie to this script's stdout, so that $(...) around this script returns at once
  # and the server outlives the make that started it. The shell writes its own pid and then becomes the server.
  setsid sh -c 'echo $$ >"$1" && exec "$2" -H 127.0.0.1 -p "$3"' sh "$pidfile" "$venv/bin/moto_server" "$port" \
    >"$logfile" 2>&1 </dev/null &
  up=""
  for _ in $(seq 1 300); do
    if is_moto; then up=1; break; fi
    # Given up early when the server has already died (a bad venv, the port taken meanwhile).
    if [ -s "$pidfile" ] && ! our_pid >/dev/null; then break; fi
    sleep 0.2
  done
  if [ -z "$up" ]; then
    tail -n 20 "$logfile" >&2 || true
    die "moto_server did not come up on $url"
  fi
fi

# A fresh, empty bucket each run: reset drops every bucket and object the server holds.
curl -fsS -o /dev/null --max-time 30 -X POST "$url/moto-api/reset" || die "could not reset moto_server on $url"
curl -fsS -o /dev/null --max-time 30 -X PUT "$url/$bucket" || die "could not create the bucket $bucket on $url"
log "fresh bucket $bucket ready"
echo "$url"
