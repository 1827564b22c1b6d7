import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { StoreUnavailableError } from "../../errors.js";
import { closeConnection, openConnection, type SqliteConnection } from "./sqlite-connection.js";
import { CopyPlacedUnsyncedError, copyBeside, copyDatabase, copyName, type PlaceFs, placeCopy, REAL_PLACE_FS } from "./sqlite-copy.js";
import { type OpenMode, SCHEMA_VERSION } from "./sqlite-schema.js";
import { describeProblem, type FileProblem, fileProblem, removeStaleSidecars } from "./store-file.js";

/** Where the store says what happened to its files and what it does about it (pino fits). */
export interface StoreLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface KeeperOptions {
  /** The daemon creates and keeps the store; the CLI opens one the daemon made ("write", "read"). */
  mode: OpenMode;
  busyTimeoutMs: number;
  log: StoreLog;
  checkIntervalMs: number;
  /** A WAL larger than this is checkpointed by the keeper itself, and a failure logged. */
  walCheckBytes: number;
  /** Writes what waits for the next group commit, so it lands before a connection is copied or closed. */
  flush: () => void;
  /** A new connection is open (the store forgets the old one's faults). */
  reopened: () => void;
  /** Test hook: the file-system calls that put a rebuilt copy in place (default: the real ones). */
  placeFs?: PlaceFs;
}

/** Repeated faults (a failing checkpoint, a copy that cannot be written) are logged at most this often. */
const REPEAT_LOG_MS = 60_000;

/**
 * How to put a connection aside: "rebuild" copies a removed file back into place, "switch" saves
 * what a replaced file's connection held beside the new file, "checkpoint" writes a removed WAL
 * back into the file, "plain" just closes (a file that is writable again).
 */
type Retire = "rebuild" | "switch" | "checkpoint" | "plain";

/** What retiring a connection left behind: the name of a saved copy, if one was kept beside the file. */
interface Retired {
  savedAs?: string;
}

/** The keeper logs each problem of the files itself (see noteProblem): the error says it is explained. */
export function problemError(p: FileProblem): StoreUnavailableError {
  return new StoreUnavailableError(`sqlite store: ${describeProblem(p)}`, { explained: true });
}

/** Refused while the keeper puts a connection aside or opens the next one, which it logs itself. */
function reopeningError(what: string): StoreUnavailableError {
  return new StoreUnavailableError(`sqlite store: ${what}: the store is being reopened`, { explained: true });
}

/**
 * Holds the SQLite store's connection and watches its files (after every fsync and once a
 * second): a 202 is only given while the path still names the file that was written and that
 * file can be written. A removed file is copied back into place from the open connection and
 * reopened; a removed WAL is checkpointed into the file and reopened; a file that is writable
 * again is reopened; a replaced file gets what the connection held saved beside it. Each change
 * is logged once, in plain words, with the path.
 */
export class SqliteKeeper {
  /** Undefined only between closing a connection and opening its successor, or after that failed. */
  conn: SqliteConnection | undefined;
  /** What is wrong with the store's files, from the last check; webhooks are refused while it is set. */
  problem: FileProblem | undefined;
  reopening: Promise<void> | undefined;
  /**
   * A rebuilt copy of a removed file that could not be put back at the path: the only copy of
   * what was acknowledged. Webhooks are refused and nothing is opened at the path until a restart.
   */
  stranded: string | undefined;
  private closed = false;
  /** The connection close() puts aside: the fsyncs it waits for still vouch for their commits. */
  private closing: SqliteConnection | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  /** When each kind of repeated fault was last logged: one fault never silences another. */
  private readonly lastLoggedAt = new Map<string, number>();

