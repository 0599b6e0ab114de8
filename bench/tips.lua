-- wrk script: POST realistic tips, optionally paced to a constant rate, and print the
-- figures as one JSON line.
--
--   wrk -t2 -c16 -d15s -s bench/tips.lua http://127.0.0.1:PORT -- TOKEN RATE TAG
--
-- TOKEN: bearer token of an operator. RATE: requests/s for the whole run (0 = as fast as
-- the connections go). TAG: makes every external_ref unique across runs.
--
-- Pacing: wrk has no constant-rate mode (that is wrk2), so each thread keeps a schedule of
-- send slots 1/rate apart and delay() waits for the next one. Latency is measured by wrk
-- from the moment a request is written, i.e. service time; when the server cannot keep up
-- the slots fall behind and the achieved rate (printed) drops below the target.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local channels = {
  "hotline_12388", "mayor_hotline", "district_hotline", "conduct_hotline",
  "accountability_complaint", "online_opinion",
}
local contents = {
  "某街道办事处违规收取办证费用,群众多次反映未果",
  "区市场监管局窗口工作人员推诿扯皮,办事群众往返五次仍未办结",
  "某学校以补课费名义向学生家长收取费用",
  "社区卫生服务中心工作时间无人值守,群众等候两小时",
}
local districts = { "江岸区", "武昌区", "洪山区", "江汉区" }

local token, interval, tag
local sent = 0
local next_slot = nil

function init(args)
  token = args[1]
  local rate = tonumber(args[2] or "0")
  tag = args[3] or "run"
  local nthreads = tonumber(args[4] or "1")
  if rate > 0 then
    interval = 1000 * nthreads / rate
  end
  wrk.method = "POST"
  wrk.path = "/api/v1/tips"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

local function body(n)
  local reporter
  if n % 3 == 0 then
    reporter = string.format(
      '{"anonymous":false,"name":"张三%d","phone":"138%08d"}', n % 100, n % 100000000)
  else
    reporter = '{"anonymous":true}'
  end
  return string.format(
    '{"channel":"%s","content":"%s","external_ref":"%s-%d-%d","summary":"违规收费",'
      .. '"category":"乱收费","location":{"district":"%s","street":"中南路街道",'
      .. '"address":"中南路%d号"},"subject":{"unit":"某街道办事处"},"reporter":%s}',
    channels[n % #channels + 1], contents[n % #contents + 1], tag, id, n,
    districts[n % #districts + 1], n % 500, reporter)
end

function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, body(sent))
end

function delay()
  if interval == nil then
    return 0
  end
  local now = now_ms()
  if next_slot == nil then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval
  if wait <= 0 then
    return 0
  end
  return math.floor(wait)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
