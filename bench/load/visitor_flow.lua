-- wrk script for Q4, the visitor write flow: every connection keeps issuing the next step of some
-- visitor's flow (3 GraphQL requests, read from queries/<family>/q4_visitor.flow):
--   FLOW=self|apollo  1 signInAnonymously(projectId) -> token; 2 createRequest (Bearer token);
--                     3 captureContactMetadata (Bearer token)
--   FLOW=postgraphile 1 createUser + createProjectMember; 2 createLead + createRequest;
--                     3 updateLeadById (the client makes ids, timestamps and the email key)
-- Step k+1 of a visitor is sent once step k has answered (on whichever connection is free next).
-- A "unit" is a completed flow: rps = flows per second; latency percentiles are per HTTP request.
-- env: FLOW, PROJECT (the project the visitors write into), FLOWFILE (default from FLOW), CHECK=1.
local flow = os.getenv("FLOW") or "self"
local project = os.getenv("PROJECT")
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local file = os.getenv("FLOWFILE") or (here .. "../queries/" .. flow .. "/q4_visitor.flow")
local docs = {}
for line in io.lines(file) do
  if line:match("^mutation") then docs[#docs + 1] = line end
end
assert(#docs == 3, "q4_visitor.flow must hold 3 mutations")
local token_mode = flow ~= "postgraphile"

local threads = {}
-- PORTS="5102 5103" spreads wrk's threads (-t) over several servers on 127.0.0.1 (round robin).
local ports = {}
for port in (os.getenv("PORTS") or ""):gmatch("%d+") do ports[#ports + 1] = port end
function setup(thread)
  thread:set("id", #threads + 1); threads[#threads + 1] = thread
  if #ports > 0 then thread.addr = wrk.lookup("127.0.0.1", ports[(#threads - 1) % #ports + 1])[1] end
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  bad, flows, seq = 0, 0, 0
  ready2, ready3, tok = {}, {}, {}   -- visitors ready for step 2 / step 3; token by user id
end

local function esc(s) return (s:gsub('\\', '\\\\'):gsub('"', '\\"')) end
local function jstr(s) return '"' .. esc(s) .. '"' end
local function uuid()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x", math.random(0, 0xffff), math.random(0, 0xffff),
    math.random(0, 0xffff), math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff),
    math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff))
end
local function hex32() return (uuid():gsub("-", "")) end
local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end
local function body(doc, vars) return '{"query":' .. jstr(doc) .. ',"variables":{' .. vars .. '}}' end
local json_h = { ["Content-Type"] = "application/json" }
local function post(b, auth)
  if auth then
    return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json", ["Authorization"] = auth }, b)
  end
  return wrk.format("POST", wrk.path, json_h, b)
end

function request()
  seq = seq + 1
  if token_mode then
    local uid = table.remove(ready3)
    if uid then
      local n = seq
      return post(body(docs[3], '"f":"Visitor ' .. n .. '","e":"Visitor.' .. n .. '.' .. math.random(1, 1e9) .. '@Example.com"'), tok[uid])
    end
    uid = table.remove(ready2)
    if uid then
      return post(body(docs[2], '"t":"Hello, I need help with my order (bench ' .. seq .. ')"'), tok[uid])
    end
    return post(body(docs[1], '"p":' .. jstr(project)))
  else
    local lid = table.remove(ready3)
    if lid then
      local e = "Visitor." .. seq .. "." .. math.random(1, 1e9) .. "@Example.com"
      return post(body(docs[3], '"lid":' .. jstr(lid) .. ',"f":"Visitor ' .. seq .. '","e":' .. jstr(e)
        .. ',"ek":' .. jstr(e:lower()) .. ',"now":"' .. now() .. '"'))
    end
    local uid = table.remove(ready2)
    if uid then
      return post(body(docs[2], '"lid":"' .. uuid() .. '","uid":"' .. uid .. '","luid":"' .. uid .. '","p":' .. jstr(project)
        .. ',"rid":"' .. uuid() .. '","rq":"support-group-' .. project .. '-' .. hex32() .. '","t":"Hello, I need help with my order (bench '
        .. seq .. ')","now":"' .. now() .. '","a":{},"tags":[]'))
    end
    return post(body(docs[1], '"uid":"' .. uuid() .. '","p":' .. jstr(project) .. ',"now":"' .. now() .. '","a":{}'))
  end
end

function response(status, headers, b)
  if status ~= 200 or b:find('"errors"', 1, true) then bad = bad + 1; return end
  if token_mode then
    if b:find('"signInAnonymously"', 1, true) then
      local t = b:match('"token":"([^"]+)"'); local uid = b:match('"user":{"id":"([^"]+)"')
      if t and uid then tok[uid] = "Bearer " .. t; ready2[#ready2 + 1] = uid else bad = bad + 1 end
    elseif b:find('"createRequest"', 1, true) then
      local uid = b:match('"leadId":"([^"]+)"')
      if uid and tok[uid] then ready3[#ready3 + 1] = uid else bad = bad + 1 end
    elseif b:find('"captureContactMetadata"', 1, true) then
      local uid = b:match('"leadId":"([^"]+)"')
      if uid then tok[uid] = nil end
      flows = flows + 1
    end
  else
    if b:find('"createUser"', 1, true) then
      local uid = b:match('"user":{"id":"([^"]+)"')
      if uid then ready2[#ready2 + 1] = uid else bad = bad + 1 end
    elseif b:find('"createLead"', 1, true) then
      local lid = b:match('"lead":{"id":"([^"]+)"')
      if lid then ready3[#ready3 + 1] = lid else bad = bad + 1 end
    elseif b:find('"updateLeadById"', 1, true) then
      flows = flows + 1
    end
  end
end

function done(summary, latency, requests)
  local b, f = 0, 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0); f = f + (t:get("flows") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.2f units=%d requests=%d bad=%d sock_err=%d non2xx=%d\n",
    f / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    f, summary.requests, b, e.connect + e.read + e.write + e.timeout, e.status))
end
