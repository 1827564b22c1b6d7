import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { StoreUnavailableError, UserError } from "../../errors.js";
import { GroupCommit, type ItemResult } from "../group-commit.js";
import {
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimOptions,
  COUNTS_KEEP_MS,
  type CountQuery,
  type CountRow,
  DEFAULT_EVENTS_LIMIT,
  type DeadLetter,
  type DeliverySummary,
  type EnqueueRequest,
  type EnqueueResult,
  type EventDetail,
  type EventPageQuery,
  type EventSummary,
  type PagedEvent,
  type PausedTarget,
  type QueueDepth,
  type Queued,
  type ReplayResult,
  type Settlement,
  type Store,
  type TargetBacklog,
  type TargetDepth,
  type TargetKey,
  toQueued,
} from "../store.js";
import type { SqliteConnection } from "./sqlite-connection.js";
import type { PlaceFs } from "./sqlite-copy.js";
import { isUnavailable, toStoreError } from "./sqlite-errors.js";
import { cannotRead, refuseMissingOrEmpty } from "./sqlite-existing.js";
import { problemError, SqliteKeeper, type StoreLog } from "./sqlite-keeper.js";
import type { OpenMode } from "./sqlite-schema.js";
import { PRUNE_BATCH, type PruneCursor, requestOf, rowId, summaryOf, type WorkOp } from "./sqlite-transactions.js";
import type { WalSync } from "./wal-sync.js";

export type { StoreLog } from "./sqlite-keeper.js";

export interface SqliteStoreOptions {
  /** How long to wait for another process's write lock before giving up (StoreUnavailableError). */
  busyTimeoutMs?: number;
  /**
   * Open an existing store for reading only (listing from the CLI): nothing is created, migrated,
   * checkpointed or truncated; every write rejects with StoreUnavailableError.
   */
  readonly?: boolean;
  /**
   * Open an existing store only (the CLI's replay): never create the file or its folder, never
   * change its schema. A missing or empty file is refused with a message that says so.
   */
  existing?: boolean;
  /** How long a committed write vouches for the store in ping() before it probes (default 5 s). */
  probeIntervalMs?: number;
  /** Where faults of the store's files are reported (default: nowhere). */
  log?: StoreLog;
  /** How often the files and the WAL are checked without waiting for a write (default 1 s). */
  checkIntervalMs?: number;
  /** A WAL larger than this is checkpointed by the store itself, and a failure logged (default 32 MiB). */
  walCheckBytes?: number;
  /** Test hook: the file-system calls that put a rebuilt copy of a removed file in place. */
  placeFs?: PlaceFs;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** Caps one group commit: large enough to absorb a burst, small enough to keep each transaction short. */
const MAX_BATCH = 256;
const DEFAULT_CHECK_INTERVAL_MS = 1_000;
/**
 * The longest a batch waits for the WAL's fsync in flight before it commits anyway: an fsync
 * takes a few milliseconds on an SSD and tens on an SD card, and a disk that stalls for seconds
 * must not stop the worker's claims and settlements (which do not need the fsync) as long.
 */
const MAX_FSYNC_WAIT_MS = 25;
/**
 * A WAL past this has not been checkpointed for a while (SQLite checkpoints at about 4 MiB, and
 * journal_size_limit trims the file to 16 MiB): the store then checkpoints itself, to hear why.
 */
const DEFAULT_WAL_CHECK_BYTES = 32 * 1024 * 1024;

/** Where a page starts: the cursor, or the end of the time range, whichever is older. */
function startOfPage(q: EventPageQuery): [number, number] {
  const end: [number, number] = [q.until ?? Number.MAX_SAFE_INTEGER, q.until === undefined ? Number.MAX_SAFE_INTEGER : 0];
  const m = q.before === undefined ? null : /^(-?\d{1,16})\.(\d{1,16})$/.exec(q.before);
  if (q.before !== undefined && !m) throw new UserError("before: not a cursor this store gave (use an answer's next)");
  if (!m) return end;
  const at: [number, number] = [Number(m[1]), Number(m[2])];
  return at[0] < end[0] || (at[0] === end[0] && at[1] < end[1]) ? at : end;
}

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

/** An enqueue's result and the number of the commit that holds it, on the WAL it was written to (see WalSync). */
interface Committed {
  result: EnqueueResult;
  seq: number;
  walSync: WalSync | undefined;
}

/**
 * The embedded default Store: one SQLite file in WAL mode, shared safely by the daemon and the
 * CLI. Its connection is held by a SqliteKeeper, which watches the file and reopens it.
 */
export class SqliteStore implements Store {
  private readonly keeper: SqliteKeeper;
  private readonly readonly: boolean;
  private readonly batcher = new GroupCommit<Queued, Committed>((items) => this.writeBatch(items), {
    maxBatch: MAX_BATCH,
    wait: () => this.keeper.conn?.walSync?.inFlight(),
    maxWaitMs: MAX_FSYNC_WAIT_MS,
  });
  /**
   * The worker's claims and settlements of one turn, written as one transaction (see
   * workBatchFast). Under ingest they too wait for the fsync in flight, so that each fsync is
   * followed by one commit of each kind rather than one per turn; an idle disk delays nothing.
   */
  private readonly work = new GroupCommit<WorkOp, ClaimedDelivery[] | undefined>((ops) => this.writeWork(ops), {
    maxBatch: MAX_BATCH,
    wait: () => this.keeper.conn?.walSync?.inFlight(),
    maxWaitMs: MAX_FSYNC_WAIT_MS,
  });
  private commits = 0;
  private workCommits = 0;
  private closed = false;
  /** When a write last committed (an enqueue batch or a probe). */
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  /** The last fault of the store, until a write commits again; ping() reports it. */
  private fault: StoreUnavailableError | undefined;

