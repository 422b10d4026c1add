-- wrk script of benches/inbox_load.sh: like proxy_load.lua (each request a distinct, validly
-- signed Standard Webhooks delivery read from $DELIVERIES), and with LIMIT set the thread
-- stops after LIMIT answers (a burst of exactly LIMIT events; run wrk with one thread).

local threads = {}
local counter = 0
local answered = 0

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local n = tonumber(os.getenv("WRK_THREADS") or "1")
   step = n
   counter = tid
   limit = tonumber(os.getenv("LIMIT") or "0")
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

function response(status, headers, body)
   answered = answered + 1
   if limit > 0 and answered >= limit then
      wrk.thread:stop()
   end
end
