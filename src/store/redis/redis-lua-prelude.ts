/**
 * Lua shared by every script of the Redis store. Each script gets ARGV[1] = `P:` (BullMQ's
 * prefix) and ARGV[2] = `P:sy:` (ours); its own arguments start at ARGV[3].
 *
 * Keys are built inside the scripts from those prefixes, as BullMQ's own scripts build job keys:
 * the queue a delivery belongs to is only known once `P:sy:where` has been read. That is fine on
 * a standalone Redis (what the store supports); on a Redis Cluster every key would need one hash
 * tag, e.g. `prefix: "{switchyard}"`.
 *
 * Numbers: redis.call converts Lua numbers with full precision, but Lua's own `..` and tostring
 * keep only 14 digits, so timestamps are concatenated only from their ARGV strings.
 */
export const PRELUDE = `
local rcall = redis.call
local P, S = ARGV[1], ARGV[2]
local function qbase(q) return P .. q .. ":" end
local function queueOf(id) return rcall("HGET", S .. "where", id) end
local function seqOf(id) return tonumber(string.sub(id, 2)) or 0 end

-- The deliveries of an event's \`ds\` ({{id, target}...} JSON) as the listings show them:
-- {{id, target, state, attempts, lastError|false, dueAt}...}; a job removed behind our back is left out.
local function deliveryRows(ds)
  local rows = {}
  for _, d in ipairs(cjson.decode(ds or "[]")) do
    local q = queueOf(d[1])
    if q then
      local f = rcall("HMGET", qbase(q) .. d[1], "sy_st", "ats", "sy_err", "sy_due")
      rows[#rows + 1] = {d[1], d[2], f[1] or "", tonumber(f[2]) or 0, f[3] or false, tonumber(f[4]) or 0}
    end
  end
  return rows
end

-- BullMQ's getDelayedScore: due ms * 0x1000 plus a counter, so retries due in the same ms keep their order.
local function delayedScore(key, at)
  local minScore = at * 0x1000
  local maxScore = (at + 1) * 0x1000 - 1
  local last = rcall("ZREVRANGEBYSCORE", key, maxScore, minScore, "WITHSCORES", "LIMIT", 0, 1)[2]
  if last == nil then return minScore end
  last = tonumber(last)
  if last >= maxScore then return maxScore end
  return last + 1
end

-- A job reaching a terminal state, as BullMQ's moveToFinished leaves it: in completed/failed
-- scored by finishedOn (kept: removeOnComplete/removeOnFail are off; prune() removes them).
local function finish(qb, id, zset, now, fields)
  rcall("ZADD", qb .. zset, now, id)
  rcall("HSET", qb .. id, "finishedOn", now, "sy_upd", now, unpack(fields))
  rcall("SREM", S .. "retrying", id)
end
`;

/**
 * The fields of an event hash that hold the request, in the order the claim and event scripts
 * return them (redis-read.ts's readRequest reads that order). `doc` is the whole event as JSON,
 * as stores written before the request was kept as received have it (read, never written).
 */
export const REQUEST_FIELDS = ["route", "at", "method", "path", "query", "headers", "body", "doc"] as const;
export const REQUEST_FIELDS_LUA = REQUEST_FIELDS.map((f) => `"${f}"`).join(", ");

/** A script: its ioredis command name and its body (the prelude is added by the loader). */
export interface LuaScript {
  name: string;
  body: string;
}
