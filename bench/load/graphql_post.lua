-- wrk script: POST one GraphQL body per request, a line drawn at random from $BODIES.
-- Each line is "<Authorization value or empty><TAB><JSON body>" (tools/make_bodies.py).
-- usage: BODIES=x.bodies CHECK=1 wrk -t1 -c32 -d20s --latency -s graphql_post.lua http://127.0.0.1:5102/graphql
-- CHECK=1 counts non-200 answers and answers with GraphQL "errors" (as "bad").
local reqs = {}
for line in io.lines(os.getenv("BODIES")) do
  local auth, body = line:match("^([^\t]*)\t(.*)$")
  local headers = { ["Content-Type"] = "application/json" }
  if auth ~= "" then headers["Authorization"] = auth end
  reqs[#reqs + 1] = { headers = headers, body = body }
end
local n = #reqs
local threads = {}
-- PORTS="5102 5103" spreads wrk's threads (-t) over several servers on 127.0.0.1 (round robin).
local ports = {}
for port in (os.getenv("PORTS") or ""):gmatch("%d+") do ports[#ports + 1] = port end
function setup(thread)
  threads[#threads + 1] = thread
  if #ports > 0 then thread.addr = wrk.lookup("127.0.0.1", ports[(#threads - 1) % #ports + 1])[1] end
end
function init(args) math.randomseed(42 + #threads); bad = 0 end
wrk.method = "POST"
function request()
  local r = reqs[math.random(n)]
  return wrk.format("POST", wrk.path, r.headers, r.body)
end
if os.getenv("CHECK") == "1" then
  function response(status, headers, body)
    if status ~= 200 or body:find('"errors"', 1, true) then bad = bad + 1 end
  end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.2f units=%d requests=%d bad=%d sock_err=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.requests, b, e.connect + e.read + e.write + e.timeout, e.status))
end
