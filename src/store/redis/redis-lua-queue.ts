import { type LuaScript, REQUEST_FIELDS_LUA } from "./redis-lua-prelude.js";

/**
 * The scripts that look across queues (backlog, depth, dead letters, events, replay, prune) and
 * the one that writes an event's own keys inside enqueue's transaction. Read-only ones are
 * scripts too, so that each answer comes from one consistent moment, as SQLite's transactions give.
 */

/**
 * Written inside enqueue's MULTI, after BullMQ's addJob created each delivery's job: the request
 * as received (method, path, query and headers as JSON, the body as its bytes: Lua strings and
 * ARGV are binary-safe), its place in the event lists, the dedupe key, and our fields on each job.
 * ARGV: eventId, route, receivedAt, ms, method, path, query, headers, body, member,
 * dedupeKey|"", dedupeExpiresAt, now, ds, then (deliveryId, queue, target) per target.
 */
export const ENQUEUE: LuaScript = {
  name: "switchyardEnqueue",
  body: `
local ev, route, at, ms = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local method, path, query, headers, body, member = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local dedupeKey, dedupeExpiresAt, now, ds = ARGV[13], ARGV[14], ARGV[15], ARGV[16]
rcall("HSET", S .. "event:" .. ev, "route", route, "at", at, "ms", ms, "method", method, "path", path,
  "query", query, "headers", headers, "body", body, "m", member, "ds", ds)
rcall("ZADD", S .. "events", ms, member)
rcall("ZADD", S .. "events:" .. route, ms, member)
if dedupeKey ~= "" then rcall("SET", dedupeKey, ev, "PXAT", dedupeExpiresAt) end
for i = 17, #ARGV, 3 do
  local id, q, target = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  rcall("HSET", S .. "where", id, q)
  rcall("HSET", S .. "targets", q, cjson.encode({route, target}))
  rcall("HSET", qbase(q) .. id, "sy_ev", ev, "sy_ms", ms, "sy_st", "pending", "sy_due", now)
end
return 1
`,
};

/** Returns {{"[route,target]", nextDueAt}...} for queues with unleased waiting jobs. */
export const BACKLOG: LuaScript = {
  name: "switchyardBacklog",
  body: `
local out = {}
local t = rcall("HGETALL", S .. "targets")
for i = 1, #t, 2 do
  local qb = qbase(t[i])
  local best = false
  local head = rcall("LINDEX", qb .. "wait", -1)
  if head then best = tonumber(rcall("HGET", qb .. head, "sy_due")) or 0 end
  local first = rcall("ZRANGE", qb .. "delayed", 0, 0, "WITHSCORES")[2]
  if first then
    local at = math.floor(tonumber(first) / 0x1000)
    if not best or at < best then best = at end
  end
  if best then out[#out + 1] = {t[i + 1], best} end
end
return out
`,
};

/** Per queue named in ARGV[3…]: the earliest sy_due of its leased jobs (BullMQ's active list: as many as are in flight). */
export const LEASED_BACKLOG: LuaScript = {
  name: "switchyardLeasedBacklog",
  body: `
local out = {}
for i = 3, #ARGV do
  local qb = qbase(ARGV[i])
  local best = false
  for _, id in ipairs(rcall("LRANGE", qb .. "active", 0, -1)) do
    local due = tonumber(rcall("HGET", qb .. id, "sy_due"))
    if due and (not best or due < best) then best = due end
  end
  if best then out[#out + 1] = {ARGV[i], best} end
end
return out
`,
};

/** {pending, retrying, dead} over every queue: BullMQ's own list lengths, split by our retrying set. */
export const DEPTH: LuaScript = {
  name: "switchyardDepth",
  body: `
local waiting, dead = 0, 0
for _, q in ipairs(rcall("HKEYS", S .. "targets")) do
  local qb = qbase(q)
  waiting = waiting + rcall("LLEN", qb .. "wait") + rcall("LLEN", qb .. "active") + rcall("LLEN", qb .. "paused")
    + rcall("ZCARD", qb .. "delayed") + rcall("ZCARD", qb .. "prioritized")
  dead = dead + rcall("ZCARD", qb .. "failed")
end
local retrying = rcall("SCARD", S .. "retrying")
return {waiting - retrying, retrying, dead}
`,
};

