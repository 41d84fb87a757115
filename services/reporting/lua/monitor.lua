-- monitor.lua: read-only look-ups for the real-time monitor (F60) over the keys router
-- (services/router/lua/route.lua) and presence (services/presence/lua/presence.lua)
-- document. Writes nothing. The caller finds contact keys with SCAN (client side, so a
-- large keyspace never blocks Redis inside a script) and passes them in batches.
--
-- ARGV[1]  op: contacts | agents
-- ARGV[2]  tenant id
--
-- contacts: KEYS = P contact:<id> keys of one tenant (P = kefu:{t:<tenant>}:).
--   Reply: { now_ms, flat list of state, queue, department, enq (ms) } for the contacts in
--   state QUEUED (3), OFFERED (4) or ACTIVE (5).
-- agents: KEYS[1] = P events (pins the tenant's hash slot; not read).
--   Reply: { now_ms, flat list of status, depts (csv) } for every logged-in agent
--   (P presence:agents).
local op, tenant = ARGV[1], ARGV[2]
local P = 'kefu:{t:' .. tenant .. '}:'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}

if op == 'contacts' then
  for _, key in ipairs(KEYS) do
    if redis.call('TYPE', key).ok == 'hash' then
      local f = redis.call('HMGET', key, 'state', 'queue', 'department', 'enq')
      local state = tonumber(f[1]) or 0
      if state >= 3 and state <= 5 then
        out[#out + 1] = state
        out[#out + 1] = f[2] or ''
        out[#out + 1] = f[3] or ''
        out[#out + 1] = tonumber(f[4]) or now
      end
    end
  end
elseif op == 'agents' then
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'presence:agents')) do
    local f = redis.call('HMGET', P .. 'agent:' .. id, 'status', 'depts')
    out[#out + 1] = tonumber(f[1]) or 4
    out[#out + 1] = f[2] or ''
  end
else
  return redis.error_reply('INVALID_ARGUMENT op: unknown ' .. tostring(op))
end
return { now, out }
