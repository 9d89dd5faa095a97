-- W3: POST a new record (durably committed before the answer).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"bench","body":"' .. string.rep("x", 400) .. '","views":7,"published":true}'
