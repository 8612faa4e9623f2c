-- wrk script for S6's latency runs: requests.lua, with every connection waiting PACE
-- milliseconds before each request, so the servers run well below their capacity and a
-- latency percentile measures the work on the path, not the queue in front of it (a
-- saturating wrk's p99 is mostly connections / rate).
--
--   wrk -tT ... -s paced.lua URL -- MODE FILE START COUNT T PACE
--
-- A separate file: wrk calls delay() for every request once the script defines it, which
-- the other scenarios must not pay.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "requests.lua")

local requests_init = init

function init(args)
   pace = tonumber(args[6])
   requests_init(args)
end

function delay()
   return pace
end
