import { accessSync, constants, existsSync, mkdirSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../errors.js";
import { GroupCommit, type ItemResult } from "./group-commit.js";
import { isUnavailable, toStoreError } from "./sqlite-errors.js";
import { prepareDatabase } from "./sqlite-schema.js";
import { prepareStatements, type Statements } from "./sqlite-statements.js";
import { PRUNE_BATCH, type PruneCursor, prepareTransactions, rowId, type Transactions } from "./sqlite-transactions.js";
import {
  type ClaimedDelivery,
  type ClaimOptions,
  DEFAULT_EVENTS_LIMIT,
  type DeadLetter,
  type EnqueueRequest,
  type EnqueueResult,
  type EventSummary,
  type QueueDepth,
  type Queued,
  type Settlement,
  type Store,
  type TargetBacklog,
  toQueued,
} from "./store.js";
import { WalSync } from "./wal-sync.js";

export interface SqliteStoreOptions {
  /** How long to wait for another process's write lock before giving up (StoreUnavailableError). */
  busyTimeoutMs?: number;
  /** Open an existing store for reading only (listing from the CLI); every write rejects with StoreUnavailableError. */
  readonly?: boolean;
  /** How long a committed write vouches for the store in ping() before it probes (default 5 s). */
  probeIntervalMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** Caps one group commit: large enough to absorb a burst, small enough to keep each transaction short. */
const MAX_BATCH = 256;

const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/**
 * How long a committed write vouches for the store in ping(). Past it, ping() commits a probe
 * (one page and one fsync): reading `SELECT 1` succeeds on a full or failing disk, and so does
 * `BEGIN IMMEDIATE; ROLLBACK`, which writes nothing.
 */
const DEFAULT_PROBE_INTERVAL_MS = 5_000;
/** After a fault, ping() probes at most this often: a disk that is back is noticed within it. */
const FAULT_PROBE_INTERVAL_MS = 500;

/**
 * The database file as SQLite opened it: symbolic links resolved, as SQLite does to name the
 * WAL beside the real file (fsyncing a -wal beside the link would sync the wrong file).
 */
function mainFileOf(db: Database.Database): string {
  const main = (db.pragma("database_list") as { name: string; file: string }[]).find((d) => d.name === "main");
  return main?.file || realpathSync(db.name);
}

function syncFailure(err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(
    `sqlite store: the disk failed to write the store (fsync: ${(err as Error).message}); restart the daemon once the disk is sound`,
    { cause: err },
  );
}

/** An enqueue's result and the number of the commit that holds it (see WalSync). */
interface Committed {
  result: EnqueueResult;
  seq: number;
}

/** The embedded default Store: one SQLite file in WAL mode, shared safely by the daemon and the CLI. */
export class SqliteStore implements Store {
  private readonly stmt: Statements;
  private readonly batcher = new GroupCommit<Queued, Committed>((items) => this.writeBatch(items), { maxBatch: MAX_BATCH });
  /** fsyncs the WAL off the event loop before a 202 (undefined for in-memory and read-only stores). */
  private readonly walSync: WalSync | undefined;
  /** The file to check in ping(); undefined for an in-memory database. */
  private readonly file: string | undefined;
  private commits = 0;
  private closed = false;
  /** When a write last committed (an enqueue batch or a probe). */
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  /** The last fault of the store, until a write commits again; ping() reports it. */
  private fault: StoreUnavailableError | undefined;

  private readonly tx: Transactions;
  /** Rewrites the schema version with its own value: a real commit that changes nothing. */
  private readonly probe: Database.Transaction<() => void>;

  private constructor(
    private readonly db: Database.Database,
    private readonly probeIntervalMs: number,
  ) {
    this.file = db.memory ? undefined : resolve(db.name);
    this.walSync = this.file === undefined || db.readonly ? undefined : new WalSync(`${mainFileOf(db)}-wal`);
    this.stmt = prepareStatements(db);
    this.tx = prepareTransactions(db, this.stmt);
    this.probe = db.transaction(() => {
      const version = Number(db.pragma("user_version", { simple: true }));
      db.pragma(`user_version = ${version}`);
    });
  }

  /**
   * Opens (creating the folder, file and schema if needed) the store at `path`. Throws
   * StoreUnavailableError when the file cannot be opened or written.
   */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const readonly = opts.readonly ?? false;
    const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let db: Database.Database | undefined;
    try {
      if (path !== ":memory:" && !readonly) mkdirSync(dirname(resolve(path)), { recursive: true });
      db = new Database(path, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
      prepareDatabase(db, busyTimeoutMs, readonly);
      return new SqliteStore(db, opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
    } catch (err) {
      db?.close();
      // mkdir failing (EACCES, EROFS, ENOSPC) is as much "cannot store" as SQLITE_CANTOPEN.
      const fsFault = err instanceof Error && "syscall" in err;
      throw fsFault
        ? new StoreUnavailableError(`sqlite store: open ${path}: ${err.message}`, { cause: err })
        : toStoreError(err, `open ${path}`);
    }
  }

  /** Test hook and a number worth logging: how many group-commit transactions were committed. */
  stats(): { commits: number } {
    return { commits: this.commits };
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    if (this.closed) throw new StoreUnavailableError("sqlite store: enqueue: the store is closed");
    if (this.walSync?.failed) throw syncFailure(this.walSync.failed);
    const { result, seq } = await this.batcher.submit(toQueued(req));
    // Also for a duplicate: the first event's commit may still be on its way to the disk.
    try {
      await this.walSync?.durableThrough(seq);
    } catch (err) {
      throw this.noteFault(syncFailure(err));
    }
    return result;
  }

  async backlog(): Promise<TargetBacklog[]> {
    return this.guard("backlog", () => {
      const out: TargetBacklog[] = [];
      let row = this.stmt.firstOfNextRoute.get({ route: "" });
      while (row) {
        out.push(row);
        row = this.stmt.nextTargetOfRoute.get(row) ?? this.stmt.firstOfNextRoute.get(row);
      }
      return out;
    });
  }

  // IMMEDIATE: take the write lock before reading, so a claim in another process cannot pick
  // the same rows between our read and our lease (and WAL cannot fail the upgrade with BUSY).
  async claim(opts: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.guard("claim", () => this.tx.claim.immediate(opts));
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
    this.guard("settle", () => this.stmt.settle.run({ id, owner, now, ...change }));
  }

  /** Leases given back keep their attempt: a delivery cut off by shutdown may have reached its target. */
  async release(owner: string): Promise<number> {
    return this.guard("release", () => this.stmt.release.run({ owner, now: Date.now() }).changes);
  }

  async leaseOwners(): Promise<string[]> {
    return this.guard("leaseOwners", () => this.stmt.leaseOwners.all().map((r) => r.owner));
  }

  async reclaimExpired(now: number): Promise<number> {
    return this.guard("reclaimExpired", () => this.stmt.reclaimExpired.run({ now }).changes);
  }

  async deadLetters(opts: { route?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = opts.limit ?? -1; // SQLite: LIMIT -1 is no limit; dead letters are few and all matter
    const rows = this.guard("deadLetters", () =>
      opts.route === undefined ? this.stmt.deadLetters.all({ limit }) : this.stmt.deadLettersOfRoute.all({ route: opts.route, limit }),
    );
    return rows.map((r) => ({ ...r, id: String(r.id), lastError: r.lastError ?? "" }));
  }

  async replay(ids: readonly string[] | "all", now: number): Promise<number> {
    return this.guard("replay", () => this.durably(() => this.tx.replay.immediate(ids, now)));
  }

  async events(opts: { route?: string; limit?: number } = {}): Promise<EventSummary[]> {
    return this.guard("events", () => this.tx.events.deferred(opts.route, opts.limit ?? DEFAULT_EVENTS_LIMIT));
  }

  async depth(): Promise<QueueDepth> {
    const depth: QueueDepth = { pending: 0, retrying: 0, dead: 0 };
    for (const { state, n } of this.guard("depth", () => this.stmt.depth.all())) {
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
      const step = this.guard("prune", () => this.tx.pruneStep.immediate(before, after));
      deleted += step.deleted;
      cursor = step.next;
      if (cursor) await nextTurn();
    }
    while (this.guard("prune", () => this.stmt.pruneDedupe.run({ now, limit: PRUNE_BATCH }).changes) === PRUNE_BATCH) {
      await nextTurn();
    }
    return deleted;
  }

  async ping(): Promise<void> {
    this.guard("ping", () => {
      this.stmt.ping.get();
      if (this.db.readonly) throw new StoreUnavailableError("sqlite store: ping: opened read-only");
      if (this.file === undefined) return;
      // A deleted or replaced file keeps "working" through the open handle while nothing lasts.
      if (!existsSync(this.file)) throw new StoreUnavailableError(`sqlite store: ping: ${this.file} is gone`);
      try {
        accessSync(this.file, constants.W_OK);
      } catch (err) {
        throw new StoreUnavailableError(`sqlite store: ping: ${this.file} is not writable`, { cause: err });
      }
    });
    this.probeWrites(Date.now());
  }

  /** Throws the store's fault unless a write committed lately or a probe commits now. */
  private probeWrites(now: number): void {
    if (this.walSync?.failed) throw syncFailure(this.walSync.failed);
    if (this.fault === undefined && now - this.lastWriteAt < this.probeIntervalMs) return;
    if (this.fault !== undefined && now - this.lastProbeAt < FAULT_PROBE_INTERVAL_MS) throw this.fault;
    this.lastProbeAt = now;
    this.guard("ping: write probe", () => this.durably(() => this.probe.immediate()));
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
    try {
      this.batcher.flush();
      await this.walSync?.close();
    } finally {
      this.db.close();
    }
  }

  private writeBatch(items: readonly Queued[]): ItemResult<Committed>[] {
    if (!this.db.open) throw new StoreUnavailableError("sqlite store: enqueue: the store is closed");
    try {
      const now = Date.now();
      // Committed without waiting for the disk: enqueue waits for walSync before it answers.
      let results: ItemResult<EnqueueResult>[];
      try {
        results = this.tx.enqueueBatchFast.immediate(items, now);
      } catch (err) {
        // Rolled back whole. A fault of the store fails the batch; a bad request (a reused
        // event id) fails alone on the slow path, which gives each request a savepoint.
        if (isUnavailable(err)) throw err;
        results = this.tx.enqueueBatch.immediate(items, now);
      }
      const seq = this.walSync?.committedOne() ?? 0;
      this.commits++;
      this.wrote();
      return results.map((r) => (r.ok ? { ok: true, value: { result: r.value, seq } } : r));
    } catch (err) {
      throw this.noteFault(toStoreError(err, "enqueue"));
    }
  }

  /**
   * Runs a transaction that must reach the disk before the caller answers (fsync of the WAL;
   * it also covers every NORMAL commit before it). Other writes commit with NORMAL.
   */
  private durably<T>(fn: () => T): T {
    if (this.db.readonly) return fn();
    this.stmt.syncFull.run();
    try {
      return fn();
    } finally {
      this.stmt.syncNormal.run();
    }
  }

  /** Remembers a fault of the store for ping(), so /readyz fails as soon as a write did. */
  private noteFault(err: unknown): unknown {
    if (err instanceof StoreUnavailableError && !this.closed) this.fault = err;
    return err;
  }

  /** Runs a synchronous database call, turning faults of the store into StoreUnavailableError. */
  private guard<T>(what: string, fn: () => T): T {
    if (this.closed || !this.db.open) throw new StoreUnavailableError(`sqlite store: ${what}: the store is closed`);
    try {
      return fn();
    } catch (err) {
      throw this.noteFault(toStoreError(err, what));
    }
  }
}
