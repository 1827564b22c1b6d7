import type Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";
import { FINISHED_STATES } from "../store.js";
import { addConsoleTables } from "./sqlite-console-schema.js";

/**
 * The SQLite store's tables and indexes. Bump SCHEMA_VERSION (PRAGMA user_version) and add a
 * migration step when this changes; an older daemon refuses a newer file instead of
 * misreading it.
 */
export const SCHEMA_VERSION = 3;

/**
 * A delivery a worker may pick up: waiting, and not leased. Written in one place so that the
 * partial index and every query that relies on it use the very same terms: SQLite only uses
 * a partial index when the query's WHERE contains the index's WHERE terms.
 * https://www.sqlite.org/partialindex.html#queries_using_partial_indexes
 */
export function claimable(alias = ""): string {
  const c = alias ? `${alias}.` : "";
  return `${c}state IN ('pending', 'retrying') AND ${c}lease_until IS NULL`;
}

/** Deliveries in these states are finished for good; an event whose deliveries all are may be pruned. */
export const PRUNABLE_STATES = `(${FINISHED_STATES.map((s) => `'${s}'`).join(", ")})`;

const DDL = `
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
CREATE INDEX IF NOT EXISTS deliveries_claimable ON deliveries (route, target, due_at) WHERE ${claimable()};
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

/**
 * How a connection uses the file: the daemon creates it and brings its schema up to date; the
 * CLI only opens a store the daemon made, writing (`dlq replay`) or reading (`events`, `dlq
 * list`), and never changes its schema.
 */
export type OpenMode = "create" | "write" | "read";

/** The CLI's check that the file is a store of this version, before anything is written to it. */
function requireCurrentSchema(db: Database.Database, file: string): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  if (version === SCHEMA_VERSION) return;
  throw new StoreUnavailableError(
    version === 0
      ? `store file ${file} is not a Switchyard store (it has no tables): is store.path right? the daemon creates it on first start`
      : version > SCHEMA_VERSION
        ? `store file ${file} has schema version ${version}; this Switchyard knows up to ${SCHEMA_VERSION}: use the newer switchyard`
        : `store file ${file} has schema version ${version}, not ${SCHEMA_VERSION}: start the daemon of this version once to upgrade it`,
  );
}

/**
 * Connection settings, then the schema. WAL lets the CLI read and replay while the daemon
 * writes. The connection commits with synchronous=NORMAL (the WAL is written, not fsync'd: a
 * crash of the process loses nothing, a power loss may lose the last commits). What promises
 * durability to someone is made durable before it is answered: the group commit behind a 202
 * by an fsync of the WAL off the event loop (see WalSync), a replay and the readiness probe by
 * switching to FULL (see SqliteStore.durably). Claims and settlements lost to a power loss
 * only repeat a delivery, which "at least once" allows.
 * busy_timeout makes a second process wait for the write lock instead of failing at once.
 */
export function prepareDatabase(db: Database.Database, busyTimeoutMs: number, mode: OpenMode, file = db.name): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
  db.pragma("foreign_keys = ON");
  // The CLI reads the version first, so it never sets WAL mode on (or writes to) a file that is not a store.
  if (mode !== "create") requireCurrentSchema(db, file);
  if (mode !== "read") {
    const journal = db.pragma("journal_mode = WAL", { simple: true });
    if (journal !== "wal") throw new Error(`SQLite refused WAL mode (journal_mode is ${String(journal)})`);
  }
  // After journal_mode: switching to WAL would otherwise apply the WAL default.
  db.pragma("synchronous = NORMAL");
  // A WAL that grew while checkpoints failed (a read-only file, a long reader) is trimmed back
  // once they succeed, instead of keeping its largest size until the daemon stops.
  if (mode !== "read") db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
  if (mode !== "create") return;

  const version = Number(db.pragma("user_version", { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new Error(`the store file has schema version ${version}; this Switchyard knows up to ${SCHEMA_VERSION}`);
  }
  // Files made before it was dropped have an index on lease_owner that every claim and settlement
  // had to update; the few leased rows are found through deliveries_lease_until instead. Not a
  // schema version: code of either age works with or without it.
  db.exec("DROP INDEX IF EXISTS deliveries_lease_owner");

  if (version === SCHEMA_VERSION) return;
  // One transaction: a file is at its old version or at the new one, never between.
  db.transaction(() => {
    if (version < 1) db.exec(DDL);
    if (version < 3) addConsoleTables(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
