-- W3: POST a new record (durably committed before the answer).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("TRACEPARENT") and os.getenv("TRACEPARENT") ~= "" then
  wrk.headers["traceparent"] = os.getenv("TRACEPARENT")
end
wrk.body = '{"title":"bench","body":"' .. string.rep("x", 400) .. '","views":7,"published":true}'
