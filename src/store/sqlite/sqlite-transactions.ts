import type Database from "better-sqlite3";
import { type ReceivedEvent, receivedEvent } from "../../pipeline/event.js";
import type { ItemResult } from "../group-commit.js";
import {
  ATTEMPT_LOG_LIMIT,
  type AttemptOutcome,
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimOptions,
  type DeliveryState,
  type DeliverySummary,
  type EnqueueResult,
  type EventDetail,
  type EventSummary,
  type Queued,
  type ReplayResult,
  WAITING_STATES,
} from "../store.js";
import { isUnavailable } from "./sqlite-errors.js";
import type { AttemptRow, DeliveryRow, DueRow, RequestRow, Statements } from "./sqlite-statements.js";

/** A settlement's row change, as the settle statement takes it. */
export interface SettleRow {
  id: number;
  owner: string;
  state: string;
  dueAt: number | null;
  error: string | null;
  now: number;
}

/** One of the worker's writes, batched per turn with the others (see workBatchFast). */
export type WorkOp = { kind: "settle"; row: SettleRow; record?: AttemptRecord } | { kind: "claim"; opts: ClaimOptions };

/** Where prune() continues: the (received_at_ms, rowid) of the last event it looked at. */
export interface PruneCursor {
  ms: number;
  rid: number;
}

/** Rows per prune transaction, so the daemon's ingress never waits long on the write lock. */
export const PRUNE_BATCH = 500;

export function summaryOf(d: DeliveryRow): DeliverySummary {
  // The schema's CHECK constraint admits only DeliveryState values.
  const state = d.state as DeliveryState;
  const summary: DeliverySummary = { id: String(d.id), target: d.target, state, attempts: d.attempts };
  if (d.lastError !== null) summary.lastError = d.lastError;
  if (WAITING_STATES.includes(state)) summary.dueAt = d.dueAt;
  return summary;
}

/** The stored request as an event; its body is parsed from the bytes only when something reads it. */
export function requestOf(r: RequestRow): ReceivedEvent {
  // query and headers were written by enqueue from the event's own objects.
  return receivedEvent({
    id: r.eventId,
    route: r.route,
    receivedAt: new Date(r.receivedAtMs).toISOString(),
    method: r.method,
    path: r.path,
    query: JSON.parse(r.query) as Record<string, string>,
    headers: JSON.parse(r.headers) as Record<string, string>,
    rawBody: r.body,
  });
}

function attemptOf(a: AttemptRow): AttemptRecord {
  return {
    attempt: a.attempt,
    startedAt: new Date(a.startedAt).toISOString(),
    durationMs: a.durationMs,
    // Written from an AttemptRecord by settle.
    outcome: a.outcome as AttemptOutcome,
    status: a.status,
    exitCode: a.exitCode,
    response: a.response,
    error: a.error,
  };
}

/** Delivery ids are integers in SQLite and strings outside; anything else cannot name a row. */
export function rowId(id: string): number | undefined {
  return /^[1-9]\d{0,14}$/.test(id) ? Number(id) : undefined;
}

/**
 * The store's multi-statement operations as better-sqlite3 transaction functions, built once at
 * open. The caller picks the mode: writes run `.immediate()` so they take the write lock before
 * reading (in WAL, a read that later upgrades to a write fails with SQLITE_BUSY at once instead
 * of waiting busy_timeout, and two processes could pick the same rows in between).
 */
