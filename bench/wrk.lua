-- wrk script for bench/run.py (after the peer's bench/graphql.lua, plus GET requests).
--   METHOD     POST (default) or GET
--   BODY_FILE  file holding the JSON body of a POST
--   COOKIE     value of the Cookie header (unset or empty: anonymous)
-- done() prints one machine-readable line: RESULT requests=.. rps=.. p50_ms=.. p99_ms=.. errors=..
wrk.method = os.getenv("METHOD") or "POST"
if wrk.method == "POST" then
  local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
local cookie = os.getenv("COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
      .. " connect=%d read=%d write=%d non2xx=%d timeouts=%d\n",
    summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
