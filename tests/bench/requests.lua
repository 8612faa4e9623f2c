-- wrk script for tests/bench/run: every request takes the next line of a prepared file,
-- so no request is ever repeated (a replayed callback token answers 409, a replayed
-- signature 401: both would be errors, never successes).
--
--   wrk -tT ... -s requests.lua URL -- MODE FILE START COUNT T
--
-- MODE       callback        GET /v1/callback/<id>?code=bench&state=<line>   success: 3xx
--            callback-close  the same with "Connection: close"          success: 3xx
--            flows           POST /v1/flows, line = "<signature header>\t<body>"
--                                                                        success: 201
--            token           POST /v1/token, line = "<signature header>\t<form body>"
--                                                                        success: 200
--            pickup          GET <line> (a pickup flow's callback target)   success: 200
--            redirect        GET <line> (a redirect flow's callback target) success: 3xx
-- FILE       fixed-length lines (all the same length). The run may use lines START ..
--            START+COUNT-1; thread k (0-based) of T takes START+k, START+k+T, ... so the
--            threads never share a line and the lines used form one block (the next run
--            starts after it: START + T * used_max).
-- When a thread runs out of lines it repeats its last one (the server refuses it: an
-- error) and counts it as "exhausted", which the summary reports.
--
-- done() prints one "BENCH key=value ..." line that tests/bench/bench.py parses.
-- The file is loaded once per thread in init(), before that thread starts sending.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   mode = args[1]
   local file, start, count, nthreads = args[2], tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
   local f = assert(io.open(file, "rb"))
   local first = assert(f:read("*l"), "empty file " .. file)
   reclen = #first + 1
   assert(f:seek("set", start * reclen))
   data = f:read(count * reclen) or ""
   f:close()
   local lines = math.floor(#data / reclen)
   stride = nthreads
   -- lines thread_id, thread_id + T, ... below lines
   n = lines > thread_id and math.floor((lines - thread_id - 1) / stride) + 1 or 0
   assert(n > 0, "no lines for thread " .. thread_id .. " in " .. file)
   i = 0
   bad = 0
   exhausted = 0
   codes = {}
   host = { Host = "localhost" }
   close = { Host = "localhost", Connection = "close" }
   types = { flows = "application/json", token = "application/x-www-form-urlencoded" }
end

function request()
   i = i + 1
   local j = i
   if j > n then
      exhausted = exhausted + 1
      j = n
   end
   local off = ((j - 1) * stride + thread_id) * reclen + 1
   local line = data:sub(off, off + reclen - 2)
   if mode == "flows" or mode == "token" then
      local tab = line:find("\t", 1, true)
      return wrk.format("POST", "/v1/" .. mode, {
         Host = "localhost",
         ["Content-Type"] = types[mode],
         ["X-OAuth-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
   end
   if mode == "pickup" or mode == "redirect" then -- the line is the whole target
      return wrk.format("GET", line, host)
   end
   return wrk.format("GET", "/v1/callback/AAAAAAAAAAAAAAAAAAAAAA?code=bench&state=" .. line,
                     mode == "callback-close" and close or host)
end

function response(status, headers, body)
   local good
   if mode == "flows" then
      good = status == 201
   elseif mode == "token" or mode == "pickup" then
      good = status == 200
   else
      good = status >= 300 and status < 400
   end
   if not good then
      bad = bad + 1
      codes[status] = (codes[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   local bad_total, exhausted_total, used_max = 0, 0, 0
   local codes_total = {}
   for _, t in ipairs(threads) do
      bad_total = bad_total + t:get("bad")
      exhausted_total = exhausted_total + t:get("exhausted")
      local used = t:get("i")
      if used > used_max then used_max = used end
      for code, count in pairs(t:get("codes")) do
         codes_total[code] = (codes_total[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(codes_total) do
      parts[#parts + 1] = code .. ":" .. count
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d " ..
      "status=%d timeout=%d bad=%d exhausted=%d used_max=%d threads=%d codes=%s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect, e.read, e.write, e.status, e.timeout, bad_total, exhausted_total, used_max,
      #threads, #parts > 0 and table.concat(parts, ",") or "-"))
end