  constructor(
    private readonly path: string,
    private readonly o: KeeperOptions,
  ) {
    const conn = this.connect(o.mode);
    this.conn = conn;
    if (conn.files && o.mode === "create") this.warnLeftCopies(conn.files.main);
    // A new file starts at 0 and is not news; an upgrade of an existing one is said once.
    if (o.mode === "create" && conn.foundVersion > 0 && conn.foundVersion < SCHEMA_VERSION)
      o.log.info({ path, from: conn.foundVersion, to: SCHEMA_VERSION }, "store file upgraded to the current schema version");
    // A file that cannot be written at start: say so now, not at the first webhook.
    if (conn.openedUnwritable && conn.files && conn.opened) this.noteProblem(fileProblem(conn.files, conn.opened));
    // Only the daemon keeps the files: a CLI verb never rebuilds or reopens a store it did not make.
    if (conn.files && o.mode === "create") {
      this.timer = setInterval(() => this.maintain(), o.checkIntervalMs);
      this.timer.unref();
    }
  }

  private get log(): StoreLog {
    return this.o.log;
  }

  private connect(mode: OpenMode): SqliteConnection {
    return openConnection(this.path, {
      mode,
      busyTimeoutMs: this.o.busyTimeoutMs,
      verify: (c) => ((c === this.conn || c === this.closing) && !this.reopening ? this.checkFiles(c) : reopeningError("enqueue")),
    });
  }

  /**
   * Copies an earlier daemon left beside the store (a rebuild it could not put back, a file it
   * switched away from) may hold events never delivered: say so at every start until they are gone.
   */
  private warnLeftCopies(main: string): void {
    const name = basename(main);
    let left: string[];
    try {
      left = readdirSync(dirname(main)).filter((f) => f.startsWith(`${name}.rebuild-`) || f.startsWith(`${name}.saved-`));
    } catch {
      return;
    }
    for (const f of left.sort()) {
      const copy = join(dirname(main), f);
      this.log.warn(
        { store: main, savedAs: copy },
        `${copy} is a copy of an earlier store kept beside ${main}; it may hold events not delivered yet: to deliver them, stop the daemon and move it to ${main} (or delete it if not needed)`,
      );
    }
  }

  /** Why the store cannot be used while it has no connection (undefined: it is closed). */
  refusal(what: string): StoreUnavailableError | undefined {
    if (this.closed) return undefined;
    if (this.stranded)
      return new StoreUnavailableError(
        `sqlite store: ${what}: the removed store file could not be rebuilt; what the daemon held is in ${this.stranded}`,
        { explained: true },
      );
    return reopeningError(what);
  }

  /** The WAL file's size in bytes; undefined when there is none. */
  walBytes(): number | undefined {
    try {
      return this.conn?.walSync?.size();
    } catch {
      return undefined;
    }
  }

  /**
   * Waits for a reopen in progress, then closes. A file removed or replaced just before a stop,
   * before the once-a-second check saw it, is dealt with first: the open connection holds the
   * only copy of what was acknowledged.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.reopening;
    const conn = this.conn;
    if (!conn) return;
    this.closing = conn;
    this.o.flush();
    // Only the daemon rebuilds or switches files; the CLI just closes what it opened.
    const keeps = this.o.mode === "create" && conn.files && conn.opened && !conn.walSync?.failed;
    const found = keeps && conn.files && conn.opened ? fileProblem(conn.files, conn.opened) : undefined;
    const how = found?.kind === "removed" ? "rebuild" : found?.kind === "replaced" ? "switch" : "plain";
    try {
      const { savedAs } = await this.retire(conn, how);
      if (how !== "plain") this.log.error({ store: this.path, savedAs }, `store file ${this.path}: ${this.outcome(how, savedAs)}`);
    } catch (err) {
      this.log.error({ store: this.path, err: (err as Error).message }, `could not write out store file ${this.path} before closing`);
      if (conn.db.open) await closeConnection(conn);
    }
  }

  /**
   * Copies, checkpoints or saves what must survive the connection (see Retire), closes it, and
   * clears what it leaves behind. The connection is detached first: from the copy on, the store's
   * calls are refused (StoreUnavailableError) instead of writing into a connection whose copy is
   * already taken, while the close waits for the fsyncs in flight.
   */
  private async retire(old: SqliteConnection, how: Retire): Promise<Retired> {
    let temp: string | undefined;
    let savedAs: string | undefined;
    if (this.conn === old) this.conn = undefined;
    try {
      if (old.files && how === "rebuild") temp = copyBeside(old.db, old.files.main);
      if (old.files && how === "switch") {
        savedAs = copyName(old.files.main, "saved");
        copyDatabase(old.db, savedAs);
      }
      if (how === "checkpoint") {
        const [r] = old.db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
        if (r?.busy !== 0 || r.log !== r.checkpointed)
          throw new Error("another process is reading the store; the WAL could not be written back yet");
      }
    } catch (err) {
      // Nothing is put aside: the connection, still open, holds everything, and serves again.
      if (this.conn === undefined && !this.closed) this.conn = old;
      throw err;
    }
    await closeConnection(old);
    if (old.files && old.opened) removeStaleSidecars(old.files, old.opened);
    if (temp && old.files) {
      const placed = this.place(temp, old.files.main);
      if (!placed.placed) savedAs = placed.savedAs;
    }
    return savedAs === undefined ? {} : { savedAs };
  }

