-- One call against a fixed-window rate limit (libs/server/rate_limit.cc).
-- KEYS[1]  kefu:{t:<tenant>}:ratelimit:<method>:<window index>
-- ARGV[1]  the window in milliseconds (the key expires one window after its first call)
-- Returns the number of calls counted in this window, this one included. INCR and PEXPIRE
-- run together, so a crash between them cannot leave a counter that never expires.
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
