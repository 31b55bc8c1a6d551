-- wrk.lua — reporting (and optional random paths) for scripts/bench.sh.
--   wrk … -s tests/bench/wrk.lua URL                    one fixed URL
--   wrk … -s tests/bench/wrk.lua URL -- PREFIX FILE      PREFIX .. a random line of FILE per request
-- done() prints one parsable line:
--   RESULT req/s p50 p95 p99 max (ms) requests errors non2xx
-- errors = connect/read/write/timeout errors plus HTTP ≥ 400 (wrk's own count).

local paths = {}
non2xx = 0 -- global: done() reads it from each thread

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  if args[1] and args[2] then
    for line in io.lines(args[2]) do
      if line ~= "" then paths[#paths + 1] = args[1] .. line end
    end
    if #paths > 0 then
      request = function()
        return wrk.format(nil, paths[math.random(#paths)])
      end
    end
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

-- Each thread counts its own non-2xx answers; done() sums them.
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + (t:get("non2xx") or 0) end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %.2f %.2f %d %d %d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status, n))
end
