-- wrk script: varied traffic, as a high-throughput API client sends it (no URL twice in a row).
--   VARIED=nodes   /nodes: page 1-2000, order id/city/country/region, direction; half the time one of 20
--                  countries with page 1-10.
--   VARIED=cities  /cities (send the token with -H): page 1-680, order id/name/population/country, direction;
--                  half the time one of 20 countries with page 1-10.
-- The summary line comes from report.lua (BENCH_DIR names its folder).
dofile((os.getenv("BENCH_DIR") or "bench") .. "/report.lua")

local countries = {"CN", "IN", "US", "BR", "JP", "ID", "PK", "NG", "MX", "RU",
                   "BD", "PH", "EG", "VN", "IR", "TR", "DE", "GB", "FR", "IT"}
local lists = {
  nodes = {path = "/nodes", pages = 2000, orders = {"id", "city", "country", "region"}},
  cities = {path = "/cities", pages = 680, orders = {"id", "name", "population", "country"}},
}
local list = lists[os.getenv("VARIED") or "nodes"]
local directions = {"asc", "desc"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed * 7919 + os.time())
end

local function near_request()
  local order = math.random(2) == 1 and "distance" or "id"
  local family = math.random(4) == 1 and "&family=4" or ""
  return wrk.format(nil, string.format("/nodes?near=%.4f,%.4f&radius=%d&order=%s&page=%d%s",
                                       -60 + math.random() * 130, -180 + math.random() * 360,
                                       math.random(50, 2000), order, math.random(3), family))
end

function request()
  if os.getenv("VARIED") == "near" then
    return near_request()
  end
  local order = list.orders[math.random(#list.orders)]
  local direction = directions[math.random(2)]
  local path
  if math.random(2) == 1 then
    path = string.format("%s?country=%s&page=%d&order=%s&direction=%s", list.path,
                         countries[math.random(#countries)], math.random(10), order, direction)
  else
    path = string.format("%s?page=%d&order=%s&direction=%s", list.path, math.random(list.pages), order, direction)
  end
  return wrk.format(nil, path)
end
