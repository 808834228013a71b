-- wrk script: POSTs ingest events to /api/internal/ingest-event with the service token,
-- each with a unique mid (run prefix, thread id, per-thread counter), and counts 202 as
-- accepted, anything else as an error. Run by bench/wrk.py; arguments after `--`:
--   token template prefix sender_prefix threads rate quota accounts
-- template: the event's JSON with MID, SENDER and ACCOUNT in place of the mid, the sender
-- and the account written to. accounts: comma-separated; thread i writes to the i-th
-- (cycling through them when there are more threads).
-- rate: requests per second in all, paced with delay(); 0 sends as fast as answers come.
-- quota: requests in all to send, then each thread prints "BENCH thread-done" and stops
-- (wrk itself waits for its -d duration, so the caller interrupts it then); 0: no quota.
-- done() prints one line "BENCH {json}" with the counts and latency percentiles.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_ms()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

-- setup and done run in the main thread's own environment.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

-- Each thread's environment from here on; done() reads the globals through thread:get().
accepted, errors = 0, 0
local token, template, prefix, sender_prefix
local interval_ms, quota = 0, 0
local scheduled, sent = 0, 0
local next_slot = 0

function init(args)
   token, template, prefix, sender_prefix = args[1], args[2], args[3], args[4]
   local thread_count, rate = tonumber(args[5]), tonumber(args[6])
   quota = tonumber(args[7]) / thread_count
   if rate > 0 then
      interval_ms = 1000 * thread_count / rate
   end
   if rate == 0 and quota == 0 then
      delay = nil  -- wrk then sends back to back, without a timer per request
   end
   local accounts = {}
   for account in string.gmatch(args[8], "[^,]+") do
      table.insert(accounts, account)
   end
   template = template:gsub("ACCOUNT", accounts[(id - 1) % #accounts + 1], 1)
   next_slot = now_ms()
   wrk.method = "POST"
   wrk.path = "/api/internal/ingest-event"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["x-service-token"] = token
end

-- Called once before each request of a connection, so the quota is counted here; the
-- pace keeps one request per interval for the whole thread, whichever connection sends.
function delay()
   if quota > 0 and scheduled >= quota then
      return 3600 * 1000  -- this thread is done; its connections stay idle
   end
   scheduled = scheduled + 1
   if interval_ms == 0 then
      return 0
   end
   local now = now_ms()
   next_slot = math.max(next_slot + interval_ms, now)
   return next_slot - now
end

function request()
   if delay ~= nil and scheduled == 0 then
      -- wrk checks the script with one request before any connection: never sent, so it
      -- must not take a number of the quota.
      return wrk.format(nil, nil, nil, template)
   end
   sent = sent + 1
   local body = template:gsub("MID", prefix .. "." .. id .. "." .. sent, 1)
   body = body:gsub("SENDER", sender_prefix .. id .. "-" .. sent, 1)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status == 202 then
      accepted = accepted + 1
   else
      errors = errors + 1
   end
   if quota > 0 and accepted + errors >= quota then
      io.write("BENCH thread-done\n")
      io.flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total_accepted, total_errors = 0, 0
   for _, thread in ipairs(threads) do
      total_accepted = total_accepted + thread:get("accepted")
      total_errors = total_errors + thread:get("errors")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"duration_us": %d, "requests": %d, "accepted": %d, "rejected": %d, ' ..
      '"socket_errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.duration, summary.requests, total_accepted, total_errors,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
