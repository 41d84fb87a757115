-- presence.lua: agent presence (ARCHITECTURE.md "Presence rules"), each change atomic and
-- emitted as an event in the same script; the router wakes on those events.
--
-- KEYS[1]  kefu:{t:<tenant>}:events  (pins the tenant's hash slot)
-- ARGV[1]  op: login | logout | status | heartbeat | seat | sweep | get
-- ARGV[2]  tenant id, ARGV[3] event id nonce, ARGV[4..] the op's arguments
--
-- Keys (P = kefu:{t:<tenant>}:), shared with the router (services/router/lua/route.lua):
--   P agent:<id>        hash  status (AgentStatus), reason (AgentStatusReason), since (ms),
--                             restore (status to return to after SEAT_EMPTY), session,
--                             seat, login_ms, hb_ms, seat_state (SeatState)
--   P presence:agents   set   logged-in agents
--   P presence:hb       zset  agent -> heartbeat deadline (ms)
--   P presence:seat     zset  agent -> when an empty seat turns the agent OFFLINE (ms)
--   P seat:<seat>       string agent logged in at that seat
--   P agent-events      stream a copy of every event below (AgentStreamKey)
local stream, op, tenant, nonce = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local P = 'kefu:{t:' .. tenant .. '}:'
local now = now_ms()
local ONLINE, BUSY, AWAY, OFFLINE = 1, 2, 3, 4
local R_MANUAL, R_LOGIN, R_LOGOUT, R_SEAT_EMPTY, R_SEAT_RETURNED, R_HEARTBEAT = 1, 2, 3, 4, 5, 6
local SEAT_OCCUPIED, SEAT_EMPTY = 1, 2

-- Every presence event also goes, as the same entry, on the tenant's agent-events stream
-- (libs/events/events.h AgentStreamKey): the router's wake-up and supervisors' Watch
-- follow that one, so they need not read every contact's events.
local function emit(field, name, payload)
  local event = pb_emit(stream, tenant, nonce, 'presence', now, field, name, payload)
  redis.call('XADD', P .. 'agent-events', 'MAXLEN', '~', 100000, '*', 'type', name,
             'event', event)
end
local function fail(code, msg) return redis.error_reply(code .. ' ' .. msg) end

-- Sets the agent's status and emits AgentStatusChanged (F20) when it changes.
local function set_status(agent, status, reason)
  local key = P .. 'agent:' .. agent
  local f = redis.call('HMGET', key, 'status', 'since', 'session')
  local old = tonumber(f[1]) or OFFLINE
  if old == status then return old end
  redis.call('HSET', key, 'status', status, 'reason', reason, 'since', now)
  agent_reindex(P, agent, now)  -- the router's free-agent index, in the same step
  emit(62, 'agent_status_changed',
       pb_str(1, agent) .. pb_str(2, f[3]) .. pb_int(3, old) .. pb_int(4, status) ..
       pb_int(5, reason) .. pb_millis(6, now - (tonumber(f[2]) or now)))
  return old
end

local function logged_in(agent)
  return redis.call('SISMEMBER', P .. 'presence:agents', agent) == 1
end

if op == 'login' then
  -- ARGV[4] agent, [5] session, [6] seat, [7] heartbeat timeout ms. A fresh login is AWAY.
  local agent, session, seat = ARGV[4], ARGV[5], ARGV[6]
  local key = P .. 'agent:' .. agent
  redis.call('HSET', key, 'session', session, 'seat', seat, 'login_ms', now, 'hb_ms', now,
             'seat_state', SEAT_OCCUPIED, 'restore', '')
  redis.call('SADD', P .. 'presence:agents', agent)
  redis.call('ZADD', P .. 'presence:hb', now + tonumber(ARGV[7]), agent)
  redis.call('ZREM', P .. 'presence:seat', agent)
  if seat ~= '' then redis.call('SET', P .. 'seat:' .. seat, agent) end
  emit(60, 'agent_logged_in', pb_str(1, agent) .. pb_str(2, session) .. pb_str(3, seat))
  -- A re-login keeps nobody ONLINE by surprise: it starts AWAY like any login.
  redis.call('HSET', key, 'status', OFFLINE)
  set_status(agent, AWAY, R_LOGIN)
  return session

elseif op == 'logout' then
  -- ARGV[4] agent, [5] session ('' = any)
  local agent = ARGV[4]
  local key = P .. 'agent:' .. agent
  local f = redis.call('HMGET', key, 'session', 'login_ms', 'seat')
  if not logged_in(agent) or (ARGV[5] ~= '' and f[1] ~= ARGV[5]) then
    return fail('NOT_FOUND', 'no session ' .. ARGV[5] .. ' for agent ' .. agent)
  end
  set_status(agent, OFFLINE, R_LOGOUT)
  redis.call('SREM', P .. 'presence:agents', agent)
  redis.call('ZREM', P .. 'presence:hb', agent)
  redis.call('ZREM', P .. 'presence:seat', agent)
  if f[3] and f[3] ~= '' then redis.call('DEL', P .. 'seat:' .. f[3]) end
  local lasted = now - (tonumber(f[2]) or now)
  emit(61, 'agent_logged_out', pb_str(1, agent) .. pb_str(2, f[1]) .. pb_millis(3, lasted) ..
       pb_int(4, R_LOGOUT))
  return lasted

elseif op == 'status' then
  -- ARGV[4] agent, [5] status, [6] reason
  local agent = ARGV[4]
  if not logged_in(agent) then
    return fail('FAILED_PRECONDITION', 'agent ' .. agent .. ' is not logged in')
  end
  local status = tonumber(ARGV[5])
  local key = P .. 'agent:' .. agent
  if status ~= OFFLINE and redis.call('ZSCORE', P .. 'presence:seat', agent) == false and
      tonumber(redis.call('HGET', key, 'seat_state')) == SEAT_EMPTY and
      tonumber(redis.call('HGET', key, 'reason')) == R_SEAT_EMPTY then
    -- OFFLINE for an empty seat: the agent's choice is kept for when they sit down (F21).
    redis.call('HSET', key, 'restore', status)
    return OFFLINE
  end
  set_status(agent, status, tonumber(ARGV[6]))
  return status

elseif op == 'heartbeat' then
  -- ARGV[4] agent, [5] session, [6] default timeout ms (the tenant's setting, in
  -- presence:cfg, wins: read here so that a heartbeat costs one round trip)
  local agent = ARGV[4]
  local key = P .. 'agent:' .. agent
  if not logged_in(agent) or redis.call('HGET', key, 'session') ~= ARGV[5] then
    return fail('NOT_FOUND', 'no session ' .. ARGV[5] .. ': log in again')
  end
  local timeout = tonumber(redis.call('HGET', P .. 'presence:cfg', 'heartbeat_timeout_ms')) or
      tonumber(ARGV[6])
  local deadline = now + timeout
  redis.call('ZADD', P .. 'presence:hb', deadline, agent)
  redis.call('HSET', key, 'hb_ms', now)
  return {tonumber(redis.call('HGET', key, 'status')) or OFFLINE, deadline}

elseif op == 'seat' then
  -- ARGV[4] seat, [5] empty (1/0), [6] empty limit ms, [7] sensor. Returns agent, state,
  -- and the time the agent goes OFFLINE if the seat stays empty (0 when seated).
  local agent = redis.call('GET', P .. 'seat:' .. ARGV[4])
  if not agent then return fail('NOT_FOUND', 'nobody is logged in at seat ' .. ARGV[4]) end
  local key = P .. 'agent:' .. agent
  local empty = ARGV[5] == '1'
  local state = empty and SEAT_EMPTY or SEAT_OCCUPIED
  local old_state = tonumber(redis.call('HGET', key, 'seat_state')) or SEAT_OCCUPIED
  redis.call('HSET', key, 'seat_state', state)
  if old_state ~= state then
    emit(63, 'seat_state_changed', pb_str(1, ARGV[4]) .. pb_str(2, agent) .. pb_int(3, state) ..
         pb_int(4, ARGV[7]))
  end
  if empty then
    local deadline = tonumber(redis.call('ZSCORE', P .. 'presence:seat', agent))
    if not deadline and old_state ~= SEAT_EMPTY then
      deadline = now + tonumber(ARGV[6])
      redis.call('ZADD', P .. 'presence:seat', deadline, agent)
    end
    return {agent, state, deadline or 0}
  end
  redis.call('ZREM', P .. 'presence:seat', agent)
  local f = redis.call('HMGET', key, 'status', 'reason', 'restore')
  if tonumber(f[1]) == OFFLINE and tonumber(f[2]) == R_SEAT_EMPTY then
    set_status(agent, tonumber(f[3]) or AWAY, R_SEAT_RETURNED)  -- F21: previous status back
    redis.call('HSET', key, 'restore', '')
  end
  return {agent, state, 0}

elseif op == 'sweep' then
  -- ARGV[4] max items. Claimed inside the script: each deadline fires on one replica.
  local limit = tonumber(ARGV[4]) or 100
  local handled = 0
  for _, agent in ipairs(redis.call('ZRANGEBYSCORE', P .. 'presence:hb', '-inf', now, 'LIMIT', 0, limit)) do
    redis.call('ZREM', P .. 'presence:hb', agent)
    set_status(agent, OFFLINE, R_HEARTBEAT)  -- F22: the desktop went silent
    handled = handled + 1
  end
  for _, agent in ipairs(redis.call('ZRANGEBYSCORE', P .. 'presence:seat', '-inf', now, 'LIMIT', 0, limit)) do
    redis.call('ZREM', P .. 'presence:seat', agent)
    local key = P .. 'agent:' .. agent
    local status = tonumber(redis.call('HGET', key, 'status')) or OFFLINE
    if status ~= OFFLINE then
      redis.call('HSET', key, 'restore', status)
      set_status(agent, OFFLINE, R_SEAT_EMPTY)  -- F21: empty seat longer than the limit
    end
    handled = handled + 1
  end
  return handled
end
return fail('INVALID_ARGUMENT', 'unknown op ' .. tostring(op))
