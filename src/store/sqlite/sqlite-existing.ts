import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";

/** What the CLI checks and says when it opens a store the daemon made (see SqliteStore.open's `existing`). */

/**
 * The CLI's guard before it opens a store the daemon made. A missing file would otherwise be
 * created, and an empty one costs the store's WAL: SQLite deletes the -wal file beside a
 * database file of zero pages when any connection, even a read-only one, first reads it
 * (pagerOpenWalIfPresent), and that WAL may hold every event a daemon accepted since its last
 * checkpoint, for instance one still running on a store file someone removed.
 */
export function refuseMissingOrEmpty(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return; // opening reports it
    throw new StoreUnavailableError(`store file ${path} does not exist: is store.path right? the daemon creates it on first start`, {
      cause: err,
    });
  }
  if (size > 0) return;
  const wal = existsSync(`${path}-wal`)
    ? `; ${path}-wal beside it may hold accepted events: keep it, and do not start a daemon on the empty file`
    : "";
  throw new StoreUnavailableError(`store file ${path} is empty (not a Switchyard store): is store.path right?${wal}`);
}

type SqliteError = InstanceType<typeof Database.SqliteError>;

/** SQLite could not open a file it needs (the store, or its -wal or -shm) or create one in the folder. */
function isPermissionFault(err: unknown): err is SqliteError {
  return err instanceof Database.SqliteError && (err.code === "SQLITE_READONLY_DIRECTORY" || err.code.startsWith("SQLITE_CANTOPEN"));
}

/**
 * A listing run by a user other than the daemon's. While a daemon runs, reading needs only read
 * access to the store and its -wal and -shm; with none running, SQLite must create those two
 * (empty) in the store's folder first, and the folder is usually the daemon user's alone.
 * Undefined for any other fault.
 */
export function cannotRead(path: string, err: unknown): StoreUnavailableError | undefined {
  if (!isPermissionFault(err)) return undefined;
  return new StoreUnavailableError(
    `cannot read store file ${path} (${err.message}): this user must be able to read it and, while no daemon runs, create ${path}-wal and -shm in its folder: run as the daemon's user, or while the daemon runs`,
    { cause: err },
  );
}