export function prepareTransactions(db: Database.Database, stmt: Statements) {
  // Dedupe is decided inside the batch's transaction and in arrival order, so a key repeated
  // within one batch (or written meanwhile by another process) is seen as the duplicate it is.
  const writeOne = ({ req, query, headers, receivedAtMs }: Queued, now: number): EnqueueResult => {
    const { event, targets, dedupe } = req;
    if (dedupe) {
      const seen = stmt.findDedupe.get({ route: event.route, key: dedupe.key });
      if (seen && seen.expiresAt > now) return { status: "duplicate", id: seen.eventId };
    }
    const { id, route, method, path, rawBody } = event;
    stmt.insertEvent.run({ id, route, receivedAtMs, method, path, query, headers, body: rawBody });
    for (const target of targets) stmt.insertDelivery.run({ eventId: event.id, route: event.route, target, now });
    if (dedupe) stmt.putDedupe.run({ route: event.route, key: dedupe.key, eventId: event.id, expiresAt: dedupe.expiresAt });
    return { status: "accepted", id: event.id };
  };
  const enqueueOne = db.transaction(writeOne);

  function claimRows(o: ClaimOptions): ClaimedDelivery[] {
    const limit = Math.floor(o.limit);
    if (limit < 1) return [];
    const where = { route: o.route, target: o.target, now: o.now };
    let rows: DueRow[];
    let coalesced = 0;
    if (o.coalesce) {
      const newest = stmt.dueNewestEvent.get(where);
      if (!newest) return [];
      coalesced = stmt.coalesceOlder.run({ ...where, keepId: newest.id, keepMs: newest.receivedAtMs }).changes;
      rows = [newest];
    } else {
      rows = stmt.dueOldestFirst.all({ ...where, limit });
    }
    const until = o.now + o.leaseMs;
    const claimed: ClaimedDelivery[] = [];
    for (const r of rows) {
      stmt.lease.run({ id: r.id, owner: o.owner, until, now: o.now });
      // An event the worker still holds (it was accepted moments ago) is not read back and
      // parsed again; the lease above is what makes the claim, and it is in the store.
      const event = o.known?.(r.eventId) ?? readEvent(r.eventId);
      if (event) {
        claimed.push({ id: String(r.id), eventId: r.eventId, route: o.route, target: o.target, attempt: r.attempts + 1, event, coalesced });
      } else {
        // Cannot happen (deliveries go with their event, ON DELETE CASCADE); if it does, a dead
        // letter says so rather than a lease that expires and comes back forever.
        const error = "the event document is missing from the store";
        stmt.settle.run({ id: r.id, owner: o.owner, state: "dead", dueAt: null, error, now: o.now });
      }
    }
    return claimed;
  }
  // The foreign key keeps an event while a delivery of it exists.
  const readEvent = (id: string): ReceivedEvent | undefined => {
    const row = stmt.eventRequest.get({ id });
    return row === undefined ? undefined : requestOf(row);
  };
  const runWork = (op: WorkOp): ClaimedDelivery[] | undefined => {
    if (op.kind === "claim") return claimRows(op.opts);
    // The state and the attempt log change together, and only for the lease's holder.
    if (stmt.settle.run(op.row).changes === 0 || !op.record) return undefined;
    stmt.insertAttempt.run({ ...op.record, id: op.row.id, startedAt: Date.parse(op.record.startedAt) || op.row.now });
    stmt.trimAttempts.run({ id: op.row.id, keep: ATTEMPT_LOG_LIMIT });
    return undefined;
  };
  const workOne = db.transaction(runWork);

  return {
    // The batch as one transaction, without a savepoint per request (two statements each).
    // Throws if any request fails; the caller then rolls it all back and uses enqueueBatch.
    enqueueBatchFast: db.transaction((items: readonly Queued[], now: number) =>
      items.map((item): ItemResult<EnqueueResult> => ({ ok: true, value: writeOne(item, now) })),
    ),
    // Each request runs in a savepoint (a nested better-sqlite3 transaction): one bad request
    // (say a reused event id) fails alone, while a fault of the store fails the whole batch.
    enqueueBatch: db.transaction((items: readonly Queued[], now: number) =>
      items.map((item): ItemResult<EnqueueResult> => {
        try {
          return { ok: true, value: enqueueOne(item, now) };
        } catch (error) {
          if (isUnavailable(error)) throw error;
          return { ok: false, error };
        }
      }),
    ),

    claim: db.transaction(claimRows),
    // The worker's writes of one turn (settlements and claims, in the order they were made) as
    // one transaction: a commit writes the WAL pages it touched once, however many rows it
    // changed, so settling and claiming a turn's deliveries costs one commit, not one each.
    // Throws if any write fails; the caller then rolls it all back and uses workBatch.
    workBatchFast: db.transaction((ops: readonly WorkOp[]) =>
      ops.map((op): ItemResult<ClaimedDelivery[] | undefined> => ({ ok: true, value: runWork(op) })),
    ),
    // Each write in a savepoint: one that fails (a bug, a constraint) fails alone.
    workBatch: db.transaction((ops: readonly WorkOp[]) =>
      ops.map((op): ItemResult<ClaimedDelivery[] | undefined> => {
        try {
          return { ok: true, value: workOne(op) };
        } catch (error) {
          if (isUnavailable(error)) throw error;
          return { ok: false, error };
        }
      }),
    ),

    replay: db.transaction((ids: readonly string[] | "all", now: number): ReplayResult => {
      if (ids === "all") return { replayed: stmt.replayAll.run({ now }).changes, notFound: [] };
      let replayed = 0;
      const notFound: string[] = [];
      for (const id of new Set(ids)) {
        // Delivery ids are integers and event ids UUIDs, so an id is never both.
        const n = rowId(id);
        const changes = n === undefined ? stmt.replayOfEvent.run({ eventId: id, now }).changes : stmt.replayOne.run({ id: n, now }).changes;
        if (changes === 0) notFound.push(id);
        replayed += changes;
      }
      return { replayed, notFound };
    }),

    // Read as one transaction, so the events and their deliveries come from the same snapshot.
    events: db.transaction((route: string | undefined, limit: number): EventSummary[] => {
      const rows = route === undefined ? stmt.events.all({ limit }) : stmt.eventsOfRoute.all({ route, limit });
      const byEvent = new Map<string, DeliverySummary[]>(rows.map((r) => [r.id, []]));
      for (const d of stmt.deliveriesOf.all({ ids: JSON.stringify(rows.map((r) => r.id)) })) byEvent.get(d.eventId)?.push(summaryOf(d));
      return rows.map((r) => ({
        id: r.id,
        route: r.route,
        receivedAt: new Date(r.receivedAtMs).toISOString(),
        deliveries: byEvent.get(r.id) ?? [],
      }));
    }),

    event: db.transaction((id: string): EventDetail | undefined => {
      const row = stmt.eventRequest.get({ id });
      if (row === undefined) return undefined;
      const rows = stmt.deliveriesOf.all({ ids: JSON.stringify([id]) });
      const logs = new Map<number, AttemptRecord[]>(rows.map((d) => [d.id, []]));
      for (const a of stmt.attemptsOf.all({ ids: JSON.stringify(rows.map((d) => d.id)) })) logs.get(a.deliveryId)?.push(attemptOf(a));
      return { event: requestOf(row), deliveries: rows.map((d) => ({ ...summaryOf(d), attemptLog: logs.get(d.id) ?? [] })) };
    }),

    redeliver: db.transaction((eventId: string, targets: readonly string[] | "all", now: number) => {
      const known = stmt.targetsOf.all({ eventId });
      const wanted = targets === "all" ? known : [...new Set(targets)];
      let replayed = 0;
      for (const target of wanted) replayed += stmt.redeliver.run({ eventId, target, now }).changes;
      return { replayed, notFound: wanted.filter((t) => !known.includes(t)) };
    }),

    pruneStep: db.transaction((before: number, after: PruneCursor): { deleted: number; next?: PruneCursor } => {
      const window = stmt.pruneWindow.all({ before, afterMs: after.ms, afterRid: after.rid, limit: PRUNE_BATCH });
      let deleted = 0;
      for (const row of window) if (row.done) deleted += stmt.deleteEvent.run({ rid: row.rid }).changes;
      const last = window.at(-1);
      return window.length === PRUNE_BATCH && last ? { deleted, next: { ms: last.ms, rid: last.rid } } : { deleted };
    }),
  };
}

export type Transactions = ReturnType<typeof prepareTransactions>;
