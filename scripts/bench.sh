#!/usr/bin/env bash
# bench.sh — `make bench`: a throw-away stack loaded with generated customers, then wrk against the
# platform pages and the customer pages, the export (time, worker peak memory), the query plans
# of the list pages and, last because it adds customers, the import; then the issue's targets
# beside what was measured (met / NOT met). Figures only: never fails on a timing.
#
# env: BENCH_CUSTOMERS (default 100000; 3 contacts each; up to 1,420,320), BENCH_DURATION (wrk
#      time per row, default 10s), BENCH_JOBS (parallel loaders, default: cores),
#      BENCH_LOAD=bulk|app (default bulk: the contacts triggers are off while contacts are
#      inserted and every customer is refreshed once through them afterwards; app: every contact
#      insert fires them, three refreshes per customer — slower, same result),
#      BENCH_IMPORT_ROWS (default 10000; 0 skips the import), BENCH_SEARCHES=1 (the per-query
#      2-character search table also below 1M customers), BENCH_SQL=file (extra SQL run as
#      superuser before the load, to try an index or a setting: the output says so),
#      BENCH_KEEP=1 (leave the stack running and print how to reach it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/deps.sh bench
DURATION=${BENCH_DURATION:-10s}
N=${BENCH_CUSTOMERS:-100000}
JOBS=${BENCH_JOBS:-$(nproc)}
LOAD=${BENCH_LOAD:-bulk}
CHUNK=10000
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] && [ "$N" -le 1420320 ] || { echo "BENCH_CUSTOMERS: 1000 … 1420320" >&2; exit 2; }
[[ "$LOAD" = bulk || "$LOAD" = app ]] || { echo "BENCH_LOAD: bulk or app" >&2; exit 2; }

VAR=$(mktemp -d /tmp/kexin-bench.XXXXXX)
chmod 755 "$VAR"
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# No demo company: the generator makes its own customers (owners are created below).
# PostgreSQL gets a quarter of the memory (at most 4 GB), as README's production notes advise.
mem_mb=$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
SHARED_MB=$(( mem_mb / 4 > 4096 ? 4096 : mem_mb / 4 ))
export KEXIN_VAR=$VAR KEXIN_ROOT=$ROOT PORT KEXIN_PG_FAST=1 KEXIN_DEMO=0 KEXIN_PG_SHARED_BUFFERS=${SHARED_MB}MB
cleanup() {
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "stack kept: KEXIN_VAR=$VAR PORT=$PORT scripts/stack.sh stop (then rm -rf $VAR)"
  else
    scripts/stack.sh stop >/dev/null 2>&1 || true; rm -rf "$VAR"
  fi
}
trap cleanup EXIT
T_START=$(date +%s)
if [ "$N" -gt 200000 ]; then
  echo "BENCH_CUSTOMERS=$N: loading takes a while (about 2.5 minutes per 100,000 customers on 2 cores,"
  echo "more as the indexes grow); the whole run takes much longer than the default 100,000."
