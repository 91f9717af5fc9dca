-- wrk script: POST the same command line every time; args: COMMAND LINE
function init(args)
  wrk.method = "POST"
  wrk.path = "/rest"
  wrk.headers["Host"] = "localhost"
  wrk.body = table.concat(args, " ")
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
