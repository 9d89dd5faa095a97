-- W2 with random thresholds and pages: GET /api/collections/posts/records?perPage=20&sort=-created
-- &filter=views > N&page=P, N uniform in [0, MAX_VIEWS) (default 900: seed.mjs gives views = i % 1000,
-- so every threshold leaves >= 1,000 matches of 10,000 posts and pages 1..20 are never empty) and P
-- uniform in 1..PAGES (default 20), so that no single page or total stays hot in a cache.
-- SKIP_TOTAL=1 adds skipTotal=1. COLLECTION (default posts) as in get_random.lua.
local collection = os.getenv("COLLECTION") or "posts"
local max_views = tonumber(os.getenv("MAX_VIEWS") or "900")
local pages = tonumber(os.getenv("PAGES") or "20")
local skip = (os.getenv("SKIP_TOTAL") == "1") and "&skipTotal=1" or ""
local prefix = "/api/collections/" .. collection .. "/records?perPage=20&sort=-created" .. skip

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
init = function(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end
request = function()
  return wrk.format("GET", prefix .. "&page=" .. math.random(pages) .. "&filter=views%20%3E%20" .. math.random(0, max_views - 1))
end