/**
 * Newest failure first (then highest id), as SQLite orders them. ARGV: route|"", limit (-1 = all).
 * Returns {{id, eventId, route, target, attempts, lastError, receivedAt, failedAt}...}.
 */
export const DEAD_LETTERS: LuaScript = {
  name: "switchyardDeadLetters",
  body: `
local route, limit = ARGV[3], tonumber(ARGV[4])
if limit == 0 then return {} end
local rows = {}
local t = rcall("HGETALL", S .. "targets")
for i = 1, #t, 2 do
  local rt = cjson.decode(t[i + 1])
  if route == "" or rt[1] == route then
    local qb = qbase(t[i])
    local ids = rcall("ZREVRANGE", qb .. "failed", 0, limit < 0 and -1 or limit - 1, "WITHSCORES")
    for j = 1, #ids, 2 do rows[#rows + 1] = {qb, ids[j], tonumber(ids[j + 1]), rt[1], rt[2]} end
  end
end
table.sort(rows, function(a, b)
  if a[3] ~= b[3] then return a[3] > b[3] end
  return seqOf(a[2]) > seqOf(b[2])
end)
local out = {}
for k = 1, (limit < 0 and #rows or math.min(limit, #rows)) do
  local r = rows[k]
  local f = rcall("HMGET", r[1] .. r[2], "sy_ev", "ats", "sy_err")
  local at = f[1] and rcall("HGET", S .. "event:" .. f[1], "at")
  out[#out + 1] = {r[2], f[1] or "", r[4], r[5], tonumber(f[2]) or 0, f[3] or "", at or "", r[3]}
end
return out
`,
};

/**
 * Newest first (received ms, then write order). ARGV: route|"", limit (-1 = all). Returns
 * {{eventId, route, receivedAt, {{id, target, state, attempts, lastError|nil, dueAt}...}}...}.
 */
export const EVENTS: LuaScript = {
  name: "switchyardEvents",
  body: `
local route, limit = ARGV[3], tonumber(ARGV[4])
if limit == 0 then return {} end
local key = route == "" and S .. "events" or S .. "events:" .. route
local out = {}
for _, m in ipairs(rcall("ZREVRANGE", key, 0, limit < 0 and -1 or limit - 1)) do
  local ev = string.match(m, "^[^:]*:(.*)$")
  local e = rcall("HMGET", S .. "event:" .. ev, "route", "at", "ds")
  if e[1] then out[#out + 1] = {ev, e[1], e[2], deliveryRows(e[3])} end
end
return out
`,
};

/**
 * One event: ARGV: eventId. Returns {{REQUEST_FIELDS...}, {{id, target, state, attempts,
 * lastError|nil, dueAt}...}, {{attempt JSON...} per delivery}} or nil. Run with Buffer replies:
 * the body is bytes.
 */
export const EVENT: LuaScript = {
  name: "switchyardEvent",
  body: `
local k = S .. "event:" .. ARGV[3]
local e = rcall("HMGET", k, ${REQUEST_FIELDS_LUA})
if not e[1] then return false end
local rows = deliveryRows(rcall("HGET", k, "ds"))
local logs = {}
for i, r in ipairs(rows) do logs[i] = rcall("LRANGE", S .. "attempts:" .. r[1], 0, -1) end
return {e, rows, logs}
`,
};

/**
 * A page of events, newest first (score, then member, as ZREVRANGEBYSCORE orders them). ARGV:
 * route|"", max (a score, "(score" or "+inf"), cursor member|"" (skipped with every member at or
 * after it of score max), min ("-inf" or a score), limit, withRequest (1/0). Returns
 * {{eventId, route, receivedAt, ms, member, deliveryRows, {REQUEST_FIELDS...}|false}...}; run
 * with Buffer replies when withRequest (the body is bytes).
 */
