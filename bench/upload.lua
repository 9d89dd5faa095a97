-- POST one multipart upload of UPLOAD_MB (default 10) MB per request to the URL given to wrk.
local mb = tonumber(os.getenv("UPLOAD_MB") or "10")
local boundary = "bEnChBoUnDaRy"
local payload = string.rep("0123456789abcdef", mb * 65536)
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" ..
  'Content-Disposition: form-data; name="doc"; filename="upload.bin"\r\n' ..
  "Content-Type: application/octet-stream\r\n\r\n" .. payload .. "\r\n--" .. boundary .. "--\r\n"
