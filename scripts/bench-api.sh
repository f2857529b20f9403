#!/usr/bin/env bash
# API throughput benchmark (`make bench-api`): starts a release `doppel serve` with no render workers on a
# fresh data dir (SQLite, or PostgreSQL when DATABASE_URL is set), fills it with jobs, then loads it over
# loopback with wrk:
#   - GET /healthz                   the baseline: the same HTTP stack with no auth and no database
#   - GET /api/v1/videos/{id}        one job (auth + one indexed read + signing)
#   - GET /api/v1/videos?limit=10    a page of ten jobs and the count
#   - POST /api/v1/videos            job submission (auth, full script validation, one insert)
# and prints requests per second and each one's ratio to the baseline measured in the same run.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
JOBS=${JOBS:-1000}

if ! command -v wrk >/dev/null; then
  echo "bench-api: installing wrk" >&2
  apt_install wrk
fi
cargo build --release --locked -p doppel >&2

dir=$(mktemp -d)
log="$dir/serve.log"
db_args=()
if [ -n "${DATABASE_URL:-}" ]; then db_args=(--database-url "$DATABASE_URL"); fi
./target/release/doppel serve --listen 127.0.0.1:0 --data-dir "$dir/data" --workers 0 "${db_args[@]}" >"$dir/out" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^listening' "$dir/out" 2>/dev/null && break; sleep 0.1; done
addr=$(awk '/^listening/ {print $2}' "$dir/out")
base="http://$addr"
key=$(jq -r .api_key "$dir/data/credentials.json")
auth="Authorization: Bearer $key"

script='{"model_asset_id":"anna","video_config":{"codec":"H264","width":720,"height":1280},"output_asset_config":{"asset_name":"bench"},"shoot_scripts":[{"sequence_no":0,"shoot_script":{"script_type":"TEXT","text_config":{"text":"<speak>Hello! <break time=\"200ms\"/>This is a benchmark job.</speak>"},"background_config":[{"background_type":"COLOR","background_color_config":"#204060"}]}}]}'
echo "bench-api: creating $JOBS jobs" >&2
job=""
for _ in $(seq "$JOBS"); do
  job=$(curl -s -H "$auth" -H 'Content-Type: application/json' -d "$script" "$base/api/v1/videos" | jq -r .job_id)
done

cat >"$dir/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.body = [[$script]]
EOF

rps() { awk '/Requests\/sec/ {print $2}'; }
run() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" 2>&1; }

base_rps=$(run "$base/healthz" | rps)
show_rps=$(run -H "$auth" "$base/api/v1/videos/$job" | rps)
list_rps=$(run -H "$auth" "$base/api/v1/videos?limit=10" | rps)
post_rps=$(run -s "$dir/post.lua" "$base/api/v1/videos" | rps)
errors=$(grep -ci 'error' "$log" || true)

ratio() { awk -v a="$1" -v b="$base_rps" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "API benchmark: wrk -t$THREADS -c$CONNECTIONS -d$DURATION on loopback, $JOBS jobs in the database"
db_name=SQLite; [ -n "${DATABASE_URL:-}" ] && db_name=PostgreSQL
echo "database: $db_name; server log error lines: $errors"
echo
echo "| request | req/s | ratio to /healthz |"
echo "|---|---|---|"
echo "| GET /healthz (baseline) | $base_rps | 1.00 |"
echo "| GET /api/v1/videos/{id} | $show_rps | $(ratio "$show_rps") |"
echo "| GET /api/v1/videos?limit=10 | $list_rps | $(ratio "$list_rps") |"
echo "| POST /api/v1/videos (submit) | $post_rps | $(ratio "$post_rps") |"
