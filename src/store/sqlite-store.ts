import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { StoreUnavailableError } from "../errors.js";
import { GroupCommit, type ItemResult } from "./group-commit.js";
import { closeConnection, openConnection, type SqliteConnection } from "./sqlite-connection.js";
import { copyDatabase, fileStamp, rebuildFile } from "./sqlite-copy.js";
import { isUnavailable, toStoreError } from "./sqlite-errors.js";
import { PRUNE_BATCH, type PruneCursor, type Queued, rowId } from "./sqlite-transactions.js";
import type {
  ClaimedDelivery,
  ClaimOptions,
  DeadLetter,
  EnqueueRequest,
  EnqueueResult,
  EventSummary,
  QueueDepth,
  Settlement,
  Store,
  TargetBacklog,
} from "./store.js";
import { describeProblem, type FileProblem, fileProblem } from "./store-file.js";
import type { WalSync } from "./wal-sync.js";

/** Where the store says what happened to its files and what it does about it (pino fits). */
export interface StoreLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface SqliteStoreOptions {
  /** How long to wait for another process's write lock before giving up (StoreUnavailableError). */
  busyTimeoutMs?: number;
  /** Open an existing store for reading only (listing from the CLI); every write rejects with StoreUnavailableError. */
  readonly?: boolean;
  /** How long a committed write vouches for the store in ping() before it probes (default 5 s). */
  probeIntervalMs?: number;
  /** Where faults of the store's files are reported (default: nowhere). */
  log?: StoreLog;
  /** How often the files and the WAL are checked without waiting for a write (default 1 s). */
  checkIntervalMs?: number;
  /** A WAL larger than this is checkpointed by the store itself, and a failure logged (default 32 MiB). */
  walCheckBytes?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** Caps one group commit: large enough to absorb a burst, small enough to keep each transaction short. */
const MAX_BATCH = 256;
const DEFAULT_EVENTS_LIMIT = 20;
const DEFAULT_CHECK_INTERVAL_MS = 1_000;
/**
 * A WAL past this has not been checkpointed for a while (SQLite checkpoints at about 4 MiB, and
 * journal_size_limit trims the file to 16 MiB): the store then checkpoints itself, to hear why.
 */
const DEFAULT_WAL_CHECK_BYTES = 32 * 1024 * 1024;
/** Repeated faults (a failing checkpoint, a copy that cannot be written) are logged at most this often. */
const REPEAT_LOG_MS = 60_000;

const nextTurn = () => new Promise<void>((done) => setImmediate(done));
const SILENT: StoreLog = { info() {}, warn() {}, error() {} };

/**
 * How long a committed write vouches for the store in ping(). Past it, ping() commits a probe
 * (one page and one fsync): reading `SELECT 1` succeeds on a full or failing disk, and so does
 * `BEGIN IMMEDIATE; ROLLBACK`, which writes nothing.
 */
const DEFAULT_PROBE_INTERVAL_MS = 5_000;
/** After a fault, ping() probes at most this often: a disk that is back is noticed within it. */
const FAULT_PROBE_INTERVAL_MS = 500;

function syncFailure(err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(
    `sqlite store: the disk failed to write the store (fsync: ${(err as Error).message}); restart the daemon once the disk is sound`,
    { cause: err },
  );
}

function problemError(p: FileProblem): StoreUnavailableError {
  return new StoreUnavailableError(`sqlite store: ${describeProblem(p)}`);
}

/** An enqueue's result and the number of the commit that holds it, on the WAL it was written to (see WalSync). */
interface Committed {
  result: EnqueueResult;
  seq: number;
  walSync: WalSync | undefined;
}

type Reopen = "rebuild" | "checkpoint" | "plain" | "open";

/**
 * The embedded default Store: one SQLite file in WAL mode, shared safely by the daemon and the CLI.
 *
 * It watches its own files (after every fsync and once a second): a 202 is only given while the
 * path still names the file that was written and that file can be written. When the file is
 * removed, the open connection is copied back into place and reopened; when it becomes writable
 * again, it is reopened; when it was replaced, what the connection held is saved beside it.
 */
export class SqliteStore implements Store {
  /** Undefined only between closing a connection and opening its successor, or after that failed. */
  private conn: SqliteConnection | undefined;
  private readonly batcher = new GroupCommit<Queued, Committed>((items) => this.writeBatch(items), MAX_BATCH);
  private readonly log: StoreLog;
  private readonly walCheckBytes: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private commits = 0;
  private closed = false;
  /** When a write last committed (an enqueue batch or a probe). */
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  /** The last fault of the store, until a write commits again; ping() reports it. */
  private fault: StoreUnavailableError | undefined;
  /** What is wrong with the store's files, from the last check; webhooks are refused while it is set. */
  private problem: FileProblem | undefined;
  private reopening: Promise<void> | undefined;
  /** The connection whose database was saved beside a file that replaced it. */
  private savedCopyOf: SqliteConnection | undefined;
  private lastSaveAttemptAt = Number.NEGATIVE_INFINITY;
  private lastRepeatLogAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly path: string,
    private readonly readonly: boolean,
    private readonly busyTimeoutMs: number,
    private readonly probeIntervalMs: number,
    opts: SqliteStoreOptions,
  ) {
    this.log = opts.log ?? SILENT;
    this.walCheckBytes = opts.walCheckBytes ?? DEFAULT_WAL_CHECK_BYTES;
    const conn = this.connect();
    this.conn = conn;
    // A file that cannot be written at start: say so now, not at the first webhook.
    if (conn.openedUnwritable && conn.files && conn.opened) this.noteProblem(fileProblem(conn.files, conn.opened));
    if (conn.files && !readonly) {
      this.timer = setInterval(() => this.maintain(), opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /**
   * Opens (creating the folder, file and schema if needed) the store at `path`. Throws
   * StoreUnavailableError when the file cannot be opened or written.
   */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const readonly = opts.readonly ?? false;
    try {
      if (path !== ":memory:" && !readonly) mkdirSync(dirname(resolve(path)), { recursive: true });
      return new SqliteStore(
        path,
        readonly,
        opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
        opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
        opts,
      );
    } catch (err) {
      // mkdir failing (EACCES, EROFS, ENOSPC) is as much "cannot store" as SQLITE_CANTOPEN.
      const fsFault = err instanceof Error && "syscall" in err;
      throw fsFault
        ? new StoreUnavailableError(`sqlite store: open ${path}: ${err.message}`, { cause: err })
        : toStoreError(err, `open ${path}`);
    }
  }

  private connect(): SqliteConnection {
    return openConnection(this.path, {
      readonly: this.readonly,
      busyTimeoutMs: this.busyTimeoutMs,
      verify: (c) =>
        c === this.conn && !this.reopening ? this.checkFiles(c) : new StoreUnavailableError("sqlite store: the store is being reopened"),
    });
  }

  /** Test hook and a number worth logging: how many group-commit transactions were committed. */
  stats(): { commits: number } {
    return { commits: this.commits };
  }

  /** The WAL file's size in bytes (for the switchyard_store_wal_bytes gauge); undefined when there is none. */
  walBytes(): number | undefined {
    try {
      return this.conn?.walSync?.size();
    } catch {
      return undefined;
    }
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    if (this.closed) throw new StoreUnavailableError("sqlite store: enqueue: the store is closed");
    const failed = this.conn?.walSync?.failed;
    if (failed) throw syncFailure(failed);
    if (this.problem) throw problemError(this.problem);
    if (this.reopening || !this.conn) throw new StoreUnavailableError("sqlite store: enqueue: the store is being reopened");
    const parsed = Date.parse(req.event.receivedAt);
    // Serialized before it joins a batch: a request's own fault (a cycle, a BigInt) fails it alone.
    const doc = JSON.stringify(req.event);
    const { result, seq, walSync } = await this.batcher.submit({ req, doc, receivedAtMs: Number.isFinite(parsed) ? parsed : Date.now() });
    // Also for a duplicate: the first event's commit may still be on its way to the disk.
    try {
      await walSync?.durableThrough(seq);
    } catch (err) {
      // A problem with the file found after the fsync is the store's; anything else is the disk's.
      throw this.noteFault(err instanceof StoreUnavailableError ? err : syncFailure(err));
    }
    return result;
  }

  async backlog(): Promise<TargetBacklog[]> {
    return this.guard("backlog", (c) => {
      const out: TargetBacklog[] = [];
      let row = c.stmt.firstOfNextRoute.get({ route: "" });
      while (row) {
        out.push(row);
        row = c.stmt.nextTargetOfRoute.get(row) ?? c.stmt.firstOfNextRoute.get(row);
      }
      return out;
    });
  }

  // IMMEDIATE: take the write lock before reading, so a claim in another process cannot pick
  // the same rows between our read and our lease (and WAL cannot fail the upgrade with BUSY).
  async claim(opts: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.guard("claim", (c) => c.tx.claim.immediate(opts));
  }

  async settle(deliveryId: string, owner: string, s: Settlement, now: number): Promise<void> {
    const id = rowId(deliveryId);
    if (id === undefined) return;
    const change =
      s.kind === "retry"
        ? { state: "retrying", dueAt: s.at, error: s.error }
        : s.kind === "dead"
          ? { state: "dead", dueAt: null, error: s.error }
          : { state: s.kind, dueAt: null, error: null };
    this.guard("settle", (c) => c.stmt.settle.run({ id, owner, now, ...change }));
  }

  /** Leases given back keep their attempt: a delivery cut off by shutdown may have reached its target. */
  async release(owner: string): Promise<number> {
    return this.guard("release", (c) => c.stmt.release.run({ owner, now: Date.now() }).changes);
  }

  async leaseOwners(): Promise<string[]> {
    return this.guard("leaseOwners", (c) => c.stmt.leaseOwners.all().map((r) => r.owner));
  }

  async reclaimExpired(now: number): Promise<number> {
    return this.guard("reclaimExpired", (c) => c.stmt.reclaimExpired.run({ now }).changes);
  }

  async deadLetters(opts: { route?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = opts.limit ?? -1; // SQLite: LIMIT -1 is no limit; dead letters are few and all matter
    const rows = this.guard("deadLetters", (c) =>
      opts.route === undefined ? c.stmt.deadLetters.all({ limit }) : c.stmt.deadLettersOfRoute.all({ route: opts.route, limit }),
    );
    return rows.map((r) => ({ ...r, id: String(r.id), lastError: r.lastError ?? "" }));
  }

  async replay(ids: readonly string[] | "all", now: number): Promise<number> {
    return this.guard("replay", (c) => this.durably(c, () => c.tx.replay.immediate(ids, now)));
  }

  async events(opts: { route?: string; limit?: number } = {}): Promise<EventSummary[]> {
    return this.guard("events", (c) => c.tx.events.deferred(opts.route, opts.limit ?? DEFAULT_EVENTS_LIMIT));
  }

  async depth(): Promise<QueueDepth> {
    const depth: QueueDepth = { pending: 0, retrying: 0, dead: 0 };
    for (const { state, n } of this.guard("depth", (c) => c.stmt.depth.all())) {
      if (state === "pending" || state === "retrying" || state === "dead") depth[state] = n;
    }
    return depth;
  }

  /** Deletes in short transactions and yields between them, so ingress commits interleave. */
  async prune(before: number, now: number): Promise<number> {
    let deleted = 0;
    let cursor: PruneCursor | undefined = { ms: Number.MIN_SAFE_INTEGER, rid: 0 };
    while (cursor) {
      const after: PruneCursor = cursor;
      const step = this.guard("prune", (c) => c.tx.pruneStep.immediate(before, after));
      deleted += step.deleted;
      cursor = step.next;
      if (cursor) await nextTurn();
    }
    while (this.guard("prune", (c) => c.stmt.pruneDedupe.run({ now, limit: PRUNE_BATCH }).changes) === PRUNE_BATCH) {
      await nextTurn();
    }
    return deleted;
  }

  async ping(): Promise<void> {
    this.guard("ping", (c) => {
      c.stmt.ping.get();
      if (this.readonly) throw new StoreUnavailableError("sqlite store: ping: opened read-only");
      if (this.reopening) throw new StoreUnavailableError("sqlite store: ping: the store is being reopened");
      const problem = this.checkFiles(c);
      if (problem) throw problem;
    });
    this.probeWrites(Date.now());
  }

  /** Throws the store's fault unless a write committed lately or a probe commits now. */
  private probeWrites(now: number): void {
    const failed = this.conn?.walSync?.failed;
    if (failed) throw syncFailure(failed);
    if (this.fault === undefined && now - this.lastWriteAt < this.probeIntervalMs) return;
    if (this.fault !== undefined && now - this.lastProbeAt < FAULT_PROBE_INTERVAL_MS) throw this.fault;
    this.lastProbeAt = now;
    this.guard("ping: write probe", (c) => this.durably(c, () => c.probe.immediate()));
    this.wrote();
  }

  private wrote(): void {
    this.lastWriteAt = Date.now();
    this.fault = undefined;
  }

  /** Writes what is waiting for the next group commit, then closes. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.reopening;
    const conn = this.conn;
    if (!conn) return;
    try {
      this.batcher.flush();
      this.rescueBeforeClose(conn);
    } finally {
      await closeConnection(conn);
    }
  }

  /**
   * A file removed or replaced just before a stop, before the once-a-second check saw it: the
   * open connection holds the only copy of what was acknowledged, so write it out before closing.
   */
  private rescueBeforeClose(c: SqliteConnection): void {
    if (!c.files || !c.opened || c.walSync?.failed) return;
    const found = fileProblem(c.files, c.opened);
    if (found?.kind === "replaced") this.saveCopy(c, true);
    if (found?.kind !== "removed") return;
    try {
      const r = rebuildFile(c.db, c.files.main);
      const where = r.rebuilt ? c.files.main : r.savedAs;
      this.log.error(
        { store: c.files.main, savedAs: where },
        `store file ${c.files.main} was removed; what the daemon held is written back to ${where}`,
      );
    } catch (err) {
      this.log.error(
        { store: c.files.main, err: (err as Error).message },
        `store file ${c.files.main} was removed and could not be written back; the events it held are lost`,
      );
    }
  }

  private writeBatch(items: readonly Queued[]): ItemResult<Committed>[] {
    const c = this.conn;
    if (!c?.db.open) throw new StoreUnavailableError("sqlite store: enqueue: the store is closed");
    try {
      const now = Date.now();
      // Committed without waiting for the disk: enqueue waits for walSync before it answers.
      let results: ItemResult<EnqueueResult>[];
      try {
        results = c.tx.enqueueBatchFast.immediate(items, now);
      } catch (err) {
        // Rolled back whole. A fault of the store fails the batch; a bad request (a reused
        // event id) fails alone on the slow path, which gives each request a savepoint.
        if (isUnavailable(err)) throw err;
        results = c.tx.enqueueBatch.immediate(items, now);
      }
      const walSync = c.walSync;
      const seq = walSync?.committedOne() ?? 0;
      this.commits++;
      this.wrote();
      return results.map((r) => (r.ok ? { ok: true, value: { result: r.value, seq, walSync } } : r));
    } catch (err) {
      throw this.noteFault(toStoreError(err, "enqueue"));
    }
  }

  /**
   * Runs a transaction that must reach the disk before the caller answers (fsync of the WAL;
   * it also covers every NORMAL commit before it). Other writes commit with NORMAL.
   */
  private durably<T>(c: SqliteConnection, fn: () => T): T {
    if (this.readonly) return fn();
    c.stmt.syncFull.run();
    try {
      return fn();
    } finally {
      c.stmt.syncNormal.run();
    }
  }

  /** Remembers a fault of the store for ping(), so /readyz fails as soon as a write did. */
  private noteFault(err: unknown): unknown {
    if (err instanceof StoreUnavailableError && !this.closed) this.fault = err;
    return err;
  }

  /** Runs a synchronous database call, turning faults of the store into StoreUnavailableError. */
  private guard<T>(what: string, fn: (c: SqliteConnection) => T): T {
    const c = this.conn;
    if (this.closed || !c?.db.open) throw new StoreUnavailableError(`sqlite store: ${what}: the store is closed`);
    try {
      return fn(c);
    } catch (err) {
      throw this.noteFault(toStoreError(err, what));
    }
  }

  /**
   * Checks the connection's files (see store-file.ts) and records what it finds; the error to
   * refuse with, if any. A file that was unwritable when opened stays a problem until reopened.
   */
  private checkFiles(c: SqliteConnection): StoreUnavailableError | undefined {
    if (!c.files || !c.opened) return undefined;
    const found = fileProblem(c.files, c.opened);
    if (found || !c.openedUnwritable) this.noteProblem(found);
    if (found) return problemError(found);
    if (c.openedUnwritable) return new StoreUnavailableError(`sqlite store: ${c.files.main} is being reopened for writing`);
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
    if (found.kind === "removed" || found.kind === "sidecar") setImmediate(() => this.maintain());
  }

  /** Once a second, and at once after a removal: check the files and the WAL, and repair what can be. */
  private maintain(): void {
    if (this.closed || this.reopening) return;
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
    else if (found?.kind === "replaced") this.saveCopy(c);
    else if (found === undefined && c.openedUnwritable) this.reopen("plain");
  }

  /** Checkpoints a WAL that grew past its bound, to learn (and log) why SQLite's own checkpoints fail. */
  private watchWal(c: SqliteConnection): void {
    const bytes = c.walSync?.size() ?? 0;
    if (bytes <= this.walCheckBytes || !c.files) return;
    try {
      c.db.pragma("wal_checkpoint(PASSIVE)");
    } catch (err) {
      const mb = (bytes / 1024 / 1024).toFixed(1);
      this.logRepeated(
        "warn",
        { store: c.files.main, walBytes: bytes, err: (err as Error).message },
        `checkpoint of store file ${c.files.main} failed: its WAL holds ${mb} MB and grows until the file can be written`,
      );
    }
  }

  private logRepeated(level: "warn" | "error", fields: object, msg: string): void {
    const now = Date.now();
    if (now - this.lastRepeatLogAt < REPEAT_LOG_MS) return;
    this.lastRepeatLogAt = now;
    this.log[level](fields, msg);
  }

  /** A file replaced ours: save what the open connection holds beside it, once, so nothing acknowledged is lost. */
  private saveCopy(c: SqliteConnection, evenIfTriedLately = false): void {
    const now = Date.now();
    if (this.savedCopyOf === c || !c.files || (!evenIfTriedLately && now - this.lastSaveAttemptAt < REPEAT_LOG_MS)) return;
    this.lastSaveAttemptAt = now;
    const main = c.files.main;
    const savedAs = `${main}.saved-${fileStamp()}`;
    try {
      copyDatabase(c.db, savedAs);
      this.savedCopyOf = c;
      this.log.error(
        { store: main, savedAs },
        `saved what the daemon holds in ${savedAs}; it is still being delivered from the open database. After a restart the daemon uses the file now at ${main} (to go on from the saved copy instead, stop the daemon and move it to ${main})`,
      );
    } catch (err) {
      this.log.error(
        { store: main, err: (err as Error).message },
        `could not save what the daemon holds beside ${main}; trying again in a minute`,
      );
    }
  }

  private reopen(how: Reopen): void {
    this.reopening = this.doReopen(how)
      .catch((err) => {
        this.logRepeated(
          "error",
          { store: this.path, err: (err as Error).message },
          `could not reopen store file ${this.path}; trying again`,
        );
      })
      .finally(() => {
        this.reopening = undefined;
      });
  }

  /**
   * Closes the connection and opens a new one. "rebuild" first copies the open database back to
   * its removed path; "checkpoint" first writes a removed WAL back into the database file.
   */
  private async doReopen(how: Reopen): Promise<void> {
    const old = this.conn;
    // Writes already submitted land in the old connection, before it is copied or closed.
    this.batcher.flush();
    if (old?.files && how === "rebuild") {
      const rebuilt = rebuildFile(old.db, old.files.main);
      if (!rebuilt.rebuilt) {
        this.savedCopyOf = old;
        this.noteProblem({ kind: "replaced", file: old.files.main });
        this.log.error({ store: old.files.main, savedAs: rebuilt.savedAs }, `what the daemon held is saved in ${rebuilt.savedAs}`);
        return;
      }
    }
    if (old && how === "checkpoint") {
      const [r] = old.db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
      if (r?.busy !== 0 || r.log !== r.checkpointed)
        throw new Error("another process is reading the store; the WAL could not be written back yet");
    }
    if (old) {
      await closeConnection(old);
      this.conn = undefined;
    }
    const conn = this.connect();
    this.conn = conn;
    this.fault = undefined;
    const found = conn.files && conn.opened ? fileProblem(conn.files, conn.opened) : undefined;
    if (found) {
      this.noteProblem(found);
      return;
    }
    const what = how === "rebuild" ? "rebuilt from the database the daemon held open" : "reopened";
    this.problem = undefined;
    this.log.info({ store: this.path }, `store file ${conn.files?.main ?? this.path} ${what}; accepting webhooks`);
  }
}
