import type Database from "better-sqlite3";

/**
 * Schema step to version 3: what the console reads beside the queue. Its own step, so it runs
 * after any earlier one on files of any older version, in the same transaction as they do.
 *
 * - `attempts`: each delivery's tries (the newest 20, see ATTEMPT_LOG_LIMIT), written with the
 *   settlement and deleted with the delivery (ON DELETE CASCADE from the event's prune).
 *   WITHOUT ROWID on (delivery_id, seq): a delivery's log is one contiguous range of the tree.
 * - `counts`: per-minute counters per route and target (ingress outcomes, delivery outcomes,
 *   latency buckets), added to by every daemon sharing the file and kept 48 hours, so the
 *   overview's numbers and charts survive a restart.
 */
export function addConsoleTables(db: Database.Database): void {
  db.exec(`
CREATE TABLE IF NOT EXISTS attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL, -- grows across replays, unlike attempt
  attempt     INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome     TEXT NOT NULL,
  status      INTEGER,
  exit_code   INTEGER,
  response    TEXT,
  error       TEXT,
  PRIMARY KEY (delivery_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counts (
  minute INTEGER NOT NULL, -- epoch ms of the minute's start
  route  TEXT NOT NULL,
  target TEXT NOT NULL,    -- '' for a route's own counters
  name   TEXT NOT NULL,
  n      INTEGER NOT NULL,
  PRIMARY KEY (minute, route, target, name)
) WITHOUT ROWID;
`);
}
