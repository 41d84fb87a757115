-- Protobuf wire encoding for events built inside Lua scripts (ARCHITECTURE.md: an event
-- is added in the same script as the state change it describes). Prepended to every
-- script that emits events by kefu_embed_lua(); defines the globals below.
-- Only what kefu.events.v1 needs: strings, non-negative integers, nested messages.
local floor, char = math.floor, string.char
local function pb_varint(n)
  n = floor(tonumber(n) or 0)
  if n < 128 then return char(math.max(n, 0)) end
  -- Unrolled up to five bytes (below 2^35: tags, lengths, seconds, nanos): no table.
  local b1 = n % 128 + 128
  n = floor(n / 128)
  if n < 128 then return char(b1, n) end
  local b2 = n % 128 + 128
  n = floor(n / 128)
  if n < 128 then return char(b1, b2, n) end
  local b3 = n % 128 + 128
  n = floor(n / 128)
  if n < 128 then return char(b1, b2, b3, n) end
  local b4 = n % 128 + 128
  n = floor(n / 128)
  if n < 128 then return char(b1, b2, b3, b4, n) end
  local out = {char(b1, b2, b3, b4)}
  repeat
    local b = n % 128
    n = floor(n / 128)
    if n > 0 then b = b + 128 end
    out[#out + 1] = char(b)
  until n == 0
  return table.concat(out)
end
local function pb_str(field, s)
  if s == nil or s == false or s == '' then return '' end
  s = tostring(s)
  return pb_varint(field * 8 + 2) .. pb_varint(#s) .. s
end
local function pb_int(field, n)
  n = floor(tonumber(n) or 0)
  if n <= 0 then return '' end
  return pb_varint(field * 8) .. pb_varint(n)
end
local function pb_msg(field, bytes)
  return pb_varint(field * 8 + 2) .. pb_varint(#bytes) .. bytes
end
-- google.protobuf.Timestamp / Duration from milliseconds.
local function pb_millis(field, ms)
  ms = math.floor(tonumber(ms) or 0)
  return pb_msg(field, pb_int(1, math.floor(ms / 1000)) .. pb_int(2, (ms % 1000) * 1000000))
end
-- Server time in milliseconds (scripts are replicated by effects, so TIME is safe).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Appends a kefu.events.v1.Event to the tenant's stream and returns its bytes. `field` is
-- the payload's field number in Event.payload, `name` its field name (the entry's `type`).
local pb_event_seq = 0
local function pb_emit(stream, tenant, nonce, producer, ms, field, name, payload)
  pb_event_seq = pb_event_seq + 1
  local event = pb_str(1, nonce .. '-' .. pb_event_seq) .. pb_str(2, tenant) ..
      pb_millis(3, ms) .. pb_str(4, producer) .. pb_msg(field, payload)
  redis.call('XADD', stream, 'MAXLEN', '~', 1000000, '*', 'type', name, 'event', event)
  return event
end
