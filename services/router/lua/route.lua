-- route.lua: every routing decision of kefu-router, each one atomic (ARCHITECTURE.md
-- "Routing rules"). Any number of router replicas may call it at once: Redis runs one
-- script at a time, so an agent's last free slot can be reserved only once.
--
-- KEYS[1]  kefu:{t:<tenant>}:events  (the tenant's event stream; pins the hash slot: every
--          key below starts with the same prefix and so lives in the same slot)
-- ARGV[1]  op: enqueue | accept | reject | release | cancel | pickup | sweep | agent |
--          offer_counts | ... (each documented below)
-- ARGV[2]  tenant id
-- ARGV[3]  event id nonce, unique per call
-- ARGV[4..] the op's arguments, documented at each op below
--
-- Keys (P = kefu:{t:<tenant>}:)
--   P agent:<id>      hash  status (kefu.common.v1.AgentStatus, written by presence), load,
--                          max, tiers (csv of CustomerTier, empty = all), cap (capability),
--                          idle_since (ms), delay_until (ms), depts (csv) — written by router
--   P qagents:<q>     set   agents serving queue q
--   P agentq:<id>     set   queues agent id serves
--   P qcfg:<q>        hash  strategy, offer_timeout_ms, reject_delay_ms, no_answer_delay_ms
--   P queue:<q>       zset  waiting contacts, score = tier rank * 1e13 + enqueue ms
--   P contact:<id>    hash  state (ContactState), queue, tier, score, enq, agent, offer_id,
--                          deadline, attempt, dialog, customer, department
--   P offers          zset  offered contacts by offer deadline (ms)
--   P excl            hash  customer -> exclusive agent (F14)
--   P exclwait:<a>    set   contacts waiting for agent a as their exclusive agent
--   P exclexp         zset  contacts by the end of their exclusive wait (ms)
--   P dept:<d>        hash  queue: the department's queue
--   P tiermap         hash  tier -> department (F10)
--   P defaultq        string the tenant's default queue
--   P delays          zset  agents in a reject / no-answer delay, by its end (ms)
--   P deptagents:<d>  set   agents of department d (router admin)
--   P qelig:<q>       set   contacts waiting in q that only some agents may take: entry
--                          point designations and region strategies (F15, F16); such a
--                          contact holds elig_a / elig_d (csv of agents / departments)
--   P eligwait:<a>    set   such contacts agent a may take (woken when a frees up)
--   P ring:<cid>      hash  ring-all (F12): agent -> offer id of the contact's open offers;
--                          the contact holds ring = 1 while it is routed by ring-all
--   P qfree:<q>       zset  free agents of queue q in the order q's strategy picks them
--                          (libs/redis/lua/agent_index.lua, kept by this script and presence's)
--   P qxfer:<q>       set   transferred contacts waiting in q (BUSY agents may take them, F20)
--   P offer_counts    hash  offer outcome (created, accepted, ...) -> offers since a
--                          replica last took the counts (op offer_counts) for its metrics
local stream = KEYS[1]
local op = ARGV[1]
local tenant = ARGV[2]
local nonce = ARGV[3]
local P = 'kefu:{t:' .. tenant .. '}:'
local now = now_ms()

local ONLINE, BUSY = 1, 2
local QUEUED, OFFERED, ACTIVE, ENDED = 3, 4, 5, 6
local MATCH_SCAN = 200  -- waiting contacts looked at per queue and decision

local function emit(field, name, payload)
  pb_emit(stream, tenant, nonce, 'router', now, field, name, payload)
  if name:sub(1, 6) == 'offer_' then redis.call('HINCRBY', P .. 'offer_counts', name:sub(7), 1) end
end

local function fail(code, msg) return redis.error_reply(code .. ' ' .. msg) end

-- A queue's configuration, read once per call (nothing in a call changes it; the round
-- robin position rr_last lives in the same hash but is read and written directly).
local qcfg_of = {}
local function qcfg(q, field, default)
  local cfg = qcfg_of[q]
  if not cfg then
    cfg = {}
    local flat = redis.call('HGETALL', P .. 'qcfg:' .. q)
    for i = 1, #flat, 2 do cfg[flat[i]] = flat[i + 1] end
    qcfg_of[q] = cfg
  end
  return tonumber(cfg[field]) or default
end
local function strategy_of(q) return qcfg(q, 'strategy', 1) end
local function reindex(id) agent_reindex(P, id, now, strategy_of) end

-- Agents of queue q that may take a new contact now, with what strategies compare.
-- transfer: BUSY agents are candidates too (F20: BUSY accepts transfers only).
local function candidate(id, transfer)
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'status', 'load', 'max', 'tiers',
                       'delay_until', 'idle_since', 'cap')
  local status = tonumber(a[1]) or 0
  local load, max = tonumber(a[2]) or 0, tonumber(a[3]) or 0
  if (status == ONLINE or (transfer and status == BUSY)) and load < max and
      (tonumber(a[5]) or 0) <= now then
    return {id = id, load = load, max = max, tiers = a[4] or '',
            idle = tonumber(a[6]) or 0, cap = tonumber(a[7]) or 0}
  end
  return nil
end