export const EVENT_PAGE: LuaScript = {
  name: "switchyardEventPage",
  body: `
local route, max, after, min, limit, withDoc = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8] == "1"
local key = route == "" and S .. "events" or S .. "events:" .. route
local out, offset = {}, 0
local atMax = tonumber(max)
while #out < limit do
  local got = rcall("ZREVRANGEBYSCORE", key, max, min, "WITHSCORES", "LIMIT", offset, limit)
  if #got == 0 then break end
  offset = offset + #got / 2
  for j = 1, #got, 2 do
    local m, score = got[j], got[j + 1]
    if #out < limit and not (after ~= "" and tonumber(score) == atMax and m >= after) then
      local ev = string.match(m, "^[^:]*:(.*)$")
      local k = S .. "event:" .. ev
      local e = rcall("HMGET", k, "route", "at", "ds")
      if e[1] then out[#out + 1] = {ev, e[1], e[2], score, m, deliveryRows(e[3]), withDoc and rcall("HMGET", k, ${REQUEST_FIELDS_LUA}) or false} end
    end
  end
end
return out
`,
};

/** Waiting (pending), retrying (delayed) and dead deliveries per queue. Returns {{"[route,target]", pending, retrying, dead}...}. */
export const TARGET_DEPTHS: LuaScript = {
  name: "switchyardTargetDepths",
  body: `
local out = {}
local t = rcall("HGETALL", S .. "targets")
for i = 1, #t, 2 do
  local qb = qbase(t[i])
  local retrying = rcall("ZCARD", qb .. "delayed")
  local pending = rcall("LLEN", qb .. "wait") + rcall("LLEN", qb .. "active") + rcall("LLEN", qb .. "paused")
    + rcall("ZCARD", qb .. "prioritized")
  out[#out + 1] = {t[i + 1], pending, retrying, rcall("ZCARD", qb .. "failed")}
end
return out
`,
};

/**
 * Finished and dead deliveries of one event back to wait with fresh attempts; waiting and leased
 * ones are left alone. ARGV: now, eventId, "all" | target names... Returns {replayed, {unknown targets}}.
 */
export const REDELIVER: LuaScript = {
  name: "switchyardRedeliver",
  body: `
local now, ev = ARGV[3], ARGV[4]
local all = ARGV[5] == "all"
local wanted, missing = {}, {}
if not all then for i = 5, #ARGV do wanted[ARGV[i]] = true end end
local n = 0
for _, d in ipairs(cjson.decode(rcall("HGET", S .. "event:" .. ev, "ds") or "[]")) do
  local id, target = d[1], d[2]
  if all or wanted[target] then
    wanted[target] = nil
    local q = queueOf(id)
    if q then
      local qb = qbase(q)
      local jk = qb .. id
      local st = rcall("HGET", jk, "sy_st")
      local from = st == "dead" and "failed" or ((st == "delivered" or st == "skipped" or st == "coalesced") and "completed") or nil
      if from and rcall("ZREM", qb .. from, id) == 1 then
        rcall("HDEL", jk, "finishedOn", "processedOn", "failedReason", "atm", "ats", "returnvalue")
        rcall("HSET", jk, "sy_st", "pending", "sy_due", now, "sy_upd", now)
        rcall("LPUSH", qb .. "wait", id)
        n = n + 1
      end
    end
  end
end
for target in pairs(wanted) do missing[#missing + 1] = target end
table.sort(missing)
return {n, missing}
`,
};

/**
 * The per-minute counters since a time, summed per bucket. ARGV: since (a minute's start),
 * until, width (bucket ms). Returns {{bucket, field, n}...} where field is the JSON [route, target, name].
 */
