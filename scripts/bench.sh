#!/usr/bin/env bash
# bench.sh — `make bench`: wrk against a throw-away stack; prints req/s and p50/p99 latency.
# Figures only: a benchmark never fails on a timing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/deps.sh bench
DURATION=${BENCH_DURATION:-10s}

VAR=$(mktemp -d /tmp/kexin-bench.XXXXXX)
chmod 755 "$VAR"
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export KEXIN_VAR=$VAR PORT KEXIN_PG_FAST=1
trap 'scripts/stack.sh stop >/dev/null 2>&1 || true; rm -rf "$VAR"' EXIT
scripts/stack.sh start >/dev/null
URL="http://127.0.0.1:$PORT"

# wrk's Lua hook prints the figures we want as one parsable line.
LUA=$VAR/report.lua
cat > "$LUA" <<'LUA'
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d %d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

printf '\n%-28s %5s %10s %9s %9s %9s %8s\n' "endpoint" "conc" "req/s" "p50 ms" "p99 ms" "max ms" "errors"
printf '%s\n' "--------------------------------------------------------------------------------------"
bench() { # label path concurrency
  local out
  out=$(wrk -t "$(( $3 < 2 ? 1 : 2 ))" -c "$3" -d "$DURATION" --latency -s "$LUA" "$URL$2" | grep '^RESULT')
  read -r _ rps p50 p99 max n err <<< "$out"
  printf '%-28s %5s %10s %9s %9s %9s %8s\n' "$1" "$3" "$rps" "$p50" "$p99" "$max" "$err"
}
for c in 1 8; do
  bench "GET /healthz" /healthz "$c"
  bench "GET /login (page)" /login "$c"
done
echo
echo "machine: $(nproc) cores; workers: ${KEXIN_WORKERS:-default (2 per core)}; duration $DURATION per row"
