import type Database from "better-sqlite3";
import { claimable, PRUNABLE_STATES } from "./sqlite-schema.js";

/** Rows as SQLite returns them (column aliases match these names). */
export interface DedupeRow {
  eventId: string;
  expiresAt: number;
}
export interface BacklogRow {
  route: string;
  target: string;
  nextDueAt: number;
}
/** An event's stored request: the columns an event is rebuilt from (see requestOf). */
export interface RequestRow {
  eventId: string;
  route: string;
  receivedAtMs: number;
  method: string;
  path: string;
  query: string;
  headers: string;
  body: Buffer;
}
/** A due delivery: the claim reads its event only when the worker does not hold it in memory. */
export interface DueRow {
  id: number;
  eventId: string;
  attempts: number;
}
/** The newest due delivery (coalesce), with its event's time: older ones are superseded. */
export interface NewestDueRow extends DueRow {
  receivedAtMs: number;
}
export interface DeadRow {
  id: number;
  eventId: string;
  route: string;
  target: string;
  attempts: number;
  lastError: string | null;
  failedAt: number;
  receivedAtMs: number;
}
export interface EventRow {
  id: string;
  route: string;
  receivedAtMs: number;
}
export interface DeliveryRow {
  id: number;
  eventId: string;
  target: string;
  state: string;
  attempts: number;
  lastError: string | null;
  dueAt: number;
}
export interface AttemptRow {
  deliveryId: number;
  attempt: number;
  startedAt: number;
  durationMs: number;
  outcome: string;
  status: number | null;
  exitCode: number | null;
  response: string | null;
  error: string | null;
}
export interface PageRow {
  rid: number;
  id: string;
  route: string;
  ms: number;
  method: string;
  path: string;
  query: string;
  /** The request's headers and body, when asked for (a search reads the event). */
  headers: string | null;
  body: Buffer | null;
}
export interface PageParams {
  route: string;
  since: number;
  ms: number;
  rid: number;
  limit: number;
  withDoc: number;
}
export interface PruneRow {
  rid: number;
  ms: number;
  done: number;
}

type Db = Database.Database;

/**
 * Every statement the store runs, prepared once at open: preparing is a parse and plan, too
 * costly to repeat for each request. Named parameters keep each call readable.
 */
