-- wrk script of benches/proxy_load.sh: each request is a distinct, validly signed Standard
-- Webhooks delivery of the same 1 KiB body, read from $DELIVERIES (lines "id timestamp
-- signature", written by `proxy_load deliveries`). Thread i of n sends lines i, i+n, ...
-- Running out wraps around (duplicates): the script checks afterwards that none happened.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local n = tonumber(os.getenv("WRK_THREADS") or "1")
   step = n
   counter = tid
   deliveries = {}
   for line in io.lines(os.getenv("DELIVERIES")) do
      deliveries[#deliveries + 1] = line
   end
   local f = assert(io.open(os.getenv("BODY"), "rb"))
   wrk.body = f:read("*a")
   f:close()
   wrk.method = "POST"
end

function request()
   local line = deliveries[(counter % #deliveries) + 1]
   counter = counter + step
   local id, ts, sig = line:match("^(%S+) (%S+) (.+)$")
   return wrk.format(nil, nil, {
      ["Host"] = wrk.headers["Host"],
      ["Content-Type"] = "application/json",
      ["webhook-id"] = id,
      ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig,
   })
end
