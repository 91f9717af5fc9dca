-- SPDX-License-Identifier: GPL-2.0-or-later
-- wrk script for make bench. Args: stanza TO TAG   (a <message> with a unique body each time)
--                               keyed TO TAG    (the same, with a unique Idempotency-Key each time)
--                               command WORD...    (the same command line every time)
--                               batch TO TAG N AUTH (a JSON array of N messages, each body unique,
--                                                    to the authenticated API with Authorization AUTH)
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  if mode == "stanza" or mode == "keyed" then
    to, tag = args[2], args[3]
  elseif mode == "batch" then
    to, tag, size, auth = args[2], args[3], tonumber(args[4]), args[5]
  else
    wrk.method = "POST"
    wrk.path = "/rest"
    wrk.headers["Host"] = "localhost"
    wrk.body = table.concat(args, " ", 2)
  end
end

function batch()
  counter = counter + 1
  local items = {}
  for i = 1, size do
    items[i] = string.format('{"kind":"message","type":"chat","to":"%s","body":"%s-%d-%d-%d"}', to, tag, tid, counter, i)
  end
  local headers = { ["Host"] = "localhost", ["Content-Type"] = "application/json", ["Authorization"] = auth }
  return wrk.format("POST", "/rest", headers, "[" .. table.concat(items, ",") .. "]")
end

function request()
  if mode == "batch" then return batch() end
  if mode ~= "stanza" and mode ~= "keyed" then return wrk.request() end
  counter = counter + 1
  local id = string.format('%s-%d-%d', tag, tid, counter)
  local body = string.format('<message to="%s" from="localhost/bench"><body>%s</body></message>', to, id)
  local headers = { ["Host"] = "localhost" }
  if mode == "keyed" then headers["Idempotency-Key"] = '"' .. id .. '"' end
  return wrk.format("POST", "/rest", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
