-- wrk script: the request method from WRK_METHOD, and a machine-readable summary at the end.
wrk.method = os.getenv("WRK_METHOD") or "GET"

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT {\"requests\": %d, \"seconds\": %f, \"errors\": %d, \"non2xx\": %d, \"p50_us\": %d, \"p99_us\": %d, \"bytes\": %d}\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99), summary.bytes))
end