export function prepareStatements(db: Db) {
  const DUE = `route = @route AND target = @target AND ${claimable()} AND due_at <= @now`;
  const DEAD = `SELECT d.id, d.event_id AS eventId, d.route, d.target, d.attempts, d.last_error AS lastError,
      d.updated_at AS failedAt, e.received_at_ms AS receivedAtMs
    FROM deliveries d JOIN events e ON e.id = d.event_id`;
  const EVENTS = "SELECT id, route, received_at_ms AS receivedAtMs FROM events";
  const REQUEST = "e.id AS eventId, e.route, e.received_at_ms AS receivedAtMs, e.method, e.path, e.query, e.headers, e.body";
  return {
    ping: db.prepare<[], number>("SELECT 1").pluck(),

    findDedupe: db.prepare<{ route: string; key: string }, DedupeRow>(
      "SELECT event_id AS eventId, expires_at AS expiresAt FROM dedupe WHERE route = @route AND key = @key",
    ),
    // An expired key is overwritten: the request that reuses it is a new event.
    putDedupe: db.prepare<{ route: string; key: string; eventId: string; expiresAt: number }>(
      `INSERT INTO dedupe (route, key, event_id, expires_at) VALUES (@route, @key, @eventId, @expiresAt)
       ON CONFLICT (route, key) DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at`,
    ),
    insertEvent: db.prepare<{
      id: string;
      route: string;
      receivedAtMs: number;
      method: string;
      path: string;
      query: string;
      headers: string;
      body: Buffer;
    }>(
      `INSERT INTO events (id, route, received_at_ms, method, path, query, headers, body)
       VALUES (@id, @route, @receivedAtMs, @method, @path, @query, @headers, @body)`,
    ),
    insertDelivery: db.prepare<{ eventId: string; route: string; target: string; now: number }>(
      `INSERT INTO deliveries (event_id, route, target, state, attempts, due_at, updated_at)
       VALUES (@eventId, @route, @target, 'pending', 0, @now, @now)`,
    ),

    // The workers poll backlog() after every accepted webhook, so it must not read the whole
    // queue: a GROUP BY over the claimable rows costs milliseconds at tens of thousands pending.
    // This is one step of a skip scan instead: the first claimable row after a (route, target)
    // in the partial index, which is ordered by (route, target, due_at), is the next group and
    // its earliest due time, found with one seek. INDEXED BY: without ANALYZE statistics the
    // planner may prefer the state index, which also walks leased rows.
    // Two seeks rather than one `(route, target) > (?, ?)`: SQLite seeks a row-value range on
    // its first column only and then walks every row of that route.
    nextTargetOfRoute: db.prepare<{ route: string; target: string }, BacklogRow>(
      `SELECT route, target, due_at AS nextDueAt FROM deliveries INDEXED BY deliveries_claimable
       WHERE ${claimable()} AND route = @route AND target > @target
       ORDER BY route, target, due_at LIMIT 1`,
    ),
    // Leased rows only, through their own partial index: as many as are in flight, never the history.
    leasedDue: db.prepare<{ route: string; target: string }, { nextDueAt: number | null }>(
      `SELECT min(due_at) AS nextDueAt FROM deliveries INDEXED BY deliveries_lease_until
       WHERE lease_until IS NOT NULL AND route = @route AND target = @target AND state IN ('pending', 'retrying')`,
    ),
    firstOfNextRoute: db.prepare<{ route: string }, BacklogRow>(
      `SELECT route, target, due_at AS nextDueAt FROM deliveries INDEXED BY deliveries_claimable
       WHERE ${claimable()} AND route > @route
       ORDER BY route, target, due_at LIMIT 1`,
    ),
    // Commits of the work in flight (claims, settlements) need not wait for fsync: a crash of the
    // process loses none of them (WAL), and a power loss at worst repeats a delivery, which
    // at least once allows. A replay and the readiness probe commit with FULL; a 202 waits for
    // an fsync of the WAL (see WalSync).
    syncFull: db.prepare("PRAGMA synchronous = FULL"),
    syncNormal: db.prepare("PRAGMA synchronous = NORMAL"),
    // Reads only the claimable index and the rows picked: the claim reads a document only for an
    // event the worker does not hold in memory (eventRequest).
    dueOldestFirst: db.prepare<{ route: string; target: string; now: number; limit: number }, DueRow>(
      `SELECT id, event_id AS eventId, attempts FROM deliveries WHERE ${DUE} ORDER BY due_at, id LIMIT @limit`,
    ),
    dueNewestEvent: db.prepare<{ route: string; target: string; now: number }, NewestDueRow>(
      `SELECT d.id, d.event_id AS eventId, d.attempts, e.received_at_ms AS receivedAtMs
       FROM (SELECT id, event_id, attempts FROM deliveries WHERE ${DUE}) d
       JOIN events e ON e.id = d.event_id ORDER BY e.received_at_ms DESC, d.id DESC LIMIT 1`,
    ),
    // Supersedes every unleased waiting delivery of an older event, due or not: a retry of an
    // older event must not run after the newer one it was coalesced into.
    coalesceOlder: db.prepare<{ route: string; target: string; keepId: number; keepMs: number; now: number }>(
      `UPDATE deliveries SET state = 'coalesced', updated_at = @now WHERE id IN (
         SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.route = @route AND d.target = @target AND ${claimable("d")}
           AND (e.received_at_ms < @keepMs OR (e.received_at_ms = @keepMs AND d.id < @keepId)))`,
    ),
    lease: db.prepare<{ id: number; owner: string; until: number; now: number }>(
      // updated_at is left alone: it is in the state index, and a claim is not a change of state
      // (the settlement that follows sets it).
      `UPDATE deliveries SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
       WHERE id = @id`,
    ),

    settle: db.prepare<{ id: number; owner: string; state: string; dueAt: number | null; error: string | null; now: number }>(
      `UPDATE deliveries SET state = @state, due_at = COALESCE(@dueAt, due_at), last_error = @error,
         lease_owner = NULL, lease_until = NULL, updated_at = @now
       WHERE id = @id AND lease_owner = @owner`,
    ),
    release: db.prepare<{ owner: string; now: number }>(
      // Leased rows are found through the lease_until index: lease_owner and lease_until are set
      // and cleared together, and the rows in flight are few.
      `UPDATE deliveries INDEXED BY deliveries_lease_until SET lease_owner = NULL, lease_until = NULL, due_at = @now, updated_at = @now
       WHERE lease_until IS NOT NULL AND lease_owner = @owner`,
    ),
    leaseOwners: db.prepare<[], { owner: string }>(
      "SELECT DISTINCT lease_owner AS owner FROM deliveries INDEXED BY deliveries_lease_until WHERE lease_until IS NOT NULL",
    ),
    reclaimExpired: db.prepare<{ now: number }>("UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_until < @now"),

    deadLetters: db.prepare<{ limit: number }, DeadRow>(
      `${DEAD} WHERE d.state = 'dead' ORDER BY d.updated_at DESC, d.id DESC LIMIT @limit`,
    ),
    deadLettersOfRoute: db.prepare<{ route: string; limit: number }, DeadRow>(
      `${DEAD} WHERE d.state = 'dead' AND d.route = @route ORDER BY d.updated_at DESC, d.id DESC LIMIT @limit`,
    ),
    // The last error stays until the next try overwrites it: it is why the delivery died.
    replayOne: db.prepare<{ id: number; now: number }>(
      "UPDATE deliveries SET state = 'pending', attempts = 0, due_at = @now, updated_at = @now WHERE id = @id AND state = 'dead'",
    ),
    replayOfEvent: db.prepare<{ eventId: string; now: number }>(
      "UPDATE deliveries SET state = 'pending', attempts = 0, due_at = @now, updated_at = @now WHERE event_id = @eventId AND state = 'dead'",
    ),
    replayAll: db.prepare<{ now: number }>(
      "UPDATE deliveries SET state = 'pending', attempts = 0, due_at = @now, updated_at = @now WHERE state = 'dead'",
    ),

    events: db.prepare<{ limit: number }, EventRow>(`${EVENTS} ORDER BY received_at_ms DESC, rowid DESC LIMIT @limit`),
    eventsOfRoute: db.prepare<{ route: string; limit: number }, EventRow>(
      `${EVENTS} WHERE route = @route ORDER BY received_at_ms DESC, rowid DESC LIMIT @limit`,
    ),
    eventRequest: db.prepare<{ id: string }, RequestRow>(`SELECT ${REQUEST} FROM events e WHERE e.id = @id`),
    // @ids is a JSON array, so one prepared statement serves any number of events.
    deliveriesOf: db.prepare<{ ids: string }, DeliveryRow>(
      `SELECT id, event_id AS eventId, target, state, attempts, last_error AS lastError, due_at AS dueAt
       FROM deliveries WHERE event_id IN (SELECT value FROM json_each(@ids)) ORDER BY id`,
    ),
    // The console's pages: keyset on (received_at_ms, rowid), which the received-time indexes
    // hold (an index holds the rowid), so a page is one seek and a short walk on any store size.
    page: db.prepare<PageParams, PageRow>(
      `SELECT rowid AS rid, id, route, received_at_ms AS ms, method, path, query,
         CASE WHEN @withDoc = 1 THEN headers END AS headers, CASE WHEN @withDoc = 1 THEN body END AS body
       FROM events INDEXED BY events_received
       WHERE received_at_ms >= @since AND (received_at_ms, rowid) < (@ms, @rid)
       ORDER BY received_at_ms DESC, rowid DESC LIMIT @limit`,
    ),
    pageOfRoute: db.prepare<PageParams, PageRow>(
      `SELECT rowid AS rid, id, route, received_at_ms AS ms, method, path, query,
         CASE WHEN @withDoc = 1 THEN headers END AS headers, CASE WHEN @withDoc = 1 THEN body END AS body
       FROM events INDEXED BY events_route_received
       WHERE route = @route AND received_at_ms >= @since AND (received_at_ms, rowid) < (@ms, @rid)
       ORDER BY received_at_ms DESC, rowid DESC LIMIT @limit`,
    ),
    insertAttempt: db.prepare<{
      id: number;
      attempt: number;
      startedAt: number;
      durationMs: number;
      outcome: string;
      status: number | null;
      exitCode: number | null;
      response: string | null;
      error: string | null;
    }>(
      `INSERT INTO attempts (delivery_id, seq, attempt, started_at, duration_ms, outcome, status, exit_code, response, error)
       VALUES (@id, COALESCE((SELECT MAX(seq) FROM attempts WHERE delivery_id = @id), 0) + 1,
         @attempt, @startedAt, @durationMs, @outcome, @status, @exitCode, @response, @error)`,
    ),
    trimAttempts: db.prepare<{ id: number; keep: number }>(
      `DELETE FROM attempts WHERE delivery_id = @id
         AND seq <= (SELECT MAX(seq) FROM attempts WHERE delivery_id = @id) - @keep`,
    ),
    attemptsOf: db.prepare<{ ids: string }, AttemptRow>(
      `SELECT delivery_id AS deliveryId, attempt, started_at AS startedAt, duration_ms AS durationMs, outcome, status,
         exit_code AS exitCode, response, error
       FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(@ids)) ORDER BY delivery_id, seq`,
    ),
    // Finished and dead deliveries back to the queue; waiting and leased ones are on their way already.
    redeliver: db.prepare<{ eventId: string; target: string; now: number }>(
      `UPDATE deliveries SET state = 'pending', attempts = 0, due_at = @now, updated_at = @now
       WHERE event_id = @eventId AND target = @target AND state IN ('delivered', 'skipped', 'coalesced', 'dead')`,
    ),
    targetsOf: db.prepare<{ eventId: string }, string>("SELECT target FROM deliveries WHERE event_id = @eventId ORDER BY id").pluck(),
    targetDepths: db.prepare<[], { route: string; target: string; state: string; n: number }>(
      `SELECT route, target, state, COUNT(*) AS n FROM deliveries
       WHERE state IN ('pending', 'retrying', 'dead') GROUP BY route, target, state`,
    ),
    addCount: db.prepare<{ minute: number; route: string; target: string; name: string; n: number }>(
      `INSERT INTO counts (minute, route, target, name, n) VALUES (@minute, @route, @target, @name, @n)
       ON CONFLICT (minute, route, target, name) DO UPDATE SET n = n + excluded.n`,
    ),
    counts: db.prepare<{ since: number; width: number }, { minute: number; route: string; target: string; name: string; n: number }>(
      `SELECT minute - minute % @width AS minute, route, target, name, SUM(n) AS n FROM counts
       WHERE minute >= @since GROUP BY 1, 2, 3, 4`,
    ),
    pruneCounts: db.prepare<{ before: number }>("DELETE FROM counts WHERE minute < @before"),
    depth: db.prepare<[], { state: string; n: number }>(
      "SELECT state, COUNT(*) AS n FROM deliveries WHERE state IN ('pending', 'retrying', 'dead') GROUP BY state",
    ),

    // prune walks old events with a cursor, so events it keeps (dead, in flight) are read once
    // per prune rather than once per batch.
    pruneWindow: db.prepare<{ before: number; afterMs: number; afterRid: number; limit: number }, PruneRow>(
      `SELECT rowid AS rid, received_at_ms AS ms,
         NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.state NOT IN ${PRUNABLE_STATES}) AS done
       FROM events WHERE received_at_ms < @before AND (received_at_ms, rowid) > (@afterMs, @afterRid)
       ORDER BY received_at_ms, rowid LIMIT @limit`,
    ),
    deleteEvent: db.prepare<{ rid: number }>("DELETE FROM events WHERE rowid = @rid"),
    pruneDedupe: db.prepare<{ now: number; limit: number }>(
      "DELETE FROM dedupe WHERE rowid IN (SELECT rowid FROM dedupe WHERE expires_at < @now LIMIT @limit)",
    ),

    pausedTargets: db.prepare<[], { route: string; target: string; since: number; error: string }>(
      "SELECT route, target, since_ms AS since, error FROM paused_targets ORDER BY route, target",
    ),
    pauseTarget: db.prepare<{ route: string; target: string; since: number; error: string }>(
      "INSERT INTO paused_targets (route, target, since_ms, error) VALUES (@route, @target, @since, @error) ON CONFLICT DO NOTHING",
    ),
    resumeTarget: db.prepare<{ route: string; target: string }>("DELETE FROM paused_targets WHERE route = @route AND target = @target"),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
