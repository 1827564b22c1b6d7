import { realpathSync } from "node:fs";
import Database from "better-sqlite3";
import { type OpenMode, prepareDatabase } from "./sqlite-schema.js";
import { prepareStatements, type Statements } from "./sqlite-statements.js";
import { prepareTransactions, type Transactions } from "./sqlite-transactions.js";
import { fileProblem, type OpenedFiles, openedFiles, type StoreFiles, storeFilesOf } from "./store-file.js";
import { WalSync } from "./wal-sync.js";

/**
 * One open SQLite connection and everything prepared on it. The store swaps the whole of it
 * when it reopens the file (the file became writable again, or was rebuilt after a removal).
 */
export interface SqliteConnection {
  readonly db: Database.Database;
  readonly stmt: Statements;
  readonly tx: Transactions;
  /** The schema version the file had before this connection upgraded it (0: a new file). */
  readonly foundVersion: number;
  /** Rewrites the schema version with its own value: a real commit that changes nothing. */
  readonly probe: Database.Transaction<() => void>;
  /** fsyncs the WAL off the event loop before a 202 (undefined for in-memory and read-only stores). */
  readonly walSync: WalSync | undefined;
  /** The database, WAL and shm paths; undefined for an in-memory database. */
  readonly files: StoreFiles | undefined;
  /** The inodes those paths named when the connection opened them. */
  readonly opened: OpenedFiles | undefined;
  /**
   * The file could not be written when it was opened: SQLite then falls back to a read-only
   * descriptor for good, so only a new connection can write once the file is writable again.
   */
  readonly openedUnwritable: boolean;
}

export interface ConnectionOptions {
  mode: OpenMode;
  busyTimeoutMs: number;
  /** Checked after every fsync of the WAL, before the commits it covers are acknowledged. */
  verify?: (conn: SqliteConnection) => Error | undefined;
}

/**
 * The database file as SQLite opened it: symbolic links resolved, as SQLite does to name the
 * WAL beside the real file (fsyncing a -wal beside the link would sync the wrong file).
 */
function mainFileOf(db: Database.Database): string {
  const main = (db.pragma("database_list") as { name: string; file: string }[]).find((d) => d.name === "main");
  return main?.file || realpathSync(db.name);
}

/** Opens `path` (which must be creatable: the caller makes its folder). Throws SQLite's errors. */
export function openConnection(path: string, opts: ConnectionOptions): SqliteConnection {
  const readonly = opts.mode === "read";
  const db = new Database(path, { readonly, fileMustExist: opts.mode !== "create", timeout: opts.busyTimeoutMs });
  try {
    const { foundVersion } = prepareDatabase(db, opts.busyTimeoutMs, opts.mode, path);
    // A file just switched to WAL (a rebuilt copy: VACUUM INTO writes a rollback-journal file)
    // has no -wal until its first transaction, and WalSync opens the -wal below.
    if (!readonly) db.prepare("SELECT count(*) FROM sqlite_master").get();
    const stmt = prepareStatements(db);
    const files = db.memory ? undefined : storeFilesOf(mainFileOf(db));
    const opened = files && !readonly ? openedFiles(files) : undefined;
    const openedUnwritable = files !== undefined && opened !== undefined && fileProblem(files, opened)?.kind === "readonly";
    const conn: SqliteConnection = {
      db,
      stmt,
      foundVersion,
      tx: prepareTransactions(db, stmt),
      probe: db.transaction(() => {
        const version = Number(db.pragma("user_version", { simple: true }));
        db.pragma(`user_version = ${version}`);
      }),
      walSync: files === undefined || readonly ? undefined : new WalSync(files.wal, opts.verify ? () => opts.verify?.(conn) : undefined),
      files,
      opened,
      openedUnwritable,
    };
    return conn;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Waits for the fsyncs in flight, then closes (SQLite checkpoints the WAL into the file as it closes). */
export async function closeConnection(conn: SqliteConnection): Promise<void> {
  try {
    await conn.walSync?.close();
  } finally {
    conn.db.close();
  }
}