  /** Puts a rebuilt copy back at `main` (see placeCopy); a copy that cannot be placed strands the store. */
  private place(temp: string, main: string): ReturnType<typeof placeCopy> {
    try {
      return placeCopy(temp, main, this.o.placeFs ?? REAL_PLACE_FS);
    } catch (err) {
      if (err instanceof CopyPlacedUnsyncedError) {
        // In place and usable; only a crash of the machine before the next sync could lose the entry.
        this.log.error({ store: main, err: err.message }, `store file ${main}: ${err.message}; a crash of the machine now could lose it`);
        return { placed: true };
      }
      // The copy is the only one now: the path stays empty, and nothing is opened there, until
      // someone who knows puts it back (a restart then opens it).
      this.stranded = temp;
      this.log.error(
        { store: main, savedAs: temp, err: (err as Error).message },
        `could not put the copy of the removed store file back at ${main} (${(err as Error).message}); what the daemon held is in ${temp}: refusing webhooks (503) until the daemon is stopped, ${temp} moved to ${main}, and the daemon started again`,
      );
      throw err;
    }
  }

  /** The log's words for what a retire did. */
  private outcome(how: Retire, savedAs: string | undefined): string {
    const saved = savedAs
      ? `; what the daemon held before is saved in ${savedAs} (to deliver what was still waiting there, stop the daemon and move it to ${this.path})`
      : "";
    if (how === "rebuild" && !savedAs) return "rebuilt from the database the daemon held open";
    if (how === "rebuild") return `another file appeared while it was being rebuilt, and is used now${saved}`;
    if (how === "switch") return `the daemon now uses the file that replaced it${saved}`;
    return "reopened";
  }

  /**
   * Checks the connection's files (see store-file.ts) and records what it finds; the error to
   * refuse with, if any. A file that was unwritable when opened stays a problem until reopened.
   */
  checkFiles(c: SqliteConnection): StoreUnavailableError | undefined {
    if (!c.files || !c.opened) return undefined;
    const found = fileProblem(c.files, c.opened);
    if (found || !c.openedUnwritable) this.noteProblem(found);
    if (found) return problemError(found);
    if (c.openedUnwritable)
      return new StoreUnavailableError(`sqlite store: ${c.files.main} is being reopened for writing`, { explained: true });
    return undefined;
  }

  /** Logs a change of problem once, in plain words; a removed file or WAL is dealt with at once. */
  private noteProblem(found: FileProblem | undefined): void {
    const before = this.problem;
    this.problem = found;
    if (found === undefined) {
      if (before) this.log.info({ store: before.file }, `store file ${before.file} is writable again; accepting webhooks`);
      return;
    }
    if (before?.kind === found.kind && before.file === found.file) return;
    this.log.error({ store: found.file }, describeProblem(found));
    // Only the daemon repairs files: a CLI verb never rebuilds or switches a store it did not make.
    if (found.kind !== "readonly" && this.o.mode === "create") setImmediate(() => this.maintain());
  }

