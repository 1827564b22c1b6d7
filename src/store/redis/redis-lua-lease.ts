import { type LuaScript, REQUEST_FIELDS_LUA } from "./redis-lua-prelude.js";

/**
 * The lease scripts: claim, settle, reclaim, release. Each one makes, on BullMQ's own lists and
 * job hashes, the change the BullMQ script named in its comment makes, plus our fields. They are
 * ours rather than BullMQ's because the Store contract gives every call its own clock (`now`;
 * BullMQ's scripts take the client's Date.now()), decides states BullMQ has no name for
 * (retrying vs pending, skipped, coalesced), and must update our fields in the same atomic step.
 */

/** Puts a job that was just moved to active under lease: moveToActive's prepareJobForProcessing. */
const LEASE = `
local function request(ev)
  if not ev then return false end
  return rcall("HMGET", S .. "event:" .. ev, ${REQUEST_FIELDS_LUA})
end

local function lease(qb, id, owner, now, leaseMs)
  local jk = qb .. id
  rcall("SET", jk .. ":lock", owner, "PX", leaseMs)
  local attempt = rcall("HINCRBY", jk, "ats", 1)
  rcall("HSET", jk, "processedOn", now, "sy_own", owner, "sy_lease", now + leaseMs)
  rcall("ZADD", S .. "leases", now + leaseMs, id)
  local ev = rcall("HGET", jk, "sy_ev")
  return {id, ev or "", attempt, request(ev)}
end
`;

/**
 * ARGV: queue, now, limit, leaseMs, owner, coalesce (1/0), cap ("" = the queue's BullMQ global
 * concurrency, if set). Returns {coalesced, {id, eventId, attempt, {REQUEST_FIELDS...}|nil}...}; run with Buffer replies (the body is bytes).
 */
export const CLAIM: LuaScript = {
  name: "switchyardClaim",
  body: `${LEASE}
local qb, now, limit, leaseMs, owner = qbase(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local coalesce, cap = ARGV[8] == "1", tonumber(ARGV[9])
local wait, active, delayed = qb .. "wait", qb .. "active", qb .. "delayed"

-- promoteDelayedJobs, by the caller's clock: retries due by now join the wait list.
for _, id in ipairs(rcall("ZRANGEBYSCORE", delayed, 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)) do
  rcall("ZREM", delayed, id)
  rcall("LPUSH", wait, id)
  rcall("HSET", qb .. id, "delay", 0)
end

-- isQueueMaxed: the queue's global concurrency caps its active list, whichever instance claims.
cap = cap or tonumber(rcall("HGET", qb .. "meta", "concurrency"))
if cap then limit = math.min(limit, cap - rcall("LLEN", active)) end
if limit < 1 then return {0} end

if not coalesce then
  -- moveToActive: oldest first (BullMQ adds with LPUSH and takes from the right).
  local out = {0}
  for _ = 1, limit do
    local id = rcall("RPOPLPUSH", wait, active)
    if not id then break end
    out[#out + 1] = lease(qb, id, owner, now, leaseMs)
  end
  return out
end

-- Coalesce has no BullMQ counterpart: claim the newest due delivery (by the event's received
-- time, then id) and finish every older waiting one, due or not, as coalesced, in this one step.
local ids = rcall("LRANGE", wait, 0, -1)
if #ids == 0 then return {0} end
local function order(id) return tonumber(rcall("HGET", qb .. id, "sy_ms")) or 0, seqOf(id) end
local keep, keepMs, keepSeq
for _, id in ipairs(ids) do
  local ms, seq = order(id)
  if not keep or ms > keepMs or (ms == keepMs and seq > keepSeq) then keep, keepMs, keepSeq = id, ms, seq end
end
local coalesced = 0
local function supersede(id)
  local ms, seq = order(id)
  if ms > keepMs or (ms == keepMs and seq >= keepSeq) then return false end
  finish(qb, id, "completed", now, {"returnvalue", '"coalesced"', "sy_st", "coalesced"})
  coalesced = coalesced + 1
  return true
end
for _, id in ipairs(ids) do
  if supersede(id) then rcall("LREM", wait, 0, id) end
end
for _, id in ipairs(rcall("ZRANGE", delayed, 0, -1)) do
  if supersede(id) then rcall("ZREM", delayed, id) end
end
rcall("LREM", wait, 0, keep)
rcall("LPUSH", active, keep)
return {coalesced, lease(qb, keep, owner, now, leaseMs)}
`,
};

