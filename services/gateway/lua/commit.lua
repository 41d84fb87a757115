-- commit.lua: every change the gateway makes to a contact, as one atomic step: check the
-- contact's version (optimistic concurrency between replicas), check the idempotency key,
-- write the contact's fields, append its events to the tenant's stream, append messages
-- to the transcript tail, and publish the live updates to the sessions' channels. A change
-- is never visible without its event, and a retried request is applied once.
--
-- KEYS[1]  P gw:c:<contact>  hash: the contact (fields in services/gateway/contact_store.h)
-- KEYS[2]  P events          the tenant's event stream
-- KEYS[3]  P gw:idem:<key>   idempotency record, or P gw:idem: when the call has no key
-- KEYS[4]  P gw:msgs:<contact> list: the last messages of the dialog (serialized Message)
-- ARGV[1]  expected version ('' = do not check)
-- ARGV[2]  idempotency record value to store (returned to retries)
-- ARGV[3]  idempotency record lifetime, seconds
-- ARGV[4]  number of events E, then E pairs: type, serialized kefu.events.v1.Event
-- then     number of fields F, then F pairs: field, value ('\0' deletes the field)
-- then     number of messages M, then M serialized kefu.common.v1.Message
-- then     number of publications N, then N pairs: channel, payload
-- then     number of extra commands X, then X groups: argc, argv... (SADD/SREM/HSET/HDEL/
--          ZADD/ZREM/EXPIRE on keys of the same tenant, e.g. the agent's dialog set)
-- Returns  {'OK', version}, {'DUPLICATE', stored value}, {'CONFLICT', current version}
--          or {'GONE', ''} when an expected version is given and the contact does not exist.
local contact, stream, idem, msgs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local has_idem = string.sub(idem, -1) ~= ':'

if has_idem then
  local seen = redis.call('GET', idem)
  if seen then return {'DUPLICATE', seen} end
end

local expect = ARGV[1]
local version = tonumber(redis.call('HGET', contact, 'ver') or '0')
if expect ~= '' then
  if redis.call('EXISTS', contact) == 0 then return {'GONE', ''} end
  if tonumber(expect) ~= version then return {'CONFLICT', tostring(version)} end
end

local i = 4
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('XADD', stream, 'MAXLEN', '~', 1000000, '*', 'type', ARGV[i], 'event', ARGV[i + 1])
  i = i + 2
end

version = version + 1
redis.call('HSET', contact, 'ver', version)
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if ARGV[i + 1] == '\0' then
    redis.call('HDEL', contact, ARGV[i])
  else
    redis.call('HSET', contact, ARGV[i], ARGV[i + 1])
  end
  i = i + 2
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('RPUSH', msgs, ARGV[i])
  i = i + 1
end
if n > 0 then redis.call('LTRIM', msgs, -500, -1) end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  i = i + 2
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local argc = tonumber(ARGV[i]); i = i + 1
  local cmd = {}
  for k = 1, argc do cmd[k] = ARGV[i + k - 1] end
  i = i + argc
  redis.call(unpack(cmd))
end

if has_idem then redis.call('SET', idem, ARGV[2], 'EX', tonumber(ARGV[3])) end
return {'OK', tostring(version)}