  /** Once a second, and at once after a removal: check the files and the WAL, and repair what can be. */
  private maintain(): void {
    if (this.closed || this.reopening || this.stranded || this.o.mode !== "create") return;
    const c = this.conn;
    if (!c) {
      this.reopen("open");
      return;
    }
    if (!c.files || !c.opened || c.walSync?.failed) return;
    this.watchWal(c);
    const found = fileProblem(c.files, c.opened);
    if (found || !c.openedUnwritable) this.noteProblem(found);
    if (found?.kind === "removed") this.reopen("rebuild");
    else if (found?.kind === "sidecar") this.reopen("checkpoint");
    else if (found?.kind === "replaced") this.reopen("switch");
    else if (found === undefined && c.openedUnwritable) this.reopen("plain");
  }

  /** Checkpoints a WAL that grew past its bound, to learn (and log) why SQLite's own checkpoints fail. */
  private watchWal(c: SqliteConnection): void {
    const bytes = c.walSync?.size() ?? 0;
    if (bytes <= this.o.walCheckBytes || !c.files) return;
    const mb = (bytes / 1024 / 1024).toFixed(1);
    let r: { busy: number; log: number; checkpointed: number } | undefined;
    try {
      [r] = c.db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
    } catch (err) {
      this.logRepeated(
        "checkpoint-failed",
        "warn",
        { store: c.files.main, walBytes: bytes, err: (err as Error).message },
        `checkpoint of store file ${c.files.main} failed: its WAL holds ${mb} MB and grows until the file can be written`,
      );
      return;
    }
    // A reader (a long `switchyard events`, a backup tool, sqlite3 left open) does not make the
    // checkpoint fail: it stops short of the reader's snapshot, and says so only in its result.
    if (r && (r.busy !== 0 || r.log !== r.checkpointed)) {
      this.logRepeated(
        "checkpoint-blocked",
        "warn",
        { store: c.files.main, walBytes: bytes, walFrames: r.log, checkpointed: r.checkpointed },
        `checkpoint of store file ${c.files.main} is held back by another process reading the store: its WAL holds ${mb} MB and grows until that reader finishes`,
      );
    }
  }

  /** Logs a repeated fault at most once per REPEAT_LOG_MS, per kind of fault. */
  private logRepeated(key: string, level: "warn" | "error", fields: object, msg: string): void {
    const now = Date.now();
    if (now - (this.lastLoggedAt.get(key) ?? Number.NEGATIVE_INFINITY) < REPEAT_LOG_MS) return;
    this.lastLoggedAt.set(key, now);
    this.log[level](fields, msg);
  }

  private reopen(how: Retire | "open"): void {
    this.reopening = this.doReopen(how)
      .catch((err) => {
        // A stranded copy was explained once, with what to do; there is nothing to try again.
        if (this.stranded) return;
        this.logRepeated(
          "reopen-failed",
          "error",
          { store: this.path, err: (err as Error).message },
          `could not reopen store file ${this.path}; trying again`,
        );
      })
      .finally(() => {
        this.reopening = undefined;
      });
  }

  /** Puts the connection aside (see retire) and opens a new one; "open" retries after a failed open. */
  private async doReopen(how: Retire | "open"): Promise<void> {
    // Writes already submitted land in the old connection, before it is copied or closed.
    this.o.flush();
    const old = this.conn;
    const { savedAs } = old && how !== "open" ? await this.retire(old, how) : {};
    // Never creates a file: one that is missing now (removed again, or never put back) would come
    // back empty, and the daemon would accept webhooks into it as if nothing happened. A file that
    // replaced the store may be a backup from an older version, to be brought up to date.
    const conn = this.connect(how === "switch" ? this.o.mode : "write");
    this.conn = conn;
    this.o.reopened();
    const found = conn.files && conn.opened ? fileProblem(conn.files, conn.opened) : undefined;
    if (found) {
      this.noteProblem(found);
      return;
    }
    this.problem = undefined;
    const outcome = how === "open" ? "opened" : this.outcome(how, savedAs);
    const line = `store file ${this.path}: ${outcome}; accepting webhooks`;
    // A saved copy means deliveries may be waiting outside the store: worth an error.
    if (savedAs) this.log.error({ store: this.path, savedAs }, line);
    else this.log.info({ store: this.path }, line);
  }
}
