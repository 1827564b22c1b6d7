import type { Redis } from "ioredis";
import type { StoreSettings } from "../../config/compile.js";
import { StoreUnavailableError, UserError } from "../../errors.js";
import {
  ATTEMPT_LOG_LIMIT,
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimOptions,
  COUNTS_KEEP_MS,
  type CountQuery,
  type CountRow,
  DEFAULT_EVENTS_LIMIT,
  type DeadLetter,
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
import { closeClient, connectClient, runScript } from "./redis-client.js";
import { RedisEnqueuer } from "./redis-enqueue.js";
import { toStoreError } from "./redis-errors.js";
import { RedisGuard, type RedisGuardOptions } from "./redis-guard.js";
import { isDeliveryId, queueName, RedisKeys } from "./redis-keys.js";
import { CLAIM, RECLAIM, RELEASE, SETTLE } from "./redis-lua-lease.js";
import type { LuaScript } from "./redis-lua-prelude.js";
import {
  BACKLOG,
  COUNTS,
  DEAD_LETTERS,
  DEPTH,
  EVENT,
  EVENT_PAGE,
  EVENTS,
  LEASED_BACKLOG,
  PRUNE,
  REDELIVER,
  REPLAY,
  TARGET_DEPTHS,
} from "./redis-lua-queue.js";
import { RedisQueues } from "./redis-queues.js";
import {
  list,
  num,
  readDeadLetters,
  readEvent,
  readEventPage,
  readEvents,
  readReplay,
  readRequest,
  routeTarget,
  text,
} from "./redis-read.js";

export type RedisStoreSettings = Pick<Extract<StoreSettings, { type: "redis" }>, "url" | "prefix">;
/** A daemon's watch over the data (see redis-guard.ts); the CLI's short-lived verbs open without one. */
export type RedisWatch = Omit<RedisGuardOptions, "url">;

/** Events per prune script: short enough that ingress never waits long behind it. */
const PRUNE_BATCH = 200;

/**
 * The Store on Redis, for several instances sharing one: each delivery is a BullMQ job in the
 * queue of its route+target (job id = delivery id), written by BullMQ's own addJob; claims,
 * settles and the rest are Lua scripts that move those jobs between BullMQ's lists exactly as
 * BullMQ's scripts do, by the caller's clock (see redis-lua-lease.ts for why). The event
 * documents, dedupe keys and the lease index live beside the queues (see redis-keys.ts).
 *
 * Two connections: `writer` runs enqueue's WATCH/MULTI transactions (WATCH is per connection)
 * and carries BullMQ's Queue objects; `main` runs everything else, so claims never queue
 * behind a large ingress batch.
 */
export class RedisStore implements Store {
  private readonly enqueuer: RedisEnqueuer;
  private closed = false;

  private constructor(
    private readonly main: Redis,
    private readonly writer: Redis,
    private readonly keys: RedisKeys,
    private readonly queues: RedisQueues,
    /** The daemon's watch over Redis's settings and data; the CLI's verbs open without one. */
    private readonly guard: RedisGuard | undefined,
  ) {
    this.enqueuer = new RedisEnqueuer(writer, keys, (route, target) => queues.queue(route, target));
  }

  /**
   * Connects to `settings.url`; StoreUnavailableError when Redis cannot be reached, or, with a
   * `watch`, when its settings would lose the queue on a restart (unless allowVolatile). With a
   * watch, settings that turn unsafe later make enqueue and ping fail until they are safe again.
   */
  static async open(settings: RedisStoreSettings, watch?: RedisWatch): Promise<RedisStore> {
    const main = await connectClient(settings.url, "switchyard");
    let writer: Redis | undefined;
    const guard = watch && new RedisGuard(main, new RedisKeys(settings.prefix), { ...watch, url: settings.url });
    try {
      await guard?.atStart();
      writer = await connectClient(settings.url, "switchyard-writer");
      const queues = await RedisQueues.open(writer, settings.prefix);
      guard?.watch();
      return new RedisStore(main, writer, new RedisKeys(settings.prefix), queues, guard);
    } catch (err) {
      await closeClient(main);
      if (writer) await closeClient(writer);
      throw toStoreError(err, "open");
    }
  }

  enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    if (this.closed) return Promise.reject(new StoreUnavailableError("redis store: enqueue: the store is closed"));
    // Redis's settings turned unsafe: a 202 now would be taken back by its next restart.
    const refusal = this.guard?.refusal("enqueue");
    if (refusal) return Promise.reject(refusal);
    let item: Queued;
    try {
      item = toQueued(req);
    } catch (err) {
      return Promise.reject(err); // this request's own fault (a cycle, a BigInt); the batch never sees it
    }
    return this.enqueuer.submit(item);
  }

  async backlog(): Promise<TargetBacklog[]> {
    const rows = list(await this.run(BACKLOG, [], "backlog"), "backlog").map((row) => {
      const [names, due] = list(row, "backlog");
      return { ...routeTarget(names, "backlog"), nextDueAt: num(due, "backlog") };
    });
    return rows.sort((a, b) => a.route.localeCompare(b.route) || a.target.localeCompare(b.target));
  }

  async leasedBacklog(keys: readonly TargetKey[]): Promise<TargetBacklog[]> {
    if (keys.length === 0) return [];
    const byQueue = new Map(keys.map((k) => [queueName(k.route, k.target), k]));
    const rows = list(await this.run(LEASED_BACKLOG, [...byQueue.keys()], "leasedBacklog"), "leasedBacklog");
    return rows.flatMap((row) => {
      const [queue, due] = list(row, "leasedBacklog");
      const key = byQueue.get(String(queue));
      return key ? [{ route: key.route, target: key.target, nextDueAt: num(due, "leasedBacklog") }] : [];
    });
  }

  async claim(opts: ClaimOptions): Promise<ClaimedDelivery[]> {
    const limit = Math.floor(opts.limit);
    if (limit < 1) return [];
    const queue = queueName(opts.route, opts.target);
    // Without it (an older caller), only the worker's own per-process limit applies.
    const cap = opts.concurrency === undefined ? undefined : Math.max(1, Math.floor(opts.concurrency));
    if (cap !== undefined) {
      if (this.closed) throw new StoreUnavailableError("redis store: claim: the store is closed");
      await this.queues.setGlobalConcurrency(opts.route, opts.target, cap);
    }
    const now = Math.floor(opts.now);
    const leaseMs = Math.max(1, Math.ceil(opts.leaseMs));
    const args = [queue, now, limit, leaseMs, opts.owner, opts.coalesce ? 1 : 0, cap ?? ""];
    const [count, ...rows] = list(await this.run(CLAIM, args, "claim", true), "claim");
    const coalesced = num(count, "claim");
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const [id, eventId, attempt, request] = list(row, "claim");
      const delivery = text(id, "claim");
      const eventKey = text(eventId, "claim");
      // An event the worker still holds (accepted moments ago) is not read again.
      const event = request === null ? undefined : (opts.known?.(eventKey) ?? readRequest(eventKey, request, "claim"));
      if (event === undefined) {
        // Cannot happen (an event is written with its jobs, and pruned only after they finish);
        // if it does, dead-letter the job rather than hand out a delivery without its event.
        await this.settle(delivery, opts.owner, { kind: "dead", error: "the event document is missing from Redis" }, now);
        continue;
      }
      claimed.push({
        id: delivery,
        eventId: eventKey,
        route: opts.route,
        target: opts.target,
        attempt: num(attempt, "claim"),
        event,
        coalesced,
      });
    }
    return claimed;
  }

  async settle(deliveryId: string, owner: string, s: Settlement, now: number, record?: AttemptRecord): Promise<void> {
    if (!isDeliveryId(deliveryId)) return;
    const [at, note] =
      s.kind === "retry" ? [s.at, s.error] : s.kind === "dead" ? [0, s.error] : [0, s.kind === "delivered" ? (s.detail ?? s.kind) : s.kind];
    const args = [
      deliveryId,
      owner,
      s.kind,
      Math.floor(now),
      Math.floor(at),
      note,
      record ? JSON.stringify(record) : "",
      ATTEMPT_LOG_LIMIT,
    ];
    await this.run(SETTLE, args, "settle");
  }

  /** Leases given back keep their attempt: a delivery cut off by shutdown may have reached its target. */
  async release(owner: string): Promise<number> {
    return num(await this.run(RELEASE, [owner, Date.now()], "release"), "release");
  }

  // No leaseOwners(): across hosts, host/pid is not a safe identity (two containers sharing
  // the host's name and pid 1 would give back each other's live leases); leases expire instead.

  async reclaimExpired(now: number): Promise<number> {
    return num(await this.run(RECLAIM, [Math.floor(now)], "reclaimExpired"), "reclaimExpired");
  }

  async deadLetters(opts: { route?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = opts.limit === undefined ? -1 : Math.floor(opts.limit);
    return readDeadLetters(await this.run(DEAD_LETTERS, [opts.route ?? "", limit], "deadLetters"));
  }

  async replay(ids: readonly string[] | "all", now: number): Promise<ReplayResult> {
    const args = ids === "all" ? ["all"] : ["ids", ...new Set(ids)];
    if (args.length === 1 && ids !== "all") return { replayed: 0, notFound: [] };
    return readReplay(await this.run(REPLAY, [Math.floor(now), ...args], "replay"));
  }

  async event(id: string): Promise<EventDetail | undefined> {
    return readEvent(id, await this.run(EVENT, [id], "event", true));
  }

  async events(opts: { route?: string; limit?: number } = {}): Promise<EventSummary[]> {
    const limit = Math.floor(opts.limit ?? DEFAULT_EVENTS_LIMIT);
    return readEvents(await this.run(EVENTS, [opts.route ?? "", limit], "events"));
  }

  async eventPage(q: EventPageQuery): Promise<PagedEvent[]> {
    const limit = Math.max(0, Math.floor(q.limit));
    if (limit === 0) return [];
    // The page starts at the cursor, or at the end of the time range when that is older.
    let max = q.until === undefined ? "+inf" : `(${Math.floor(q.until)}`;
    let after = "";
    if (q.before !== undefined) {
      const m = /^(\d{1,16})\.(\d{16}:.+)$/.exec(q.before);
      if (!m?.[1] || !m[2]) throw new UserError("before: not a cursor this store gave (use an answer's next)");
      const ms = Number(m[1]);
      if (q.until === undefined || ms < q.until) {
        max = m[1];
        after = m[2];
      }
    }
    const min = q.since === undefined ? "-inf" : String(Math.floor(q.since));
    return readEventPage(
      await this.run(EVENT_PAGE, [q.route ?? "", max, after, min, limit, q.withEvent ? 1 : 0], "eventPage", q.withEvent === true),
    );
  }

  async targetDepths(): Promise<TargetDepth[]> {
    return list(await this.run(TARGET_DEPTHS, [], "targetDepths"), "targetDepths").map((row) => {
      const [names, pending, retrying, dead] = list(row, "targetDepths");
      return {
        ...routeTarget(names, "targetDepths"),
        pending: num(pending, "targetDepths"),
        retrying: num(retrying, "targetDepths"),
        dead: num(dead, "targetDepths"),
      };
    });
  }

  async redeliver(eventId: string, targets: readonly string[] | "all", now: number): Promise<{ replayed: number; notFound: string[] }> {
    const args = targets === "all" ? ["all"] : [...new Set(targets)];
    if (args.length === 0) return { replayed: 0, notFound: [] };
    return readReplay(await this.run(REDELIVER, [Math.floor(now), eventId, ...args], "redeliver"));
  }

  /** HINCRBY per counter on the minute's hash, which expires by itself after COUNTS_KEEP_MS. */
  async addCounts(rows: readonly CountRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.closed) throw new StoreUnavailableError("redis store: addCounts: the store is closed");
    const tx = this.main.multi();
    const minutes = new Set<number>();
    for (const r of rows) {
      tx.hincrby(`${this.keys.sy}counts:${r.minute}`, JSON.stringify([r.route, r.target, r.name]), r.n);
      minutes.add(r.minute);
    }
    for (const minute of minutes) tx.pexpireat(`${this.keys.sy}counts:${minute}`, minute + COUNTS_KEEP_MS);
    try {
      const replies = await tx.exec();
      for (const [err] of replies ?? []) if (err) throw err;
    } catch (err) {
      throw toStoreError(err, "addCounts");
    }
  }

  async counts(q: CountQuery): Promise<CountRow[]> {
    const width = Math.max(1, Math.floor(q.bucketMinutes)) * 60_000;
    // Nothing older is kept, and the script walks minute by minute.
    const since = Math.floor(Math.max(q.since, Date.now() - COUNTS_KEEP_MS) / 60_000) * 60_000;
    return list(await this.run(COUNTS, [since, Date.now(), width], "counts"), "counts").map((row) => {
      const [bucket, field, n] = list(row, "counts");
      const [route, target, name] = list(JSON.parse(text(field, "counts")), "counts").map((v) => text(v, "counts"));
      return { minute: num(bucket, "counts"), route: route ?? "", target: target ?? "", name: name ?? "", n: num(n, "counts") };
    });
  }

  async depth(): Promise<QueueDepth> {
    const [pending, retrying, dead] = list(await this.run(DEPTH, [], "depth"), "depth").map((n) => num(n, "depth"));
    return { pending: pending ?? 0, retrying: retrying ?? 0, dead: dead ?? 0 };
  }

  /**
   * Walks old events in short scripts, so ingress interleaves. Dedupe keys need nothing: Redis
   * expires them itself (`now` is kept for the interface).
   */
  async prune(before: number, _now: number): Promise<number> {
    let deleted = 0;
    let offset = 0;
    for (;;) {
      const reply = list(await this.run(PRUNE, [Math.floor(before), offset, PRUNE_BATCH], "prune"), "prune");
      const [gone, kept, scanned] = reply.map((n) => num(n, "prune"));
      deleted += gone ?? 0;
      offset += kept ?? 0;
      if ((scanned ?? 0) < PRUNE_BATCH) return deleted;
    }
  }

  async pausedTargets(): Promise<PausedTarget[]> {
    if (this.closed) throw new StoreUnavailableError("redis store: pausedTargets: the store is closed");
    let all: Record<string, string>;
    try {
      all = await this.main.hgetall(this.keys.paused);
    } catch (err) {
      throw toStoreError(err, "pausedTargets");
    }
    return Object.entries(all).flatMap(([field, value]) => {
      const [route, target] = JSON.parse(field) as [string, string];
      const { since, error } = JSON.parse(value) as { since: number; error: string };
      return [{ route, target, since, error }];
    });
  }

  async pauseTarget(p: PausedTarget): Promise<void> {
    if (this.closed) throw new StoreUnavailableError("redis store: pauseTarget: the store is closed");
    try {
      // HSETNX: a target already paused (by another instance) keeps its first time and error.
      await this.writer.hsetnx(
        this.keys.paused,
        JSON.stringify([p.route, p.target]),
        JSON.stringify({ since: Math.floor(p.since), error: p.error }),
      );
    } catch (err) {
      throw toStoreError(err, "pauseTarget");
    }
  }

  async resumeTarget(key: TargetKey): Promise<boolean> {
    if (this.closed) throw new StoreUnavailableError("redis store: resumeTarget: the store is closed");
    try {
      return (await this.writer.hdel(this.keys.paused, JSON.stringify([key.route, key.target]))) > 0;
    } catch (err) {
      throw toStoreError(err, "resumeTarget");
    }
  }

  /** A write, not just PING: a Redis that refuses writes (MISCONF, OOM, a replica) is not ready either. */
  async ping(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError("redis store: ping: the store is closed");
    const refusal = this.guard?.refusal("ping");
    if (refusal) throw refusal;
    try {
      await this.main.ping();
      await this.writer.set(this.keys.ping, String(Date.now()), "PX", 60_000);
    } catch (err) {
      throw toStoreError(err, "ping");
    }
  }

  /** Writes what is waiting for the next transaction, then closes. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.guard?.stop();
    await this.enqueuer.drain();
    await this.queues.close();
    await Promise.all([closeClient(this.main), closeClient(this.writer)]);
  }

  private async run(script: LuaScript, args: readonly (string | number)[], what: string, buffers = false): Promise<unknown> {
    if (this.closed) throw new StoreUnavailableError(`redis store: ${what}: the store is closed`);
    return runScript(this.main, this.keys, script, args, what, buffers);
  }
}
