import type Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";
import { FINISHED_STATES } from "../store.js";
import { MIGRATIONS } from "./sqlite-migrations.js";

/**
 * The SQLite store's schema version (PRAGMA user_version): the number of steps in
 * sqlite-migrations.ts, which hold the tables. An older daemon refuses a newer file instead of
 * misreading it.
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * A delivery a worker may pick up: waiting, and not leased. Written in one place so that the
 * partial index and every query that relies on it use the very same terms: SQLite only uses
 * a partial index when the query's WHERE contains the index's WHERE terms.
 * https://www.sqlite.org/partialindex.html#queries_using_partial_indexes
 * The version 1 migration step writes this text out in the index it creates: changing it needs a
 * new step that recreates deliveries_claimable.
 */
export function claimable(alias = ""): string {
  const c = alias ? `${alias}.` : "";
  return `${c}state IN ('pending', 'retrying') AND ${c}lease_until IS NULL`;
}

/** Deliveries in these states are finished for good; an event whose deliveries all are may be pruned. */
export const PRUNABLE_STATES = `(${FINISHED_STATES.map((s) => `'${s}'`).join(", ")})`;

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
/** What preparing found: the schema version the file had when it was opened (before any upgrade). */
export interface Prepared {
  foundVersion: number;
}

export function prepareDatabase(db: Database.Database, busyTimeoutMs: number, mode: OpenMode, file = db.name): Prepared {
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
  if (mode !== "create") return { foundVersion: SCHEMA_VERSION };

  const version = Number(db.pragma("user_version", { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new Error(`the store file has schema version ${version}; this Switchyard knows up to ${SCHEMA_VERSION}`);
  }
  // Files made before it was dropped have an index on lease_owner that every claim and settlement
  // had to update; the few leased rows are found through deliveries_lease_until instead. Not a
  // schema version: code of either age works with or without it.
  db.exec("DROP INDEX IF EXISTS deliveries_lease_owner");

  for (let from = version; from < SCHEMA_VERSION; from++) {
    db.transaction(() => {
      // Read again under the write lock: another daemon starting on the same file may have run this step.
      if (Number(db.pragma("user_version", { simple: true })) !== from) return;
      MIGRATIONS[from]?.(db);
      db.pragma(`user_version = ${from + 1}`);
    }).immediate();
  }
  return { foundVersion: version };
}
