-- The mixed workload: each request is, at random, 80% W1 (GET one record by a random id from the
-- file named by IDS_FILE, as get_random.lua), 15% W2 (list perPage=20 sort=-created, filter
-- views > N with a random N and a random page 1..20, as list_random.lua) and 5% W3 (POST create, as
-- create.lua), all against the collection named by COLLECTION (default posts).
-- MIX="80,15,5" changes the shares; MAX_VIEWS and PAGES as in list_random.lua.
--
-- wrk reports latency over all requests only. `done` adds one line with the requests issued per
-- type (per-thread counters summed; the <= one request per connection still in flight at the end is
-- counted) and the rate of each over the run:
--   mixed-rates W1=<req/s> W2=<req/s> W3=<req/s> (issued W1 <n>, W2 <n>, W3 <n> in <s> s)
-- Per-type status codes would need a `response` hook (which makes wrk hand every body to Lua);
-- wrk's Non-2xx line covers all types together.
local collection = os.getenv("COLLECTION") or "posts"
local max_views = tonumber(os.getenv("MAX_VIEWS") or "900")
local pages = tonumber(os.getenv("PAGES") or "20")
local mix = {}
for share in string.gmatch(os.getenv("MIX") or "80,15,5", "[^,]+") do
  mix[#mix + 1] = tonumber(share)
end
local get_cut, list_cut, total = mix[1], mix[1] + mix[2], mix[1] + mix[2] + mix[3]
local base = "/api/collections/" .. collection .. "/records"
local list_prefix = base .. "?perPage=20&sort=-created"

local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

local ids = {}
local create_request
n_get, n_list, n_create = 0, 0, 0
init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  -- The create request never changes: formatted once.
  create_request = wrk.format("POST", base, { ["Content-Type"] = "application/json" },
    '{"title":"bench","body":"' .. string.rep("x", 400) .. '","views":7,"published":true}')
end

request = function()
  local r = math.random(total)
  if r <= get_cut then
    n_get = n_get + 1
    return wrk.format("GET", base .. "/" .. ids[math.random(#ids)])
  elseif r <= list_cut then
    n_list = n_list + 1
    return wrk.format("GET", list_prefix .. "&page=" .. math.random(pages) .. "&filter=views%20%3E%20" .. math.random(0, max_views - 1))
  end
  n_create = n_create + 1
  return create_request
end

done = function(summary, latency, requests)
  local g, l, c = 0, 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("n_get")
    l = l + t:get("n_list")
    c = c + t:get("n_create")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("mixed-rates W1=%.2f W2=%.2f W3=%.2f (issued W1 %d, W2 %d, W3 %d in %.2f s)\n",
    g / secs, l / secs, c / secs, g, l, c, secs))
end