local function candidates_of(ids, transfer)
  table.sort(ids)  -- a stable order: round robin and ties must not depend on set order
  local out = {}
  for _, id in ipairs(ids) do
    local a = candidate(id, transfer)
    if a then out[#out + 1] = a end
  end
  return out
end

-- Every agent of queue q that may take a contact now, read one by one: for transfers
-- (BUSY agents too) and SuggestAgents; routing a new contact reads the free index instead.
local function candidates(q, transfer)
  return candidates_of(redis.call('SMEMBERS', P .. 'qagents:' .. q), transfer)
end

local function csv(s)
  local out = {}
  for item in string.gmatch(s or '', '[^,]+') do out[#out + 1] = item end
  return out
end

-- Every agent a restricted contact may go to (F15, F16): the designated agents and the
-- agents of the eligible departments, whatever queue they serve.
local function eligible_ids(agents_csv, depts_csv)
  local seen, ids = {}, {}
  for _, id in ipairs(csv(agents_csv)) do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
  for _, d in ipairs(csv(depts_csv)) do
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'deptagents:' .. d)) do
      if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
    end
  end
  return ids
end

local function serves(agent, tier)
  if agent.tiers == '' or tier == '0' then return true end
  return string.find(',' .. agent.tiers .. ',', ',' .. tier .. ',', 1, true) ~= nil
end

local INDEX_BATCH = 16

-- The first free agent of queue q (its free index, in strategy order) that serves `tier`;
-- members that turn out not to be free any more are dropped from the index on the way.
-- Round robin takes the first such agent after the last one served, by id.
local function pick_free(q, tier)
  local key = P .. 'qfree:' .. q
  local rr = qcfg(q, 'strategy', 1) == 3
  local last = rr and (redis.call('HGET', P .. 'qcfg:' .. q, 'rr_last') or '') or ''
  local function scan(min)
    local offset = 0
    while true do
      local ids
      if rr then
        ids = redis.call('ZRANGEBYLEX', key, min, '+', 'LIMIT', offset, INDEX_BATCH)
      else
        ids = redis.call('ZRANGE', key, offset, offset + INDEX_BATCH - 1)
      end
      if #ids == 0 then return nil end
      local dropped = 0
      for _, id in ipairs(ids) do
        local a = candidate(id, false)
        if not a then
          redis.call('ZREM', key, id)
          dropped = dropped + 1
        elseif serves(a, tier) then
          return a
        end
      end
      offset = offset + #ids - dropped
    end
  end
  local a
  if rr and last ~= '' then a = scan('(' .. last) end
  if not a then a = scan('-') end
  if a and rr then redis.call('HSET', P .. 'qcfg:' .. q, 'rr_last', a.id) end
  return a
end

