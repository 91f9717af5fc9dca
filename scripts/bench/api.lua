-- SPDX-License-Identifier: GPL-2.0-or-later
-- wrk script for scripts/bench-api.ts (the authenticated API, ours and Prosody's). Args:
--   message AUTHORIZATION TO TAG   POST /rest, a JSON message with a unique body each time
--   ping AUTHORIZATION             GET /rest/ping/localhost: an iq round trip to the server
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode, auth = args[1], args[2]
  if mode == "message" then
    to, tag = args[3], args[4]
  else
    wrk.method = "GET"
    wrk.path = "/rest/ping/localhost"
    wrk.headers["Authorization"] = auth
  end
end

function request()
  if mode ~= "message" then return wrk.request() end
  counter = counter + 1
  local body = string.format('{"kind":"message","to":"%s","body":"%s-%d-%d"}', to, tag, tid, counter)
  return wrk.format("POST", "/rest", { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
