# plans.awk — condenses auto_explain output (postgres.log) to the plans of statements that read
# customers (or the search table): which statement (page rows, count), its duration, and the plan nodes that matter
# (limits, sorts, scans of customers with their conditions, aggregates, JIT) with actual times.
function flush() {
  if (keep) printf "%s", buf
  buf = ""; keep = 0; inplan = 0
}
function indent(line,   n) {
  match(line, /^[ \t]*/); n = int(RLENGTH / 3)
  sub(/^[ \t]*/, "", line)
  return sprintf("%" (n + 4) "s%s", "", line)
}
/LOG:  duration: .* plan:/ {
  flush()
  d = $0; sub(/.*duration: /, "", d); sub(/  plan:.*/, "", d)
  inplan = 1; head = 1; after_scan = 0
  next
}
/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { flush(); next }
inplan && /Query Text:/ {
  if ($0 ~ /FROM customers c|FROM customer_search s/) {
    keep = 1
    kind = ($0 ~ /SELECT count\(\*\)/) ? "count" : "page rows"
    buf = "  -- " kind ": " d "\n"
  }
  next
}
!inplan || !keep { next }
{
  line = $0
  gsub(/\(cost=[^)]*\) /, "", line)
  node = line; sub(/^[ \t]*(->  )?/, "", node)
  if (head) { buf = buf indent(line) "\n"; head = 0; after_scan = 0; next }
  if (node ~ /\(actual time=|\(never executed\)/) { # a plan node
    after_scan = 0
    if (node ~ /^(Limit|Sort|Incremental Sort|Aggregate|Gather|Gather Merge|BitmapAnd|BitmapOr|Unique)/ ||
        node ~ / on customers c/ || node ~ /using customers_/ || node ~ / on contacts ct/ ||
        node ~ / on customer_search s/ || node ~ /using customer_search_/) {
      buf = buf indent(line) "\n"
      after_scan = (node ~ /Scan/)
    }
    next
  }
  if (after_scan && node ~ /^(Index Cond|Recheck Cond|Filter|Rows Removed by Filter|Heap Blocks|Heap Fetches|Buffers)/) {
    buf = buf indent(line) "\n"; next
  }
  if (node ~ /^(JIT:|Functions:|Options:|Timing:)/) buf = buf indent(line) "\n"
}
END { flush() }