/**
 * moveToDelayed (retry: our backoff time, never BullMQ's) / moveToFinished (completed: delivered,
 * skipped; failed: dead). Only the lease holder's settle counts. ARGV: id, owner, kind, now, at, text,
 * record (the attempt's JSON, or ""), which joins the delivery's attempt log (the newest `keep`). ARGV: …, keep.
 */
export const SETTLE: LuaScript = {
  name: "switchyardSettle",
  body: `
local id, owner, kind, now, at, text = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local record, keep = ARGV[9], tonumber(ARGV[10])
local q = queueOf(id)
if not q then return 0 end
local qb = qbase(q)
local jk = qb .. id
if rcall("HGET", jk, "sy_own") ~= owner then return 0 end
if rcall("LREM", qb .. "active", -1, id) == 0 then return 0 end
rcall("DEL", jk .. ":lock")
rcall("ZREM", S .. "leases", id)
rcall("HDEL", jk, "sy_own", "sy_lease")
rcall("HINCRBY", jk, "atm", 1)
if kind == "retry" then
  rcall("ZADD", qb .. "delayed", delayedScore(qb .. "delayed", at), id)
  rcall("HSET", jk, "delay", math.max(0, at - now), "failedReason", text,
    "sy_st", "retrying", "sy_due", at, "sy_err", text, "sy_upd", now)
  rcall("SADD", S .. "retrying", id)
elseif kind == "dead" then
  finish(qb, id, "failed", now, {"failedReason", text, "sy_st", "dead", "sy_err", text})
else
  rcall("HDEL", jk, "sy_err")
  finish(qb, id, "completed", now, {"returnvalue", cjson.encode(text), "sy_st", kind})
end
if record and record ~= "" then
  rcall("RPUSH", S .. "attempts:" .. id, record)
  rcall("LTRIM", S .. "attempts:" .. id, -keep, -1)
end
return 1
`,
};

/** Out of active, lock dropped, to the head of wait: BullMQ's moveJobFromActiveToWait and its stalled-job move. */
const REQUEUE = `
local function requeue(id, due)
  rcall("ZREM", S .. "leases", id)
  local q = queueOf(id)
  if not q then return 0 end
  local qb = qbase(q)
  local jk = qb .. id
  rcall("HDEL", jk, "sy_own", "sy_lease")
  if rcall("LREM", qb .. "active", -1, id) == 0 then return 0 end
  rcall("DEL", jk .. ":lock")
  rcall("RPUSH", qb .. "wait", id)
  if due then rcall("HSET", jk, "sy_due", due, "sy_upd", due) end
  return 1
end
`;

/**
 * BullMQ's stalled-job check, by lease end instead of lock expiry, so it follows the caller's
 * clock: leases that ended before now go back to wait, attempts kept. ARGV: now.
 */
export const RECLAIM: LuaScript = {
  name: "switchyardReclaim",
  body: `${REQUEUE}
local n = 0
for _, id in ipairs(rcall("ZRANGEBYSCORE", S .. "leases", "-inf", "(" .. ARGV[3])) do n = n + requeue(id, false) end
return n
`,
};

/** Every lease of one owner back to wait, due now, attempts kept. ARGV: owner, now. */
export const RELEASE: LuaScript = {
  name: "switchyardRelease",
  body: `${REQUEUE}
local owner, now = ARGV[3], tonumber(ARGV[4])
local n = 0
for _, id in ipairs(rcall("ZRANGE", S .. "leases", 0, -1)) do
  local q = queueOf(id)
  if q and rcall("HGET", qbase(q) .. id, "sy_own") == owner then n = n + requeue(id, now) end
end
return n
`,
};
