import type Database from "better-sqlite3";
import type { WebhookEvent } from "../../pipeline/event.js";
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
import type { AttemptRow, DeliveryRow, DueRow, Statements } from "./sqlite-statements.js";

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

/** A settlement's row change, as the settle statement takes it. */
export interface SettleChange {
  id: number;
  owner: string;
  state: string;
  dueAt: number | null;
  error: string | null;
  now: number;
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
  const writeOne = ({ req, doc, receivedAtMs }: Queued, now: number): EnqueueResult => {
    const { event, targets, dedupe } = req;
    if (dedupe) {
      const seen = stmt.findDedupe.get({ route: event.route, key: dedupe.key });
      if (seen && seen.expiresAt > now) return { status: "duplicate", id: seen.eventId };
    }
    stmt.insertEvent.run({ id: event.id, route: event.route, receivedAtMs, doc });
    for (const target of targets) stmt.insertDelivery.run({ eventId: event.id, route: event.route, target, now });
    if (dedupe) stmt.putDedupe.run({ route: event.route, key: dedupe.key, eventId: event.id, expiresAt: dedupe.expiresAt });
    return { status: "accepted", id: event.id };
  };
  const enqueueOne = db.transaction(writeOne);

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

    claim: db.transaction((o: ClaimOptions): ClaimedDelivery[] => {
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
      return rows.map((r) => {
        stmt.lease.run({ id: r.id, owner: o.owner, until, now: o.now });
        // The document was written by enqueue from a WebhookEvent.
        const event = JSON.parse(r.doc) as WebhookEvent;
        return { id: String(r.id), eventId: r.eventId, route: o.route, target: o.target, attempt: r.attempts + 1, event, coalesced };
      });
    }),

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
      return rows.map((r) => ({ id: r.id, route: r.route, receivedAt: r.receivedAt, deliveries: byEvent.get(r.id) ?? [] }));
    }),

    event: db.transaction((id: string): EventDetail | undefined => {
      const doc = stmt.eventDoc.get({ id });
      if (doc === undefined) return undefined;
      // The document was written by enqueue from a WebhookEvent.
      const event = JSON.parse(doc) as WebhookEvent;
      const rows = stmt.deliveriesOf.all({ ids: JSON.stringify([id]) });
      const logs = new Map<number, AttemptRecord[]>(rows.map((d) => [d.id, []]));
      for (const a of stmt.attemptsOf.all({ ids: JSON.stringify(rows.map((d) => d.id)) })) logs.get(a.deliveryId)?.push(attemptOf(a));
      return { event, deliveries: rows.map((d) => ({ ...summaryOf(d), attemptLog: logs.get(d.id) ?? [] })) };
    }),

    // The state and the attempt log change together, and only for the lease's holder.
    settle: db.transaction((change: SettleChange, record: AttemptRecord | undefined): void => {
      if (stmt.settle.run(change).changes === 0 || !record) return;
      stmt.insertAttempt.run({ ...record, id: change.id, startedAt: Date.parse(record.startedAt) || change.now });
      stmt.trimAttempts.run({ id: change.id, keep: ATTEMPT_LOG_LIMIT });
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
