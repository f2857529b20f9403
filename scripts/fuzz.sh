#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time (seconds, default 30 each), starting from the seed inputs
# in fuzz/seeds/<target>. Installs cargo-fuzz when it is missing.
#
# cargo-fuzz passes sanitizer flags that rustc only accepts on nightly. This machine has one stable toolchain,
# so the run sets RUSTC_BOOTSTRAP=1, which lets that stable rustc accept them; nothing else is built that way.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
targets=$(cargo fuzz list --fuzz-dir fuzz)
cargo fuzz build --fuzz-dir fuzz -O
for t in $targets; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  echo "fuzz: $t for ${seconds}s"
  log="fuzz/artifacts/$t.log"
  mkdir -p fuzz/artifacts
  status=0
  cargo fuzz run --fuzz-dir fuzz -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|thread .* panicked)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $t failed (exit $status); the crashing input is in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran ${seconds}s without a crash"
