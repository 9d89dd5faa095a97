-- W1: GET one record by a random id from the file named by IDS_FILE, from the collection named by
-- COLLECTION (default posts), with `Authorization: $TOKEN` when TOKEN is set and
-- `traceparent: $TRACEPARENT` when that is set.
local ids = {}
local collection = os.getenv("COLLECTION") or "posts"
local token = os.getenv("TOKEN")
init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time())
  if token and token ~= "" then
    wrk.headers["Authorization"] = token
  end
  local traceparent = os.getenv("TRACEPARENT")
  if traceparent and traceparent ~= "" then
    wrk.headers["traceparent"] = traceparent
  end
end
request = function()
  return wrk.format("GET", "/api/collections/" .. collection .. "/records/" .. ids[math.random(#ids)])
end