-- Every free agent of queue q, by id (ring-all), stale members dropped.
local function free_agents(q)
  local key = P .. 'qfree:' .. q
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local a = candidate(id, false)
    if a then out[#out + 1] = a else redis.call('ZREM', key, id) end
  end
  table.sort(out, function(x, y) return x.id < y.id end)
  return out
end

-- Picks an agent of `cands` for a contact of `tier` by the queue's strategy (F12).
local function pick(q, cands, tier)
  local strategy = qcfg(q, 'strategy', 1)
  local best, bi = nil, nil
  if strategy == 3 then  -- round robin: the first eligible agent after the last one served
    local last = redis.call('HGET', P .. 'qcfg:' .. q, 'rr_last') or ''
    local first = nil
    for i, a in ipairs(cands) do
      if serves(a, tier) then
        if not first then first = i end
        if a.id > last then best, bi = a, i break end
      end
    end
    if not best and first then best, bi = cands[first], first end
    if best then redis.call('HSET', P .. 'qcfg:' .. q, 'rr_last', best.id) end
    return best, bi
  end
  local bk1, bk2 = nil, nil
  for i, a in ipairs(cands) do
    if serves(a, tier) then
      local k1, k2
      if strategy == 2 then k1, k2 = a.idle, a.load             -- longest idle
      elseif strategy == 4 then k1, k2 = -a.cap, a.load          -- highest capability
      else k1, k2 = a.load, a.idle end                           -- least busy (default)
      if not best or k1 < bk1 or (k1 == bk1 and k2 < bk2) then
        best, bi, bk1, bk2 = a, i, k1, k2
      end
    end
  end
  return best, bi
end

-- Offers contact cid to agent a: reserves the slot, writes the offer with its deadline
-- and emits OfferCreated. `known` may carry what the caller already read: the contact's
-- dialog, and plain = true when it is in neither qelig nor qxfer.
local function offer(cid, a, q, known)
  known = known or {}
  local c = P .. 'contact:' .. cid
  local attempt = redis.call('HINCRBY', c, 'attempt', 1)
  local offer_id = cid .. '#' .. attempt
  local deadline = now + qcfg(q, 'offer_timeout_ms', 15000)
  redis.call('HSET', c, 'state', OFFERED, 'agent', a.id, 'offer_id', offer_id,
             'deadline', deadline, 'offer_ms', now, 'ring', '')
  redis.call('ZREM', P .. 'queue:' .. q, cid)
  if not known.plain then
    redis.call('SREM', P .. 'qelig:' .. q, cid)
    redis.call('SREM', P .. 'qxfer:' .. q, cid)
  end
  redis.call('ZADD', P .. 'offers', deadline, cid)
  redis.call('HINCRBY', P .. 'agent:' .. a.id, 'load', 1)
  reindex(a.id)
  local dialog = known.dialog
  if dialog == nil then dialog = redis.call('HGET', c, 'dialog') end
  emit(22, 'offer_created',
       pb_str(1, offer_id) .. pb_str(2, cid) .. pb_str(3, dialog) ..
       pb_str(4, a.id) .. pb_str(5, q) .. pb_millis(6, deadline) .. pb_int(7, attempt))
  return offer_id
end

-- Ring-all (F12): offers contact cid to every agent of `pool` serving its tier at once,
-- reserving a slot on each; the first accept wins and the others are withdrawn. Returns
-- the agents rung.
local function ring(cid, pool, tier, q)
  local c = P .. 'contact:' .. cid
  local rung = {}
  for _, a in ipairs(pool) do
    if serves(a, tier) then rung[#rung + 1] = a end
  end
  if #rung == 0 then return rung end
  local attempt = redis.call('HINCRBY', c, 'attempt', 1)
  local deadline = now + qcfg(q, 'offer_timeout_ms', 15000)
  local rk = P .. 'ring:' .. cid
  local dialog = redis.call('HGET', c, 'dialog')
  redis.call('DEL', rk)
  for i, a in ipairs(rung) do
    local offer_id = cid .. '#' .. attempt .. '.' .. i
    redis.call('HSET', rk, a.id, offer_id)
    redis.call('HINCRBY', P .. 'agent:' .. a.id, 'load', 1)
    reindex(a.id)
    emit(22, 'offer_created',
         pb_str(1, offer_id) .. pb_str(2, cid) .. pb_str(3, dialog) .. pb_str(4, a.id) ..
         pb_str(5, q) .. pb_millis(6, deadline) .. pb_int(7, attempt))
  end
  redis.call('HSET', c, 'state', OFFERED, 'agent', '', 'offer_id', '', 'ring', '1',
             'deadline', deadline, 'offer_ms', now)
  redis.call('ZREM', P .. 'queue:' .. q, cid)
  redis.call('SREM', P .. 'qelig:' .. q, cid)
  redis.call('SREM', P .. 'qxfer:' .. q, cid)
  redis.call('ZADD', P .. 'offers', deadline, cid)
  return rung
end

-- The bound exclusive agent (F14) when it can take a contact now, whatever its queues.
local function exclusive_candidate(agent_id)
  local a = redis.call('HMGET', P .. 'agent:' .. agent_id, 'status', 'load', 'max', 'delay_until')
  local load, max = tonumber(a[2]) or 0, tonumber(a[3]) or 0
  if tonumber(a[1]) == ONLINE and load < max and (tonumber(a[4]) or 0) <= now then
    return {id = agent_id, load = load, max = max}
  end
  return nil
end

-- Offers waiting contacts of queue q to free agents, in queue order (VIP first, then
-- waiting time), until agents or contacts run out. A contact with designated agents or
-- departments (F15, F16) only goes to those agents, whatever queue they serve; in a
-- ring-all queue every eligible agent is offered the contact at once. Returns the offers
-- made.
local function match(q)
  local made = {}
  -- Nobody waiting: nothing to match (the common case when an agent frees up).
  if redis.call('ZCARD', P .. 'queue:' .. q) == 0 then return made end
  local free_key = P .. 'qfree:' .. q
  -- Contacts waiting for an exclusive agent may be served outside the queue's agents,
  -- and so may contacts restricted to designated agents or departments; transferred
  -- contacts may go to BUSY agents (F20). Otherwise only the free index matters.
  local exclusive_waits = redis.call('ZCARD', P .. 'exclexp') > 0
  local restricted = redis.call('SCARD', P .. 'qelig:' .. q) > 0
  local transfers = redis.call('SCARD', P .. 'qxfer:' .. q) > 0
  local function stuck()
    return not exclusive_waits and not restricted and not transfers and
           redis.call('ZCARD', free_key) == 0
  end
  if stuck() then return made end
  local lists = {}           -- candidate lists read one by one (transfers, restrictions)
  local transfer_cands = nil -- BUSY agents too, for transferred contacts (F20)
  local eligible = {}        -- elig key -> candidate list, built once per call
  local ring_all = qcfg(q, 'strategy', 1) == 5
  -- The agent took one more contact: keep its load in step in every candidate list (the
  -- free index is kept by offer / ring themselves).
  local function took(a)
    local load = a.load + 1
    for _, list in ipairs(lists) do
      for j, b in ipairs(list) do
        if b.id == a.id then
          b.load = load
          if b.load >= b.max then table.remove(list, j) end
          break
        end
      end
    end
    a.load = load
  end
  local waiting = redis.call('ZRANGE', P .. 'queue:' .. q, 0, MATCH_SCAN - 1)
  for _, cid in ipairs(waiting) do
    if stuck() then break end
    local f = redis.call('HMGET', P .. 'contact:' .. cid, 'tier', 'transfer', 'excl',
                         'excl_until', 'elig_a', 'elig_d', 'dialog')
    local tier = f[1] or '0'
    local known = {dialog = f[7] or false,
                   plain = f[2] ~= '1' and (f[5] or '') == '' and (f[6] or '') == ''}
    local pool = nil  -- nil: the queue's free index
    if f[2] == '1' then
      if not transfer_cands then
        transfer_cands = candidates(q, true)
        lists[#lists + 1] = transfer_cands
      end
      pool = transfer_cands
    end
    if (f[5] and f[5] ~= '') or (f[6] and f[6] ~= '') then
      local key = (f[5] or '') .. '|' .. (f[6] or '')
      if not eligible[key] then
        eligible[key] = candidates_of(eligible_ids(f[5], f[6]), false)
        lists[#lists + 1] = eligible[key]
      end
      pool = eligible[key]
    end
    if f[3] and f[3] ~= '' and (tonumber(f[4]) or 0) > now then
      -- F14: while the exclusive wait lasts, only the bound agent may take the contact.
      local a = exclusive_candidate(f[3])
      if a then
        made[#made + 1] = cid .. '=' .. a.id .. '=' .. offer(cid, a, q, known)
        took(a)
      end
    elseif ring_all then
      for _, a in ipairs(ring(cid, pool or free_agents(q), tier, q)) do
        made[#made + 1] = cid .. '=' .. a.id .. '=ring'
        took(a)
      end
    else
      local a
      if pool then a = pick(q, pool, tier) else a = pick_free(q, tier) end
      if a then
        made[#made + 1] = cid .. '=' .. a.id .. '=' .. offer(cid, a, q, known)
        took(a)
      end
    end
  end
  return made
end

-- The agent may take a contact now: matches every queue it could take one from.
-- `reindexed`: the caller has just put the agent in its free indexes.
local function match_agent(agent_id, reindexed)
  local made = {}
  if not reindexed then reindex(agent_id) end
  local queues = {}
  for _, q in ipairs(redis.call('SMEMBERS', P .. 'agentq:' .. agent_id)) do queues[q] = true end
  -- Queues holding contacts that wait for this agent as their exclusive agent (F14).
  for _, cid in ipairs(redis.call('SMEMBERS', P .. 'exclwait:' .. agent_id)) do
    local f = redis.call('HMGET', P .. 'contact:' .. cid, 'state', 'queue')
    if tonumber(f[1]) == QUEUED then queues[f[2]] = true
    else redis.call('SREM', P .. 'exclwait:' .. agent_id, cid) end
  end
  -- Queues holding contacts designated to this agent or its departments (F15, F16).
  for _, cid in ipairs(redis.call('SMEMBERS', P .. 'eligwait:' .. agent_id)) do
    local f = redis.call('HMGET', P .. 'contact:' .. cid, 'state', 'queue')
    if tonumber(f[1]) == QUEUED then queues[f[2]] = true
    elseif tonumber(f[1]) ~= OFFERED then redis.call('SREM', P .. 'eligwait:' .. agent_id, cid) end
  end
  for q, _ in pairs(queues) do
    for _, m in ipairs(match(q)) do made[#made + 1] = m end
  end
  return made
end

local function release_slot(agent_id)
  local key = P .. 'agent:' .. agent_id
  if redis.call('HINCRBY', key, 'load', -1) < 0 then redis.call('HSET', key, 'load', 0) end
  redis.call('HSET', key, 'idle_since', now)
  reindex(agent_id)
end

-- Frees a ring-all agent's reserved slot without touching its idle time.
local function free_slot(agent_id)
  local key = P .. 'agent:' .. agent_id
  if (tonumber(redis.call('HGET', key, 'load')) or 0) > 0 then
    redis.call('HINCRBY', key, 'load', -1)
  end
  reindex(agent_id)
end

-- The agent is offered nothing until `until_ms` (F19); the sweeper matches it again then.
local function delay_agent(agent_id, until_ms)
  redis.call('HSET', P .. 'agent:' .. agent_id, 'delay_until', until_ms)
  redis.call('ZADD', P .. 'delays', until_ms, agent_id)
  reindex(agent_id)
end

-- The contact goes back to its place in its queue (no open offer any more).
local function requeue(cid)
  local c = P .. 'contact:' .. cid
  local f = redis.call('HMGET', c, 'queue', 'score', 'elig_a', 'elig_d', 'transfer')
  redis.call('ZREM', P .. 'offers', cid)
  redis.call('HSET', c, 'state', QUEUED, 'agent', '', 'offer_id', '')
  redis.call('ZADD', P .. 'queue:' .. f[1], f[2], cid)
  if (f[3] and f[3] ~= '') or (f[4] and f[4] ~= '') then
    redis.call('SADD', P .. 'qelig:' .. f[1], cid)
  end
  if f[5] == '1' then redis.call('SADD', P .. 'qxfer:' .. f[1], cid) end
  return f[1]
end

-- Ends a ring-all round that nobody took: every open offer is expired (no-answer delay
-- for each agent, F19) and the contact goes back to its place.
local function ring_expire(cid)
  local rk = P .. 'ring:' .. cid
  local q = redis.call('HGET', P .. 'contact:' .. cid, 'queue')
  local open = redis.call('HGETALL', rk)
  redis.call('DEL', rk)
  local until_ms = now + qcfg(q, 'no_answer_delay_ms', 30000)
  for i = 1, #open, 2 do
    release_slot(open[i])
    delay_agent(open[i], until_ms)
    emit(25, 'offer_expired', pb_str(1, open[i + 1]) .. pb_str(2, cid) .. pb_str(3, open[i]) ..
         pb_millis(4, until_ms))
  end
  requeue(cid)
  return match(q)
end

-- Withdraws every open ring-all offer of a contact (reason: WithdrawReason) except the
-- one of `keep`; returns the agents freed.
local function ring_withdraw(cid, keep, reason)
  local rk = P .. 'ring:' .. cid
  local open = redis.call('HGETALL', rk)
  redis.call('DEL', rk)
  local freed = {}
  for i = 1, #open, 2 do
    if open[i] ~= keep then
      free_slot(open[i])
      emit(26, 'offer_withdrawn', pb_str(1, open[i + 1]) .. pb_str(2, cid) ..
           pb_str(3, open[i]) .. pb_int(4, reason))
      freed[#freed + 1] = open[i]
    end
  end
  return freed
end

-- An offer that was rejected or not answered: the contact goes back to its place in the
-- queue, the agent's slot is freed and the agent is not offered anything for `delay` ms
-- (F19); then the next agent is tried.
local function withdraw(cid, delay_field, default_delay, field, name, reason)
  local c = P .. 'contact:' .. cid
  local f = redis.call('HMGET', c, 'agent', 'offer_id', 'queue')
  local agent_id, offer_id, q = f[1], f[2], f[3]
  requeue(cid)
  release_slot(agent_id)
  local until_ms = now + qcfg(q, delay_field, default_delay)
  delay_agent(agent_id, until_ms)
  local payload = pb_str(1, offer_id) .. pb_str(2, cid) .. pb_str(3, agent_id)
  if reason then
    payload = payload .. pb_str(4, reason) .. pb_millis(5, until_ms)
  else
    payload = payload .. pb_millis(4, until_ms)
  end
  emit(field, name, payload)
  return until_ms, match(q)
end

-- Checks that offer_id is the live offer of its contact to agent_id; returns cid.
-- The second result is true for a ring-all offer.
local function live_offer(offer_id, agent_id)
  local cid = string.match(offer_id, '^([^#]+)#%d+$') or string.match(offer_id, '^([^#]+)#%d+%.%d+$')
  if not cid then return nil, fail('INVALID_ARGUMENT', 'offer_id: "' .. offer_id .. '" is not an offer id') end
  local f = redis.call('HMGET', P .. 'contact:' .. cid, 'state', 'offer_id', 'agent', 'ring')
  if f[4] == '1' then
    if tonumber(f[1]) ~= OFFERED or
        redis.call('HGET', P .. 'ring:' .. cid, agent_id) ~= offer_id then
      return nil, fail('FAILED_PRECONDITION', 'offer ' .. offer_id ..
                       ' is no longer open (taken by another agent or withdrawn)')
    end
    return cid, true
  end
  if not f[1] or f[2] ~= offer_id or f[3] ~= agent_id then
    return nil, fail('NOT_FOUND', 'offer ' .. offer_id .. ' is not open for agent ' .. agent_id)
  end
  if tonumber(f[1]) ~= OFFERED then
    return nil, fail('FAILED_PRECONDITION', 'offer ' .. offer_id .. ' is no longer open')
  end
  return cid, false
end

-- The queue of a contact: the requested department's, else the tier's group's (F10),
-- else the tenant's default queue. Cached here by the router's admin side.
local function resolve_queue(department, tier)
  if department == '' then
    department = redis.call('HGET', P .. 'tiermap', tier) or ''
  end
  if department ~= '' then
    local q = redis.call('HGET', P .. 'dept:' .. department, 'queue')
    if not q then return nil, department end
    return q, department
  end
  return redis.call('GET', P .. 'defaultq'), ''
end

if op == 'enqueue' then
  -- ARGV[4] contact, [5] requested department, [6] tier, [7] dialog, [8] customer,
  -- [9] exclusive agent ('' = the customer's bound one, if any), [10] eligible agents
  -- (csv), [11] eligible departments (csv): designations (F16) and region (F15); both
  -- empty = any agent of the queue, [12] channel
  local cid, tier = ARGV[4], ARGV[6]
  local q, department = resolve_queue(ARGV[5], tier)
  if not q then
    if ARGV[5] ~= '' then
      return fail('INVALID_ARGUMENT', 'requested_department_id: unknown department "' .. ARGV[5] .. '"')
    end
    return fail('FAILED_PRECONDITION', 'no queue for this contact: configure a default queue or a tier map')
  end
  local c = P .. 'contact:' .. cid
  local state = tonumber(redis.call('HGET', c, 'state'))
  if state and state ~= ENDED then  -- a retried Enqueue: report, do not queue twice
    local f = redis.call('HMGET', c, 'agent', 'offer_id', 'queue')
    return {state, f[1] or '', f[2] or '', f[3] or '', redis.call('ZRANK', P .. 'queue:' .. f[3], cid) or -1,
            redis.call('HGETALL', P .. 'ring:' .. cid)}
  end
  local rank = ({['3'] = 0, ['2'] = 1, ['1'] = 2})[tier] or 2  -- VIP, REGULAR, NEW
  local score = rank * 1e13 + now
  redis.call('DEL', c)
  redis.call('HSET', c, 'state', QUEUED, 'queue', q, 'tier', tier, 'score', score, 'enq', now,
             'dialog', ARGV[7], 'customer', ARGV[8], 'department', department, 'attempt', 0)
  -- F14: the customer's exclusive agent (given, or bound earlier) gets the contact first;
  -- after the queue's exclusive wait anybody may (the sweeper re-matches it then).
  local excl = ARGV[9] or ''
  if excl == '' and ARGV[8] ~= '' then excl = redis.call('HGET', P .. 'excl', ARGV[8]) or '' end
  if excl ~= '' then
    local until_ms = now + qcfg(q, 'exclusive_wait_ms', 60000)
    redis.call('HSET', c, 'excl', excl, 'excl_until', until_ms)
    redis.call('SADD', P .. 'exclwait:' .. excl, cid)
    redis.call('ZADD', P .. 'exclexp', until_ms, cid)
  end
  local elig_a, elig_d = ARGV[10] or '', ARGV[11] or ''
  if elig_a ~= '' or elig_d ~= '' then
    redis.call('HSET', c, 'elig_a', elig_a, 'elig_d', elig_d)
    redis.call('SADD', P .. 'qelig:' .. q, cid)
    for _, id in ipairs(eligible_ids(elig_a, elig_d)) do
      redis.call('SADD', P .. 'eligwait:' .. id, cid)
    end
  end
  redis.call('ZADD', P .. 'queue:' .. q, score, cid)
  local position = redis.call('ZRANK', P .. 'queue:' .. q, cid)
  local eligible_pb = ''
  for _, d in ipairs(csv(elig_d)) do eligible_pb = eligible_pb .. pb_str(6, d) end
  emit(20, 'contact_queued',
       pb_str(1, cid) .. pb_str(2, ARGV[7]) .. pb_str(3, ARGV[8]) .. pb_str(4, q) ..
       pb_str(5, department) .. eligible_pb .. pb_int(7, tier) .. pb_int(9, position + 1) ..
       pb_int(10, ARGV[12]))
  -- Nobody waits ahead of the contact and any agent of the queue may take it: the free
  -- index decides at once. (The contacts waiting behind it could not be served by the
  -- free agents before this call, and this call frees nobody, so match(q) would stop
  -- after this contact too.)
  if position == 0 and excl == '' and elig_a == '' and elig_d == '' and
      qcfg(q, 'strategy', 1) ~= 5 then
    local a = pick_free(q, tier)
    if a then
      local offer_id = offer(cid, a, q, {dialog = ARGV[7], plain = true})
      return {OFFERED, a.id, offer_id, q, -1, {}, 1}
    end
  end
  match(q)
  local f = redis.call('HMGET', c, 'state', 'agent', 'offer_id')
  -- A waiting contact is "staffed" while an agent who may take it is ONLINE (busy with
  -- others, it will free up); otherwise the customer is offered LeaveMessage (F33).
  local staffed = 1
  if tonumber(f[1]) == QUEUED then
    local ids
    if elig_a ~= '' or elig_d ~= '' then
      ids = eligible_ids(elig_a, elig_d)
    else
      ids = redis.call('SMEMBERS', P .. 'qagents:' .. q)
    end
    staffed = 0
    for _, id in ipairs(ids) do
      if tonumber(redis.call('HGET', P .. 'agent:' .. id, 'status')) == ONLINE then
        staffed = 1
        break
      end
    end
  end
  return {tonumber(f[1]), f[2] or '', f[3] or '', q, redis.call('ZRANK', P .. 'queue:' .. q, cid) or -1,
          redis.call('HGETALL', P .. 'ring:' .. cid), staffed}

elseif op == 'accept' then
  -- ARGV[4] offer id, [5] agent id
  local cid, is_ring = live_offer(ARGV[4], ARGV[5])
  if not cid then return is_ring end
  local c = P .. 'contact:' .. cid
  local freed = {}
  if is_ring then
    -- Ring-all: the first accept wins; the other offers are withdrawn (F12).
    freed = ring_withdraw(cid, ARGV[5], 1)  -- WITHDRAW_REASON_TAKEN_BY_OTHER
    redis.call('HSET', c, 'agent', ARGV[5], 'offer_id', ARGV[4])
  end
  redis.call('ZREM', P .. 'offers', cid)
  redis.call('HSET', c, 'state', ACTIVE, 'assigned_ms', now)
  local f = redis.call('HMGET', c, 'dialog', 'customer', 'queue', 'department', 'tier', 'enq', 'offer_ms')
  local load = tonumber(redis.call('HGET', P .. 'agent:' .. ARGV[5], 'load')) or 0
  emit(23, 'offer_accepted', pb_str(1, ARGV[4]) .. pb_str(2, cid) .. pb_str(3, ARGV[5]) ..
       pb_millis(4, now - (tonumber(f[7]) or now)))
  emit(27, 'contact_assigned',
       pb_str(1, cid) .. pb_str(2, f[1]) .. pb_str(3, f[2]) .. pb_str(4, ARGV[5]) ..
       pb_str(5, f[3]) .. pb_str(6, f[4]) .. pb_int(7, f[5]) ..
       pb_millis(10, now - (tonumber(f[6]) or now)) .. pb_int(11, load))
  for _, agent_id in ipairs(freed) do match_agent(agent_id, true) end
  return {cid, f[1] or '', f[2] or '', f[3] or '', f[4] or '', now - (tonumber(f[6]) or now), load}

elseif op == 'reject' then
  -- ARGV[4] offer id, [5] agent id, [6] reason
  local cid, is_ring = live_offer(ARGV[4], ARGV[5])
  if not cid then return is_ring end
  if is_ring then
    -- Ring-all: only this agent's offer ends; the round goes on while others are open.
    local agent_id = ARGV[5]
    local q = redis.call('HGET', P .. 'contact:' .. cid, 'queue')
    redis.call('HDEL', P .. 'ring:' .. cid, agent_id)
    release_slot(agent_id)
    local until_ms = now + qcfg(q, 'reject_delay_ms', 10000)
    delay_agent(agent_id, until_ms)
    emit(24, 'offer_rejected', pb_str(1, ARGV[4]) .. pb_str(2, cid) .. pb_str(3, agent_id) ..
         pb_str(4, ARGV[6]) .. pb_millis(5, until_ms))
    if redis.call('HLEN', P .. 'ring:' .. cid) == 0 then
      requeue(cid)
      match(q)
    end
    return until_ms
  end
  local until_ms = withdraw(cid, 'reject_delay_ms', 10000, 24, 'offer_rejected', ARGV[6])
  return until_ms

elseif op == 'release' then
  -- ARGV[4] contact, [5] agent (the dialog ended, F31)
  local cid, agent_id = ARGV[4], ARGV[5]
  local c = P .. 'contact:' .. cid
  local f = redis.call('HMGET', c, 'state', 'agent')
  if tonumber(f[1]) ~= ACTIVE or f[2] ~= agent_id then
    return fail('NOT_FOUND', 'contact ' .. cid .. ' is not in a dialog with agent ' .. agent_id)
  end
  redis.call('HSET', c, 'state', ENDED)
  redis.call('PEXPIRE', c, 3600000)
  release_slot(agent_id)
  return match_agent(agent_id, true)

elseif op == 'cancel' then
  -- ARGV[4] contact, [5] AbandonReason: the customer left before an agent took them
  local cid = ARGV[4]
  local c = P .. 'contact:' .. cid
  local f = redis.call('HMGET', c, 'state', 'queue', 'agent', 'enq', 'dialog', 'department', 'ring')
  local state = tonumber(f[1])
  if state ~= QUEUED and state ~= OFFERED then return {0, 0} end
  redis.call('ZREM', P .. 'queue:' .. f[2], cid)
  redis.call('SREM', P .. 'qelig:' .. f[2], cid)
  redis.call('SREM', P .. 'qxfer:' .. f[2], cid)
  redis.call('ZREM', P .. 'offers', cid)
  redis.call('HSET', c, 'state', ENDED)
  redis.call('PEXPIRE', c, 3600000)
  local waited = now - (tonumber(f[4]) or now)
  emit(21, 'contact_abandoned', pb_str(1, cid) .. pb_str(2, f[5]) .. pb_str(3, f[2]) ..
       pb_str(4, f[6]) .. pb_millis(5, waited) .. pb_int(6, ARGV[5]))
  if state == OFFERED and f[7] == '1' then
    for _, agent_id in ipairs(ring_withdraw(cid, '', 2)) do  -- WITHDRAW_REASON_CONTACT_ENDED
      match_agent(agent_id, true)
    end
  elseif state == OFFERED then
    release_slot(f[3])
    match_agent(f[3], true)
  end
  return {1, waited}

elseif op == 'pickup' then
  -- ARGV[4] agent, [5] queue, [6] contact (optional): an agent takes a waiting contact by
  -- hand (F17), whatever the strategy; capacity still holds.
  local agent_id, q, cid = ARGV[4], ARGV[5], ARGV[6]
  local a = redis.call('HMGET', P .. 'agent:' .. agent_id, 'status', 'load', 'max')
  local status = tonumber(a[1]) or 0
  if status ~= ONLINE and status ~= BUSY then
    return fail('FAILED_PRECONDITION', 'agent ' .. agent_id .. ' must be ONLINE or BUSY to pick up')
  end
  if (tonumber(a[2]) or 0) >= (tonumber(a[3]) or 0) then
    return fail('RESOURCE_EXHAUSTED', 'agent ' .. agent_id .. ' is at max concurrent dialogs')
  end
  if redis.call('SISMEMBER', P .. 'qagents:' .. q, agent_id) == 0 then
    return fail('PERMISSION_DENIED', 'agent ' .. agent_id .. ' does not serve queue ' .. q)
  end
  if cid == '' then
    local head = redis.call('ZRANGE', P .. 'queue:' .. q, 0, 0)
    if #head == 0 then return fail('NOT_FOUND', 'queue ' .. q .. ' has nobody waiting') end
    cid = head[1]
  elseif redis.call('ZSCORE', P .. 'queue:' .. q, cid) == false then
    return fail('NOT_FOUND', 'contact ' .. cid .. ' is not waiting in queue ' .. q)
  end
  local c = P .. 'contact:' .. cid
  redis.call('ZREM', P .. 'queue:' .. q, cid)
  redis.call('SREM', P .. 'qelig:' .. q, cid)
  redis.call('SREM', P .. 'qxfer:' .. q, cid)
  redis.call('HSET', c, 'state', ACTIVE, 'agent', agent_id, 'assigned_ms', now)
  local load = redis.call('HINCRBY', P .. 'agent:' .. agent_id, 'load', 1)
  reindex(agent_id)
  local f = redis.call('HMGET', c, 'dialog', 'customer', 'enq', 'department', 'tier')
  local waited = now - (tonumber(f[3]) or now)
  emit(29, 'contact_picked_up', pb_str(1, cid) .. pb_str(2, f[1]) .. pb_str(3, agent_id) ..
       pb_str(4, q))
  emit(27, 'contact_assigned',
       pb_str(1, cid) .. pb_str(2, f[1]) .. pb_str(3, f[2]) .. pb_str(4, agent_id) ..
       pb_str(5, q) .. pb_str(6, f[4]) .. pb_int(7, f[5]) .. pb_millis(10, waited) ..
       pb_int(11, load))
  return {cid, f[1] or '', f[2] or '', waited, load}

elseif op == 'sweep' then
  -- ARGV[4] max items. Offers past their deadline are withdrawn (the agent gets the
  -- no-answer delay) and agents whose delay ended are matched again. Claimed inside this
  -- script, so each expired item is handled by exactly one replica.
  local limit = tonumber(ARGV[4]) or 100
  local handled = 0
  for _, cid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'offers', '-inf', now, 'LIMIT', 0, limit)) do
    if redis.call('HGET', P .. 'contact:' .. cid, 'ring') == '1' then
      ring_expire(cid)
    else
      withdraw(cid, 'no_answer_delay_ms', 30000, 25, 'offer_expired', nil)
    end
    handled = handled + 1
  end
  for _, cid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'exclexp', '-inf', now, 'LIMIT', 0, limit)) do
    redis.call('ZREM', P .. 'exclexp', cid)
    local f = redis.call('HMGET', P .. 'contact:' .. cid, 'state', 'queue')
    if tonumber(f[1]) == QUEUED then match(f[2]) end  -- the exclusive wait is over
    handled = handled + 1
  end
  for _, agent_id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'delays', '-inf', now, 'LIMIT', 0, limit)) do
    redis.call('ZREM', P .. 'delays', agent_id)
    match_agent(agent_id)
    handled = handled + 1
  end
  return handled

elseif op == 'transfer' then
  -- ARGV[4] contact, [5] from agent, [6] 'agent' | 'department', [7] target id, [8] note,
  -- [9] transfer id. F18: the contact leaves the agent; an agent target is offered at
  -- once (ONLINE or BUSY: BUSY agents take transfers, F20), a department target queues it
  -- at its old place in the department's queue, where BUSY agents are candidates too.
  local cid, from, kind, target = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local c = P .. 'contact:' .. cid
  local f = redis.call('HMGET', c, 'state', 'agent', 'tier', 'score', 'dialog', 'queue')
  if tonumber(f[1]) ~= ACTIVE or f[2] ~= from then
    return fail('FAILED_PRECONDITION', 'contact ' .. cid .. ' is not in a dialog with agent ' .. from)
  end
  local q = f[6]
  if kind == 'department' then
    q = redis.call('HGET', P .. 'dept:' .. target, 'queue')
    if not q then return fail('INVALID_ARGUMENT', 'to_department_id: unknown department "' .. target .. '"') end
  else
    if target == from then return fail('INVALID_ARGUMENT', 'to_agent_id: the contact is already with ' .. from) end
    local a = redis.call('HMGET', P .. 'agent:' .. target, 'status', 'load', 'max')
    local status = tonumber(a[1]) or 0
    if (status ~= ONLINE and status ~= BUSY) or (tonumber(a[2]) or 0) >= (tonumber(a[3]) or 0) then
      return fail('FAILED_PRECONDITION', 'agent ' .. target .. ' cannot take a transfer now (status or capacity)')
    end
  end
  release_slot(from)
  redis.call('HSET', c, 'state', QUEUED, 'queue', q, 'transfer', '1', 'agent', '', 'offer_id', '',
             'elig_a', '', 'elig_d', '')
  -- The dialog now belongs to the target department (reports group it there, F62).
  if kind == 'department' then redis.call('HSET', c, 'department', target) end
  -- The last 3 targets of this agent, newest first (F18 shortcuts).
  local recent = P .. 'recent:' .. from
  local entry = kind .. ':' .. target
  redis.call('LREM', recent, 0, entry)
  redis.call('LPUSH', recent, entry)
  redis.call('LTRIM', recent, 0, 2)
  local target_field = kind == 'department' and pb_str(6, target) or pb_str(5, target)
  emit(28, 'contact_transferred', pb_str(1, ARGV[9]) .. pb_str(2, cid) .. pb_str(3, f[5]) ..
       pb_str(4, from) .. target_field .. pb_str(8, ARGV[8]))
  local result = ''
  if kind == 'department' then
    redis.call('ZADD', P .. 'queue:' .. q, f[4], cid)
    redis.call('SADD', P .. 'qxfer:' .. q, cid)
    match(q)
  else
    local a = {id = target}
    result = offer(cid, a, q)
  end
  match_agent(from)
  local g = redis.call('HMGET', c, 'state', 'agent', 'offer_id', 'queue')
  return {tonumber(g[1]), g[2] or '', g[3] or '', g[4] or ''}

elseif op == 'bind' then
  -- ARGV[4] customer, [5] agent ('' unbinds), [6] contact. Returns the previous agent.
  local previous = redis.call('HGET', P .. 'excl', ARGV[4]) or ''
  if ARGV[5] == '' then
    redis.call('HDEL', P .. 'excl', ARGV[4])
  else
    redis.call('HSET', P .. 'excl', ARGV[4], ARGV[5])
  end
  emit(30, 'exclusive_agent_bound', pb_str(1, ARGV[4]) .. pb_str(2, ARGV[5]) ..
       pb_str(3, previous) .. pb_str(4, ARGV[6]))
  return previous

elseif op == 'suggest' then
  -- ARGV[4] queue, ARGV[5..] declined agents. F14: agents a customer may choose from,
  -- highest service capability first, skipping the ones already declined.
  local declined = {}
  for i = 5, #ARGV do declined[ARGV[i]] = true end
  local cands = candidates(ARGV[4], false)
  table.sort(cands, function(x, y)
    if x.cap ~= y.cap then return x.cap > y.cap end
    return x.id < y.id
  end)
  local out = {}
  for _, a in ipairs(cands) do
    if not declined[a.id] then out[#out + 1] = a.id; out[#out + 1] = tostring(a.cap); out[#out + 1] = a.load end
  end
  return out

elseif op == 'agent' then
  -- ARGV[4] agent: its status, load or queues changed; match its queues.
  return match_agent(ARGV[4])

elseif op == 'offer_counts' then
  -- The offers counted since any replica last asked, by outcome; taken, so that replicas
  -- summed in Prometheus count each offer once (kefu_router_offers_total).
  local counts = redis.call('HGETALL', P .. 'offer_counts')
  redis.call('DEL', P .. 'offer_counts')
  return counts

elseif op == 'queue' then
  -- ARGV[4] queue: its configuration (strategy) changed. Rebuilds its free index in the
  -- new strategy's order and matches it.
  local q = ARGV[4]
  redis.call('DEL', P .. 'qfree:' .. q)
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'qagents:' .. q)) do reindex(id) end
  return match(q)
end
return fail('INVALID_ARGUMENT', 'unknown op ' .. tostring(op))