  private constructor(
    path: string,
    mode: OpenMode,
    private readonly probeIntervalMs: number,
    opts: SqliteStoreOptions,
  ) {
    this.readonly = mode === "read";
    this.keeper = new SqliteKeeper(path, {
      mode,
      busyTimeoutMs: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      log: opts.log ?? SILENT,
      checkIntervalMs: opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS,
      walCheckBytes: opts.walCheckBytes ?? DEFAULT_WAL_CHECK_BYTES,
      flush: () => {
        this.batcher.flush();
        this.work.flush();
      },
      reopened: () => {
        this.fault = undefined;
      },
      placeFs: opts.placeFs,
    });
  }

  /**
   * Opens (creating the folder, file and schema if needed) the store at `path`. Throws
   * StoreUnavailableError when the file cannot be opened or written.
   */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    const readonly = opts.readonly ?? false;
    const mode: OpenMode = readonly ? "read" : opts.existing ? "write" : "create";
    try {
      if (mode !== "create") refuseMissingOrEmpty(path);
      else if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
      return new SqliteStore(path, mode, opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS, opts);
    } catch (err) {
      const unreadable = mode === "read" ? cannotRead(path, err) : undefined;
      if (unreadable) throw unreadable;
      // mkdir failing (EACCES, EROFS, ENOSPC) is as much "cannot store" as SQLITE_CANTOPEN.
      const fsFault = err instanceof Error && "syscall" in err;
      throw fsFault
        ? new StoreUnavailableError(`sqlite store: open ${path}: ${err.message}`, { cause: err })
        : toStoreError(err, `open ${path}`);
    }
  }

  /** Test hook and a number worth logging: how many group-commit transactions were committed (enqueues; the worker's writes). */
  stats(): { commits: number; workCommits: number } {
    return { commits: this.commits, workCommits: this.workCommits };
  }