fi
scripts/stack.sh start >/dev/null
URL="http://127.0.0.1:$PORT"
LUA=$ROOT/tests/bench/wrk.lua
sql() { scripts/stack.sh psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
now_ms() { date +%s%3N; }
secs_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

if [ -n "${BENCH_SQL:-}" ]; then
  echo "experiment: $BENCH_SQL applied to the throw-away database (not the application's own schema)"
  sql -f "$BENCH_SQL"
  kill -HUP "$(cat "$VAR/run/kexin.pid")"; sleep 1 # new workers, new database sessions
fi

# ---- data ------------------------------------------------------------------------------------
# The eight salespeople and managers who own the customers, and a user who sees everything.
for u in zhangwei:张伟 liuyang:刘洋 chenjing:陈静 sunli:孙丽 zhoujie:周杰 wufang:吴芳 liming:李明 zhaolei:赵磊; do
  build/kexin user add "${u%%:*}" --display "${u#*:}" >/dev/null
done
BENCH_PW=$(build/kexin user add bench --admin | tail -n 1)

echo "loading $N customers with 3 contacts each ($JOBS loaders, load mode: $LOAD) …"
t0=$(now_ms)
[ "$LOAD" = bulk ] && sql -c "ALTER TABLE contacts DISABLE TRIGGER USER"
ranges=$VAR/ranges
for ((from = 1; from <= N; from += CHUNK)); do
  to=$((from + CHUNK - 1)); [ "$to" -gt "$N" ] && to=$N
  echo "$from $to"
done > "$ranges"
# One transaction per chunk, JOBS at a time.
xargs -P "$JOBS" -L 1 sh -c 'scripts/stack.sh psql -X -q -v ON_ERROR_STOP=1 -v from="$0" -v to="$1" \
  -f tests/bench/gen_customers.sql >/dev/null' < "$ranges"
t_cust=$(secs_since "$t0"); t_refresh=0; check=""
if [ "$LOAD" = bulk ]; then
  sql -c "ALTER TABLE contacts ENABLE TRIGGER USER"
  # Touching each customer's primary contact fires the contacts trigger once per customer: the
  # search text and bigrams become what the application's path gives.
  t1=$(now_ms)
  read -r lo hi <<< "$(sql -F ' ' -c "SELECT min(id), max(id) FROM customers")"
  for ((a = lo; a <= hi; a += CHUNK)); do echo "$a $((a + CHUNK - 1))"; done > "$ranges"
  xargs -P "$JOBS" -L 1 sh -c 'scripts/stack.sh psql -X -q -v ON_ERROR_STOP=1 -c "SET jit = off" \
    -c "UPDATE contacts SET name = name WHERE is_primary AND customer_id BETWEEN $0 AND $1" >/dev/null' < "$ranges"
  t_refresh=$(secs_since "$t1")
  # Cross-check on a sample: refreshing through every contact (the application's path) changes nothing.
  sql -c "CREATE TABLE bench_sample AS SELECT customer_id, to_jsonb(s) AS j FROM customer_search s
            WHERE customer_id IN (SELECT id FROM customers TABLESAMPLE SYSTEM (1) LIMIT 300)" \
      -c "SET jit = off" -c "UPDATE contacts SET name = name WHERE customer_id IN (SELECT customer_id FROM bench_sample)"
  check=$(sql -F ' ' -c "SELECT count(*) FILTER (WHERE b.j = to_jsonb(s)) || ' of ' || count(*)
                           FROM bench_sample b JOIN customer_search s USING (customer_id)" -c "DROP TABLE bench_sample")
fi
sql -c "INSERT INTO doc_counters (doc_type, period, last_value) VALUES ('customer', '-', $N)
        ON CONFLICT (doc_type, period) DO UPDATE SET last_value = EXCLUDED.last_value"
t1=$(now_ms)
sql -c "VACUUM ANALYZE customers" -c "VACUUM ANALYZE customer_search" -c "VACUUM ANALYZE contacts" -c "VACUUM ANALYZE customer_shares"
printf 'loaded in %ss (inserts %ss, refresh %ss, vacuum/analyze %ss): ' "$(secs_since "$t0")" "$t_cust" "$t_refresh" "$(secs_since "$t1")"
sql -F ' ' -c "SELECT count(*) || ' customers (' || count(*) FILTER (WHERE owner_id IS NULL) || ' in the pool), '
                      || (SELECT count(*) FROM contacts) || ' contacts; customers ' || pg_size_pretty(pg_total_relation_size('customers'))
                      || ' with indexes (their search text and bigrams '
                      || pg_size_pretty(pg_total_relation_size('customer_search')) || '), contacts ' || pg_size_pretty(pg_total_relation_size('contacts'))
                 FROM customers"
[ -n "$check" ] && echo "bulk load check: $check sampled customers identical after a refresh through every contact"
echo "name keys vs cgi/core/dedup.c: $(build/kexin rekey --check || true)"

# ---- session ---------------------------------------------------------------------------------
JAR=$VAR/cookies
csrf=$(curl -s -c "$JAR" -b "$JAR" "$URL/login" | grep -o 'name="_csrf" value="[^"]*"' | tail -n 1 | sed 's/.*value="//; s/"$//')
code=$(curl -s -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" --data-urlencode "_csrf=$csrf" \
       --data-urlencode "username=bench" --data-urlencode "password=$BENCH_PW" "$URL/login")
COOKIE=$(awk -F '\t' 'NF >= 7 { printf "%s%s=%s", (n++ ? "; " : ""), $6, $7 }' "$JAR")
[ "$code" = 303 ] && [[ "$COOKIE" == *kx_session=* ]] || echo "warning: login as bench answered $code"
get_code() { curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$URL$1"; }

# ---- wrk -------------------------------------------------------------------------------------
IND=$(sql -c "SELECT id FROM lookups WHERE kind = 'industry' AND name = '制造业'")
PROV=330000 # 浙江
Q_HUATONG=$(node -e 'console.log(encodeURIComponent("华通"))')
IDS=$VAR/ids
sql -c "SELECT id FROM customers WHERE owner_id IS NOT NULL ORDER BY random() LIMIT 2000" > "$IDS"

printf '\n%-48s %4s %8s %8s %8s %8s %8s %7s\n' "endpoint" "conc" "req/s" "p50 ms" "p95 ms" "p99 ms" "max ms" "errors"
printf '%s\n' "----------------------------------------------------------------------------------------------------------"
bench() { # label path concurrency [wrk script args…]; signed in unless the label starts with "GET /"
  local label=$1 path=$2 c=$3 out cookie=(-H "Cookie: $COOKIE"); shift 3
  [[ "$label" == "GET /"* ]] && cookie=()
  out=$(wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "$DURATION" --latency "${cookie[@]}" \
          -s "$LUA" "$URL$path" "$@" | grep '^RESULT' || true)
  if [ -z "$out" ]; then printf '%-48s %4s %s\n' "$label" "$c" "wrk failed"; return; fi
  read -r _ rps p50 p95 p99 max n err non2xx <<< "$out"
  RESULTS["$label|$c"]="$rps $p99 $(( err > non2xx ? err : non2xx ))"
  # errors: transport errors and HTTP ≥ 400; other non-2xx answers (e.g. a redirect to the
  # sign-in page) are counted too, so a lost session cannot pass as a fast page.
  printf '%-48s %4s %8s %8s %8s %8s %8s %7s\n' "$label" "$c" "$rps" "$p50" "$p95" "$p99" "$max" "$(( err > non2xx ? err : non2xx ))"
}
declare -A RESULTS # "label|concurrency" → "req/s p99 errors", for the targets below
have_customers=0
[ "$(get_code /customers)" = 200 ] && have_customers=1
for c in 1 8; do
  bench "GET /healthz" /healthz "$c"
  bench "GET /login (page)" /login "$c"
  if [ "$have_customers" = 1 ]; then
    bench "customers: list, default sort" /customers "$c"
    bench "customers: filtered (status+industry+province)" "/customers?status=active&industry=$IND&province=$PROV" "$c"
    bench "customers: quick search, 2 chars (q=Huatong)" "/customers?q=$Q_HUATONG" "$c"
    bench "customers: detail page, random id" /customers/x "$c" -- /customers/ "$IDS"
  fi
done
[ "$have_customers" = 1 ] || echo "customer pages: not available yet (GET /customers answered $(get_code /customers))"
[ "$(get_code /customers)" = 200 ] || echo "warning: the session no longer works after the runs (GET /customers: $(get_code /customers))"
echo
echo "machine: $(nproc) cores, load average now $(cut -d ' ' -f 1-3 /proc/loadavg) (other work on the machine skews every figure);"
echo "workers: ${KEXIN_WORKERS:-default (2 per core)}; duration $DURATION per row; $N customers; user 'bench' sees all;"
echo "PostgreSQL shared_buffers ${SHARED_MB} MB, no parallel plans or JIT for the application's sessions"

# 2-character searches at 1M (and whenever asked): latency per query, one connection.
SEARCH_P95=()
if [ "$have_customers" = 1 ] && { [ "$N" -ge 1000000 ] || [ "${BENCH_SEARCHES:-0}" = 1 ]; }; then
  printf '\n2-character searches (c=1, 5s each; rows = matches):\n%8s %8s %8s %8s %8s %7s  %s\n' "rows" "req/s" "p50 ms" "p95 ms" "p99 ms" "errors" "q"
  for q in 华通 恒瑞 博远 金鼎 中科 鑫达 王伟 杭州 精密 科技; do
    enc=$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$q")
    rows=$(sql -v q="$q" <<< "SELECT count(*) FROM customer_search WHERE terms @> kx_bigrams(:'q') AND text ILIKE '%' || :'q' || '%';")
    out=$(wrk -t 1 -c 1 -d 5s --latency -H "Cookie: $COOKIE" -s "$LUA" "$URL/customers?q=$enc" | grep '^RESULT' || true)
    read -r _ rps p50 p95 p99 _ _ err non2xx <<< "$out"
    printf '%8s %8s %8s %8s %8s %7s  %s\n' "$rows" "$rps" "$p50" "$p95" "$p99" "$(( ${err:-0} > ${non2xx:-0} ? ${err:-0} : ${non2xx:-0} ))" "$q"
    SEARCH_P95+=("${p95:-?}")
  done
fi

# ---- export: time and the serving worker's peak memory -----------------------------------------
MASTER=$(cat "$VAR/run/kexin.pid")
workers() { pgrep -P "$MASTER" | sort -n; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fresh_workers() {
  # SIGHUP: the pool starts new workers and retires the old ones; peak memory starts from zero.
  local old; old=$(workers | tr '\n' ' ')
  kill -HUP "$MASTER"
  for _ in $(seq 100); do
    local now; now=$(workers | tr '\n' ' ')
    local stale=0; for p in $old; do [[ " $now " == *" $p "* ]] && stale=1; done
    [ "$stale" = 0 ] && [ -n "$now" ] && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$URL/healthz" || true
}
if [ "$have_customers" = 1 ]; then
  fresh_workers
  declare -A before
  for p in $(workers); do before[$p]=$(hwm_kb "$p"); done
  # Three exports (the first by a fresh worker): the time is their median, as one run on this
  # machine varies by ±0.2 s.
  times=()
  for _ in 1 2 3; do
    out=$(curl -s -o "$VAR/export.xlsx" -w '%{http_code} %{time_total} %{size_download}' -H "Cookie: $COOKIE" "$URL/customers/export")
    read -r code secs bytes <<< "$out"
    times+=("$secs")
  done
  secs=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
  EXPORT_SECS=$secs
  peak=0 base=0
  for p in $(workers); do
    h=$(hwm_kb "$p"); b=${before[$p]:-0}
    if [ "$h" -gt "$peak" ]; then peak=$h; base=$b; fi
  done
  rows=$(python3 -c 'import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
n = sum(1 for _ in re.finditer(rb"<row ", z.read("xl/worksheets/sheet1.xml")))
print(n - 1)' "$VAR/export.xlsx" 2>/dev/null || echo "?")
  EXPORT_ROWS=$rows EXPORT_MB=$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')
  printf '\nexport: HTTP %s, %s data rows, %s bytes in %ss (median of %s); worker peak RSS (VmHWM) %s MB (fresh worker: %s MB)\n' \
    "$code" "$rows" "$bytes" "$secs" "${times[*]}" "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" \
    "$(awk -v k="$base" 'BEGIN { printf "%.1f", k / 1024 }')"
fi

# ---- plans -----------------------------------------------------------------------------------
# auto_explain in the throw-away cluster logs the plans of the queries the pages really run.
if [ "$have_customers" = 1 ]; then
  sql -c "LOAD 'auto_explain'" -c "ALTER SYSTEM SET session_preload_libraries = 'auto_explain'" \
      -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "ALTER SYSTEM SET auto_explain.log_analyze = on" \
      -c "ALTER SYSTEM SET auto_explain.log_buffers = on" -c "SELECT pg_reload_conf()" >/dev/null
  fresh_workers # new database sessions load auto_explain
  PGLOG=$VAR/log/postgres.log
  explain() { # label path
    curl -s -o /dev/null -H "Cookie: $COOKIE" "$URL$2" # warm the worker's caches
    local mark; mark=$(wc -l < "$PGLOG")
    curl -s -o /dev/null -H "Cookie: $COOKIE" "$URL$2"
    sleep 0.3
    echo
    echo "== $1: $2"
    tail -n +"$((mark + 1))" "$PGLOG" | awk -f "$ROOT/tests/bench/plans.awk" | cut -c1-160 | head -n 40
  }
  explain "list, default sort" /customers
  explain "filtered list" "/customers?status=active&industry=$IND&province=$PROV"
  explain "quick search, 2 characters" "/customers?q=$Q_HUATONG"
  sql -c "ALTER SYSTEM RESET ALL" -c "SELECT pg_reload_conf()" >/dev/null
  fresh_workers # back to sessions without auto_explain
fi

# ---- import ----------------------------------------------------------------------------------
echo
IMPORT_ROWS=${BENCH_IMPORT_ROWS:-10000}
busy_backends() { sql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'kexin_app' AND state <> 'idle'"; }
if [ "$IMPORT_ROWS" = 0 ]; then
  echo "import: skipped (BENCH_IMPORT_ROWS=0)"
elif grep -qs '"/customers/import"' cgi/modules/*.c && [ "$have_customers" = 1 ]; then
  # New customers with a contact each, as a person does it: upload, mapping, preview, commit.
  before=$(sql -c "SELECT count(*) FROM customers")
  out=$(KEXIN_URL=$URL node tests/bench/import.mjs bench "$BENCH_PW" "$IMPORT_ROWS" 2>&1 | grep '^IMPORT' || true)
  if [[ "$out" == "IMPORT "* ]]; then
    read -r _ rows t_up t_map t_prev t_commit t_all <<< "$out"
    IMPORT_SECS=$t_all
    printf 'import: %s rows (%s created): upload %ss, mapping %ss, preview %ss, commit %ss — %ss in all\n' \
      "$rows" "$(( $(sql -c "SELECT count(*) FROM customers") - before ))" "$t_up" "$t_map" "$t_prev" "$t_commit" "$t_all"
  elif [[ "$out" == "IMPORT-TIMEOUT "* ]]; then
    # nginx gave up (504); the worker goes on. Wait for the database to see how long it takes.
    read -r _ rows t_up t_map t_prev started <<< "$out"
    for _ in $(seq 1800); do [ "$(busy_backends)" = 0 ] && break; sleep 1; done
    t_commit=$(awk -v a="$started" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
    printf 'import: %s rows: upload %ss, mapping %ss, preview %ss; the commit outlived the web server timeout (504)\n' \
      "$rows" "$t_up" "$t_map" "$t_prev"
    printf '        and ended after about %ss with %s customers created\n' "$t_commit" \
      "$(( $(sql -c "SELECT count(*) FROM customers") - before ))"
  else
    echo "import: ${out:-the import script gave no result}"
  fi
else
  echo "import: not available yet"
fi
for _ in $(seq 600); do [ "$(busy_backends)" = 0 ] && break; sleep 1; done

# ---- the issue's targets ---------------------------------------------------------------------
# What was measured above against what issue 4 asks of this 2-core machine (100k customers; the
# search latency at 1M). Figures only, as everything here: a missed target does not fail.
verdict() { awk -v ok="$1" 'BEGIN { print (ok == 1 ? "met" : "NOT met") }'; }
target_row() { printf '%-50s %-28s %-30s %s\n' "$1" "$2" "$3" "$4"; }
throughput_target() { # label
  local r=${RESULTS["$1|8"]:-}
  [ -n "$r" ] || return 0
  read -r rps p99 err <<< "$r"
  target_row "${1#customers: }, c=8" ">= 1,500 req/s, p99 < 20 ms" "$rps req/s, p99 $p99 ms" \
    "$(verdict "$(awk -v r="$rps" -v p="$p99" -v e="$err" 'BEGIN { print (r >= 1500 && p < 20 && e == 0) ? 1 : 0 }')")"
}
if [ "$have_customers" = 1 ]; then
  echo
  echo "targets of issue 4 (set for 100,000 customers, the search latency for 1,000,000; this run: $N):"
  target_row "" "target" "measured" ""
  throughput_target "customers: list, default sort"
  throughput_target "customers: quick search, 2 chars (q=Huatong)"
  if [ -n "${EXPORT_SECS:-}" ]; then
    target_row "export of $EXPORT_ROWS rows" "< 3 s, peak RSS < 64 MB" "${EXPORT_SECS} s, $EXPORT_MB MB" \
      "$(verdict "$(awk -v s="$EXPORT_SECS" -v m="$EXPORT_MB" 'BEGIN { print (s < 3 && m < 64) ? 1 : 0 }')")"
  fi
  [ -n "${IMPORT_SECS:-}" ] && target_row "import of $IMPORT_ROWS rows (all steps)" "< 10 s" "${IMPORT_SECS} s" \
    "$(verdict "$(awk -v s="$IMPORT_SECS" 'BEGIN { print (s < 10) ? 1 : 0 }')")"
  if [ "${#SEARCH_P95[@]}" -gt 0 ]; then
    under=$(printf '%s\n' "${SEARCH_P95[@]}" | awk '$1 != "?" && $1 < 20 { n++ } END { print n + 0 }')
    target_row "2-character searches, p95 (c=1)" "< 20 ms at 1M customers" \
      "$under of ${#SEARCH_P95[@]} queries under 20 ms" \
      "$( [ "$N" -ge 1000000 ] && verdict "$( [ "$under" = "${#SEARCH_P95[@]}" ] && echo 1 || echo 0)" || echo "(not at 1M)")"
  fi
fi

echo
echo "total bench time: $(( $(date +%s) - T_START ))s"
