import Database from "better-sqlite3";
import { StoreUnavailableError } from "../../errors.js";

/**
 * SQLite result codes that mean "the store cannot take or give data right now" rather than
 * "this request is wrong": the ingress answers 503 for these and acks nothing. Extended codes
 * (SQLITE_IOERR_FSYNC, SQLITE_READONLY_DBMOVED, SQLITE_BUSY_SNAPSHOT …) share their primary
 * code's prefix. https://www.sqlite.org/rescode.html
 */
const UNAVAILABLE_CODES = [
  "SQLITE_FULL", // disk (or max_page_count) full
  "SQLITE_READONLY", // read-only file, mount or connection; the file was moved or deleted
  "SQLITE_IOERR", // the disk failed a read, write or fsync
  "SQLITE_CANTOPEN", // the file or its -wal/-shm cannot be opened
  "SQLITE_BUSY", // another process held the write lock for longer than busy_timeout
  "SQLITE_PROTOCOL", // WAL lock race that SQLite gave up retrying
  "SQLITE_CORRUPT", // nothing written to a damaged file can be trusted
  "SQLITE_NOTADB",
] as const;

function primaryCode(code: string): string {
  const extended = code.indexOf("_", "SQLITE_".length);
  return extended === -1 ? code : code.slice(0, extended);
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (!(err instanceof Database.SqliteError)) return false;
  return (UNAVAILABLE_CODES as readonly string[]).includes(primaryCode(err.code));
}

/** StoreUnavailableError (with the SQLite error as cause) for faults of the store; anything else unchanged. */
export function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (isUnavailable(err) && err instanceof Error) {
    return new StoreUnavailableError(`sqlite store: ${what}: ${err.message}`, { cause: err });
  }
  return err;
}