export const COUNTS: LuaScript = {
  name: "switchyardCounts",
  body: `
local since, untilMs, width = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local sums, order = {}, {}
for minute = since, untilMs, 60000 do
  local bucket = math.floor(minute / width) * width
  local h = rcall("HGETALL", S .. "counts:" .. string.format("%d", minute))
  for i = 1, #h, 2 do
    local k = string.format("%d", bucket) .. " " .. h[i]
    if not sums[k] then
      sums[k] = 0
      order[#order + 1] = {k, bucket, h[i]}
    end
    sums[k] = sums[k] + tonumber(h[i + 1])
  end
end
local out = {}
for _, o in ipairs(order) do out[#out + 1] = {string.format("%d", o[2]), o[3], sums[o[1]]} end
return out
`,
};

/**
 * Dead back to wait with attempts reset: BullMQ's reprocessJob (Job.retry from failed), keeping our
 * last error visible until the next try. ARGV: now, "all" | "ids", ids... where each id is a
 * delivery id or an event id (its dead deliveries). Returns {replayed, {ids that matched nothing}}.
 */
export const REPLAY: LuaScript = {
  name: "switchyardReplay",
  body: `
local now, mode = tonumber(ARGV[3]), ARGV[4]
local function replay(qb, id)
  if rcall("ZREM", qb .. "failed", id) == 0 then return 0 end
  local jk = qb .. id
  rcall("HDEL", jk, "finishedOn", "processedOn", "failedReason", "atm", "ats")
  rcall("HSET", jk, "sy_st", "pending", "sy_due", now, "sy_upd", now)
  rcall("LPUSH", qb .. "wait", id)
  return 1
end
local n, missing = 0, {}
if mode == "all" then
  for _, q in ipairs(rcall("HKEYS", S .. "targets")) do
    local qb = qbase(q)
    for _, id in ipairs(rcall("ZRANGE", qb .. "failed", 0, -1)) do n = n + replay(qb, id) end
  end
else
  for i = 5, #ARGV do
    local id, m = ARGV[i], 0
    local q = queueOf(id)
    if q then
      m = replay(qbase(q), id)
    else
      for _, d in ipairs(cjson.decode(rcall("HGET", S .. "event:" .. id, "ds") or "[]")) do
        local dq = queueOf(d[1])
        if dq then m = m + replay(qbase(dq), d[1]) end
      end
    end
    if m == 0 then missing[#missing + 1] = id end
    n = n + m
  end
end
return {n, missing}
`,
};

/**
 * One window of prune: events received before `before` whose deliveries are all delivered,
 * skipped or coalesced go, with their BullMQ jobs. ARGV: before, offset, batch.
 * Returns {deleted, kept, scanned}; the caller moves the offset past the kept ones.
 */
export const PRUNE: LuaScript = {
  name: "switchyardPrune",
  body: `
local offset, batch = tonumber(ARGV[4]), tonumber(ARGV[5])
local FINISHED = {delivered = true, skipped = true, coalesced = true}
local members = rcall("ZRANGEBYSCORE", S .. "events", "-inf", "(" .. ARGV[3], "LIMIT", offset, batch)
local deleted, kept = 0, 0
for _, m in ipairs(members) do
  local ek = S .. "event:" .. string.match(m, "^[^:]*:(.*)$")
  local e = rcall("HMGET", ek, "route", "ds")
  local jobs, done = {}, true
  for _, d in ipairs(cjson.decode(e[2] or "[]")) do
    local q = queueOf(d[1])
    if q then
      local st = rcall("HGET", qbase(q) .. d[1], "sy_st")
      if st and not FINISHED[st] then
        done = false
        break
      end
      jobs[#jobs + 1] = {qbase(q), d[1]}
    end
  end
  if done then
    for _, j in ipairs(jobs) do
      rcall("ZREM", j[1] .. "completed", j[2])
      rcall("DEL", j[1] .. j[2], j[1] .. j[2] .. ":logs", S .. "attempts:" .. j[2])
      rcall("HDEL", S .. "where", j[2])
    end
    rcall("DEL", ek)
    rcall("ZREM", S .. "events", m)
    if e[1] then rcall("ZREM", S .. "events:" .. e[1], m) end
    deleted = deleted + 1
  else
    kept = kept + 1
  end
end
return {deleted, kept, #members}
`,
};
