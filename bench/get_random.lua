-- W1: GET one record by a random id from the file named by IDS_FILE.
local ids = {}
init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time())
end
request = function()
  return wrk.format("GET", "/api/collections/posts/records/" .. ids[math.random(#ids)])
end
