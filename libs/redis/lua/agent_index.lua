-- agent_index.lua: the free-agent index of each queue, shared by route.lua and presence.lua
-- (prepended to both by kefu_embed_files, after proto.lua). Every script that changes
-- what decides whether an agent may take a new contact (status, load, max, delay) calls
-- agent_reindex in the same script, so the index never lags the agent's hash.
--
--   P qfree:<q>  zset  the agents of queue q that may take a new contact now: status ONLINE,
--                      load < max, no reject / no-answer delay running. Scored so that the
--                      first member is the one q's strategy (qcfg strategy) picks; equal
--                      scores fall back to the agent id, as the strategies' ties do.
--
-- The router still checks a picked agent against its hash (and drops stale members), so
-- the index only has to be complete, not exact: an agent missing from it is never offered
-- a contact by the queue's own strategy, an agent wrongly in it is skipped.
local LOAD_CAP = 800  -- keeps load * 1e13 + idle ms below 2^53

-- The score of a free agent in a queue of `strategy` (kefu.router.v1.RoutingStrategy).
local function agent_free_score(strategy, load, idle, cap)
  load = math.min(load, LOAD_CAP)
  if strategy == 2 then return idle * 1024 + load              -- longest idle, then least busy
  elseif strategy == 4 then return -cap * 1e6 + load          -- highest capability, then least busy
  elseif strategy == 3 or strategy == 5 then return 0         -- round robin, ring-all: by id
  end
  return load * 1e13 + idle                                   -- least busy, then longest idle
end

-- Puts agent `id` into, or takes it out of, the free index of each of its queues.
-- `strategy_of(q)`, when given, answers q's strategy (route.lua reads each queue's
-- configuration once per call); otherwise it is read here.
local function agent_reindex(P, id, now, strategy_of)
  local a = redis.call('HMGET', P .. 'agent:' .. id, 'status', 'load', 'max', 'delay_until',
                       'idle_since', 'cap')
  local load = tonumber(a[2]) or 0
  local free = tonumber(a[1]) == 1 and load < (tonumber(a[3]) or 0) and
               (tonumber(a[4]) or 0) <= now
  for _, q in ipairs(redis.call('SMEMBERS', P .. 'agentq:' .. id)) do
    if free then
      local strategy
      if strategy_of then strategy = strategy_of(q)
      else strategy = tonumber(redis.call('HGET', P .. 'qcfg:' .. q, 'strategy')) or 1 end
      redis.call('ZADD', P .. 'qfree:' .. q,
                 agent_free_score(strategy, load, tonumber(a[5]) or 0, tonumber(a[6]) or 0), id)
    else
      redis.call('ZREM', P .. 'qfree:' .. q, id)
    end
  end
end
