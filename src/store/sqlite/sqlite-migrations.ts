import type Database from "better-sqlite3";
import type { WebhookEvent } from "../../pipeline/event.js";
import { fromLegacyDoc } from "../legacy-event.js";
import { addConsoleTables } from "./sqlite-console-schema.js";

/**
 * How a store file gets from one schema version (PRAGMA user_version) to the next. Step i takes
 * a file of version i to version i + 1; the caller runs each in its own transaction with the
 * version bump, so a crash mid-way leaves a file of the previous version, and starts again from
 * there. A new file runs every step from 0, so a new file and an upgraded one have the same
 * tables. A later change appends a step; a step, once released, never changes.
 */
export type Migration = (db: Database.Database) => void;

/** Version 1: the tables, with each event kept as its re-serialized document (`doc`). */
const V1_TABLES = `
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

/** Rows rewritten per statement batch by the version 2 step. */
const REWRITE_BATCH = 500;

/**
 * Version 2: the request as received. Each event keeps its method, path, query and headers as
 * columns and its body as the bytes that arrived (a BLOB), instead of a document with the body
 * parsed and serialized again. Version 1 rows have lost their original bytes: they get the bytes
 * that parse back to their stored body (legacy-event.ts), and keep everything else.
 */
function requestAsReceived(db: Database.Database): void {
  db.exec(`
    ALTER TABLE events ADD COLUMN method  TEXT NOT NULL DEFAULT 'POST';
    ALTER TABLE events ADD COLUMN path    TEXT NOT NULL DEFAULT '';
    ALTER TABLE events ADD COLUMN query   TEXT NOT NULL DEFAULT '{}'; -- JSON object
    ALTER TABLE events ADD COLUMN headers TEXT NOT NULL DEFAULT '{}'; -- JSON object: lower-cased names, credentials removed
    ALTER TABLE events ADD COLUMN body    BLOB NOT NULL DEFAULT x'';  -- the body bytes as received
  `);
  const page = db.prepare<{ after: number; limit: number }, { rid: number; doc: string }>(
    "SELECT rowid AS rid, doc FROM events WHERE rowid > @after ORDER BY rowid LIMIT @limit",
  );
  const update = db.prepare<{ rid: number; method: string; path: string; query: string; headers: string; body: Buffer }>(
    "UPDATE events SET method = @method, path = @path, query = @query, headers = @headers, body = @body WHERE rowid = @rid",
  );
  for (let after = 0; ; ) {
    const rows = page.all({ after, limit: REWRITE_BATCH });
    for (const { rid, doc } of rows) {
      // Version 1 wrote `doc` from a WebhookEvent.
      const event = fromLegacyDoc(JSON.parse(doc) as WebhookEvent);
      const { method, path } = event;
      update.run({ rid, method, path, query: JSON.stringify(event.query), headers: JSON.stringify(event.headers), body: event.rawBody });
    }
    const last = rows.at(-1);
    if (!last || rows.length < REWRITE_BATCH) break;
    after = last.rid;
  }
  db.exec("ALTER TABLE events DROP COLUMN doc");
}

/** Version 4: targets paused after failing for a stretch (`pause_after`), kept across restarts. */
const PAUSED_TARGETS = `
CREATE TABLE IF NOT EXISTS paused_targets (
  route    TEXT NOT NULL,
  target   TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  error    TEXT NOT NULL, -- the last error before the pause
  PRIMARY KEY (route, target)
);
`;

/** Index i takes version i to i + 1. */
export const MIGRATIONS: readonly Migration[] = [
  (db) => db.exec(V1_TABLES),
  requestAsReceived,
  addConsoleTables,
  (db) => db.exec(PAUSED_TARGETS),
];
