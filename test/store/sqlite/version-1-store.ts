import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import type { WebhookEvent } from "../../../src/pipeline/event.js";

/**
 * A store file as Switchyard wrote it before the request was kept as received (schema version 1):
 * the DDL, pragmas and statements below are copied verbatim from src/store/sqlite at commit
 * 7882614 (sqlite-schema.ts's DDL with claimable() written out; sqlite-statements.ts's
 * insertEvent, insertDelivery and settle), so the upgrade is tested on the very rows that code wrote.
 */
const V1_DDL = `
CREATE TABLE IF NOT EXISTS events (
  id             TEXT PRIMARY KEY,
  route          TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  doc            TEXT NOT NULL -- the WebhookEvent as JSON
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at_ms);
CREATE INDEX IF NOT EXISTS events_route_received ON events (route, received_at_ms);

CREATE TABLE IF NOT EXISTS deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: an id is never reused, so a DLQ id typed into the CLI cannot hit a newer row
  event_id    TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  route       TEXT NOT NULL,
  target      TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'skipped', 'coalesced', 'dead')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  due_at      INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  last_error  TEXT,
  updated_at  INTEGER NOT NULL
);
-- backlog() and claim(): only the claimable rows, so it is as small as the queue itself.
CREATE INDEX IF NOT EXISTS deliveries_claimable ON deliveries (route, target, due_at) WHERE state IN ('pending', 'retrying') AND lease_until IS NULL;
-- reclaimExpired(), release() and leaseOwners(): only leased rows, i.e. those in flight.
CREATE INDEX IF NOT EXISTS deliveries_lease_until ON deliveries (lease_until) WHERE lease_until IS NOT NULL;
-- depth() counts and the dead-letter listing.
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state, route, updated_at);
-- events() listing and the ON DELETE CASCADE of prune(); one delivery per target and event.
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_event_target ON deliveries (event_id, target);

CREATE TABLE IF NOT EXISTS dedupe (
  route      TEXT NOT NULL,
  key        TEXT NOT NULL,
  event_id   TEXT NOT NULL, -- no foreign key: the key outlives a pruned event, and a duplicate still reports the original id
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (route, key)
);
CREATE INDEX IF NOT EXISTS dedupe_expires ON dedupe (expires_at);
`;

export interface Version1Delivery {
  target: string;
  state: "pending" | "dead" | "delivered";
  lastError?: string;
}

export interface Version1Event {
  event: WebhookEvent;
  deliveries: Version1Delivery[];
}

/** A version-1 event document, as that code's admit() built it. */
export function version1Event(
  route: string,
  body: unknown,
  headers: Record<string, string>,
  query: Record<string, string> = {},
): WebhookEvent {
  const receivedAtMs = Date.now() - 60_000;
  return {
    id: randomUUID(),
    route,
    receivedAt: new Date(receivedAtMs).toISOString(),
    method: "POST",
    path: `/hooks/${route}`,
    query,
    headers,
    body,
  };
}

/** Writes a version-1 store file holding `events`, as the daemon of that version left it. */
export function writeVersion1Store(file: string, events: readonly Version1Event[]): void {
  const db = new Database(file);
  try {
    db.pragma("foreign_keys = ON");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.transaction(() => {
      db.exec(V1_DDL);
      db.pragma("user_version = 1");
    }).immediate();
    const insertEvent = db.prepare<{ id: string; route: string; receivedAtMs: number; doc: string }>(
      "INSERT INTO events (id, route, received_at_ms, doc) VALUES (@id, @route, @receivedAtMs, @doc)",
    );
    const insertDelivery = db.prepare<{ eventId: string; route: string; target: string; now: number }>(
      `INSERT INTO deliveries (event_id, route, target, state, attempts, due_at, updated_at)
       VALUES (@eventId, @route, @target, 'pending', 0, @now, @now)`,
    );
    const lease = db.prepare<{ id: number; owner: string; until: number }>(
      "UPDATE deliveries SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1 WHERE id = @id",
    );
    const settle = db.prepare<{ id: number; owner: string; state: string; dueAt: number | null; error: string | null; now: number }>(
      `UPDATE deliveries SET state = @state, due_at = COALESCE(@dueAt, due_at), last_error = @error,
         lease_owner = NULL, lease_until = NULL, updated_at = @now
       WHERE id = @id AND lease_owner = @owner`,
    );
    db.transaction(() => {
      for (const { event, deliveries } of events) {
        const receivedAtMs = Date.parse(event.receivedAt);
        // toQueued() of that version: the whole event serialized.
        insertEvent.run({ id: event.id, route: event.route, receivedAtMs, doc: JSON.stringify(event) });
        for (const d of deliveries) {
          const id = Number(
            insertDelivery.run({ eventId: event.id, route: event.route, target: d.target, now: receivedAtMs }).lastInsertRowid,
          );
          if (d.state === "pending") continue;
          lease.run({ id, owner: "old-daemon", until: receivedAtMs + 60_000 });
          settle.run({ id, owner: "old-daemon", state: d.state, dueAt: null, error: d.lastError ?? null, now: receivedAtMs + 1 });
        }
      }
    })();
  } finally {
    db.close();
  }
}