  /** The WAL file's size in bytes (for the switchyard_store_wal_bytes gauge); undefined when there is none. */
  walBytes(): number | undefined {
    return this.keeper.walBytes();
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    if (this.closed) throw new StoreUnavailableError("sqlite store: enqueue: the store is closed");
    const { conn, problem, reopening } = this.keeper;
    if (!conn) throw this.keeper.refusal("enqueue") ?? this.closedError("enqueue");
    const failed = conn.walSync?.failed;
    if (failed) throw syncFailure(failed);
    if (problem) throw problemError(problem);
    if (reopening) throw this.keeper.refusal("enqueue") ?? this.closedError("enqueue");
    // Serialized before it joins a batch: a request's own fault (a cycle, a BigInt) fails it alone.
    const { result, seq, walSync } = await this.batcher.submit(toQueued(req));
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
  // Claims and settlements made in one turn share a transaction; neither waits for an fsync of
  // its own, but under ingest both wait for the one in flight (at most MAX_FSYNC_WAIT_MS).
  async leasedBacklog(keys: readonly TargetKey[]): Promise<TargetBacklog[]> {
    return this.guard("leasedBacklog", (c) =>
      keys.flatMap(({ route, target }) => {
        const due = c.stmt.leasedDue.get({ route, target })?.nextDueAt;
        return due === null || due === undefined ? [] : [{ route, target, nextDueAt: due }];
      }),
    );
  }

  async claim(opts: ClaimOptions): Promise<ClaimedDelivery[]> {
    this.refuseWork("claim");
    return (await this.work.submit({ kind: "claim", opts })) ?? [];
  }

  async settle(deliveryId: string, owner: string, s: Settlement, now: number, record?: AttemptRecord): Promise<void> {
    const id = rowId(deliveryId);
    if (id === undefined) return;
    const change =
      s.kind === "retry"
        ? { state: "retrying", dueAt: s.at, error: s.error }
        : s.kind === "dead"
          ? { state: "dead", dueAt: null, error: s.error }
          : { state: s.kind, dueAt: null, error: null };
    this.refuseWork("settle");
    await this.work.submit({ kind: "settle", row: { id, owner, now, ...change }, record });
  }

  /** What guard() refuses, checked before a write joins the turn's batch. */
  private refuseWork(what: string): void {
    if (this.closed) throw this.closedError(what);
    const c = this.keeper.conn;
    if (!c?.db.open) throw this.keeper.refusal(what) ?? this.closedError(what);
  }

  private writeWork(ops: readonly WorkOp[]): ItemResult<ClaimedDelivery[] | undefined>[] {
    return this.guard(ops.length === 1 && ops[0]?.kind === "claim" ? "claim" : "settle", (c) => {
      let results: ItemResult<ClaimedDelivery[] | undefined>[];
      try {
        results = c.tx.workBatchFast.immediate(ops);
      } catch (err) {
        // Rolled back whole: a fault of the store fails the batch, anything else is retried with a savepoint per write.
        if (isUnavailable(err)) throw err;
        results = c.tx.workBatch.immediate(ops);
      }
      this.workCommits++;
      return results;
    });
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
    return rows.map(({ receivedAtMs, ...r }) => ({
      ...r,
      id: String(r.id),
      lastError: r.lastError ?? "",
      receivedAt: new Date(receivedAtMs).toISOString(),
    }));
  }

  async replay(ids: readonly string[] | "all", now: number): Promise<ReplayResult> {
    return this.guard("replay", (c) => this.durably(c, () => c.tx.replay.immediate(ids, now)));
  }

  async events(opts: { route?: string; limit?: number } = {}): Promise<EventSummary[]> {
    return this.guard("events", (c) => c.tx.events.deferred(opts.route, opts.limit ?? DEFAULT_EVENTS_LIMIT));
  }

  async event(id: string): Promise<EventDetail | undefined> {
    return this.guard("event", (c) => c.tx.event.deferred(id));
  }

  async eventPage(q: EventPageQuery): Promise<PagedEvent[]> {
    const [ms, rid] = startOfPage(q);
    const params = {
      route: q.route ?? "",
      since: q.since ?? Number.MIN_SAFE_INTEGER,
      ms,
      rid,
      limit: Math.max(0, Math.floor(q.limit)),
      withDoc: q.withEvent ? 1 : 0,
    };
    return this.guard("eventPage", (c) =>
      c.db
        .transaction(() => {
          const rows = q.route === undefined ? c.stmt.page.all(params) : c.stmt.pageOfRoute.all(params);
          const byEvent = new Map<string, DeliverySummary[]>(rows.map((r) => [r.id, []]));
          for (const d of c.stmt.deliveriesOf.all({ ids: JSON.stringify(rows.map((r) => r.id)) }))
            byEvent.get(d.eventId)?.push(summaryOf(d));
          return rows.map((r): PagedEvent => {
            const page: PagedEvent = {
              id: r.id,
              route: r.route,
              receivedAt: new Date(r.ms).toISOString(),
              receivedAtMs: r.ms,
              cursor: `${r.ms}.${r.rid}`,
              deliveries: byEvent.get(r.id) ?? [],
            };
            if (r.headers !== null && r.body !== null) {
              const { id: eventId, route, ms: receivedAtMs, method, path, query, headers, body } = r;
              page.event = requestOf({ eventId, route, receivedAtMs, method, path, query, headers, body });
            }
            return page;
          });
        })
        .deferred(),
    );
  }

  async targetDepths(): Promise<TargetDepth[]> {
    const byTarget = new Map<string, TargetDepth>();
    for (const { route, target, state, n } of this.guard("targetDepths", (c) => c.stmt.targetDepths.all())) {
      const key = `${route}\u0000${target}`;
      const d = byTarget.get(key) ?? { route, target, pending: 0, retrying: 0, dead: 0 };
      if (state === "pending" || state === "retrying" || state === "dead") d[state] = n;
      byTarget.set(key, d);
    }
    return [...byTarget.values()];
  }

  async redeliver(eventId: string, targets: readonly string[] | "all", now: number): Promise<{ replayed: number; notFound: string[] }> {
    return this.guard("redeliver", (c) => this.durably(c, () => c.tx.redeliver.immediate(eventId, targets, now)));
  }

  async addCounts(rows: readonly CountRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.guard("addCounts", (c) =>
      c.db
        .transaction(() => {
          for (const r of rows) c.stmt.addCount.run(r);
        })
        .immediate(),
    );
  }

  async counts(q: CountQuery): Promise<CountRow[]> {
    const width = Math.max(1, Math.floor(q.bucketMinutes)) * 60_000;
    return this.guard("counts", (c) => c.stmt.counts.all({ since: q.since, width }));
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
    this.guard("prune", (c) => c.stmt.pruneCounts.run({ before: now - COUNTS_KEEP_MS }));
    return deleted;
  }

  async pausedTargets(): Promise<PausedTarget[]> {
    return this.guard("pausedTargets", (c) => c.stmt.pausedTargets.all());
  }

  async pauseTarget(p: PausedTarget): Promise<void> {
    const { route, target, since, error } = p;
    this.guard("pauseTarget", (c) => c.stmt.pauseTarget.run({ route, target, since: Math.floor(since), error }));
  }

  async resumeTarget(key: TargetKey): Promise<boolean> {
    return this.guard("resumeTarget", (c) => c.stmt.resumeTarget.run({ route: key.route, target: key.target }).changes > 0);
  }

  async ping(): Promise<void> {
    this.guard("ping", (c) => {
      c.stmt.ping.get();
      if (this.readonly) throw new StoreUnavailableError("sqlite store: ping: opened read-only");
      if (this.keeper.reopening) throw this.keeper.refusal("ping") ?? this.closedError("ping");
      const problem = this.keeper.checkFiles(c);
      if (problem) throw problem;
    });
    this.probeWrites(Date.now());
  }

  /** Throws the store's fault unless a write committed lately or a probe commits now. */
  private probeWrites(now: number): void {
    const failed = this.keeper.conn?.walSync?.failed;
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
    // The worker's writes of this turn land before the connection goes.
    this.work.flush();
    this.closed = true;
    await this.keeper.close();
  }

  private writeBatch(items: readonly Queued[]): ItemResult<Committed>[] {
    const c = this.keeper.conn;
    if (!c?.db.open) throw (this.closed ? undefined : this.keeper.refusal("enqueue")) ?? this.closedError("enqueue");
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

  private closedError(what: string): StoreUnavailableError {
    return new StoreUnavailableError(`sqlite store: ${what}: the store is closed`);
  }

  /** Remembers a fault of the store for ping(), so /readyz fails as soon as a write did. */
  private noteFault(err: unknown): unknown {
    if (err instanceof StoreUnavailableError && !this.closed) this.fault = err;
    return err;
  }

  /** Runs a synchronous database call, turning faults of the store into StoreUnavailableError. */
  private guard<T>(what: string, fn: (c: SqliteConnection) => T): T {
    const c = this.keeper.conn;
    if (this.closed) throw this.closedError(what);
    // No connection: the keeper is putting it aside (a worker's write now would miss the copy).
    if (!c?.db.open) throw this.keeper.refusal(what) ?? this.closedError(what);
    try {
      return fn(c);
    } catch (err) {
      throw this.noteFault(toStoreError(err, what));
    }
  }
}
