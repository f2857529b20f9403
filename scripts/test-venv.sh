#!/usr/bin/env bash
# Makes the Python virtualenv that holds the tools doppel's tests run (an S3-compatible server today; the vendor
# SDKs later) and prints its absolute path on stdout (only that; everything else goes to stderr), so that other
# scripts can run
#   venv=$(scripts/test-venv.sh) && "$venv/bin/moto_server" ...
# Safe to run again: the venv is created only when missing or broken, and pip runs only when the requirement
# list below differs from the one the last successful install recorded in the venv's stamp file.
# Settings: DOPPEL_TEST_VENV (default .venv-test; a relative path is taken from the repository root),
# DOPPEL_PYTHON (the interpreter that creates the venv, default python3); DOPPEL_NO_APT=1 skips the apt step as in
# install-deps.sh.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# What the tests need, pinned: the one list to edit. moto[server] is an in-memory S3 (and more) on a local port;
# it brings boto3 along.
requirements=(
  "moto[server]==5.2.5"
  "alibabacloud-ice20201109==6.20.2"
  "alibabacloud-tea-openapi==0.4.6"
  "darabonba-core==1.0.9"
  "huaweicloudsdkcore==3.1.219"
  "huaweicloudsdkmetastudio==3.1.219"
)

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${DOPPEL_TEST_VENV:-.venv-test}
case $venv in /*) ;; *) venv="$root/$venv" ;; esac
python=${DOPPEL_PYTHON:-python3}
stamp="$venv/.doppel-requirements"

log() { echo "test-venv: $*" >&2; }
die() { log "$*"; exit 1; }

# A venv whose interpreter no longer runs (its base Python was removed or upgraded) is remade from scratch.
usable() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; }

create() {
  local out
  out=$("$python" -m venv --clear "$venv" 2>&1) && return 0
  echo "$out" >&2
  return 1
}

if ! usable; then
  command -v "$python" >/dev/null || die "no $python found; install python3 or set DOPPEL_PYTHON"
  if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A "$venv" 2>/dev/null)" ]; then
    die "$venv exists and is not a virtualenv; remove it or set DOPPEL_TEST_VENV"
  fi
  log "creating a virtualenv in $venv ($("$python" --version 2>&1))"
  if ! create; then
    # Debian splits venv (and the ensurepip it needs) out of python3 into python3-venv.
    [ -z "${DOPPEL_NO_APT:-}" ] || die "cannot create a virtualenv and DOPPEL_NO_APT is set; install python3-venv"
    log "installing python3-venv"
    apt_install python3-venv || die "installing python3-venv failed"
    create || die "cannot create a virtualenv in $venv with $python"
  fi
  rm -f "$stamp"
fi

want=$(printf '%s\n' "${requirements[@]}")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing ${requirements[*]}"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${requirements[@]}" >&2 ||
    die "pip install failed"
  # Written only after pip succeeded, so an interrupted install is retried next time.
  printf '%s\n' "$want" >"$stamp"
fi

echo "$venv"
