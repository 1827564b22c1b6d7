import { createIORedisClient, type IRedisClient, Job, type JobsOptions, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../../errors.js";
import { GroupCommit, type ItemResult } from "../group-commit.js";
import { type EnqueueResult, type Queued, queuedBytes } from "../store.js";
import { toStoreError } from "./redis-errors.js";
import { deliveryId, eventMember, queueName, type RedisKeys } from "./redis-keys.js";
import { ENQUEUE } from "./redis-lua-queue.js";

/** Caps one transaction: large enough to absorb a burst, small enough to keep Redis responsive. */
const MAX_BATCH = 256;
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** A transaction is retried when a watched key changed under it; that many times in a row means something is wrong. */
const MAX_WATCH_RETRIES = 20;

/**
 * Writes enqueues in batches, one transaction at a time on a connection of its own (WATCH is
 * per connection). Requests that arrive while a batch is in flight form the next one: the
 * SQLite store's group commit, paced by Redis's round trips instead of the event loop.
 *
 * Durability and dedupe atomicity. Each batch is optimistic: WATCH the dedupe keys and event
 * keys, read them, then write in one MULTI/EXEC: BullMQ's own addJob for every delivery (the
 * job id is the delivery id) and one script for the request as received, its lists and the dedupe
 * key (SET … PXAT, expiring natively). EXEC applies all of it or, when another instance wrote a
 * watched key meanwhile, none of it (we read again and see the duplicate). So a dedupe key never
 * exists without its event and deliveries: there is no second round trip a crash could cut in
 * two, and Redis logs a MULTI/EXEC to the AOF as one unit (a torn tail is dropped whole on load).
 * The caller's promise resolves only after EXEC answered, i.e. once Redis holds the event.
 */
export class RedisEnqueuer {
  private readonly bull: IRedisClient;
  private readonly batcher = new GroupCommit<Queued, EnqueueResult>((items) => this.writeBatch(items), {
    maxBatch: MAX_BATCH,
    maxBytes: MAX_BATCH_BYTES,
    sizeOf: queuedBytes,
    batchError: (err) => toStoreError(err, "enqueue"),
  });

  constructor(
    private readonly writer: Redis,
    private readonly keys: RedisKeys,
    private readonly queueFor: (route: string, target: string) => Queue,
  ) {
    this.bull = createIORedisClient(writer);
  }

  submit(item: Queued): Promise<EnqueueResult> {
    return this.batcher.submit(item);
  }

  /** Resolves once everything submitted so far has been written (or failed). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async writeBatch(items: readonly Queued[]): Promise<ItemResult<EnqueueResult>[]> {
    for (let attempt = 1; ; attempt++) {
      const results = await this.tryBatch(items);
      if (results) return results;
      if (attempt >= MAX_WATCH_RETRIES) throw new StoreUnavailableError("redis store: enqueue: watched keys kept changing; try again");
    }
  }

  /** One optimistic attempt; undefined when a watched key changed and the batch must be read again. */
  private async tryBatch(items: readonly Queued[]): Promise<ItemResult<EnqueueResult>[] | undefined> {
    const k = this.keys;
    const dedupeKeys = items.map(({ req }) => (req.dedupe ? k.dedupe(req.event.route, req.dedupe.key) : undefined));
    const eventKeys = items.map(({ req }) => k.event(req.event.id));
    const unique = [...new Set(dedupeKeys.filter((key) => key !== undefined))];
    const reserve = items.reduce((n, { req }) => n + 1 + req.targets.length, 0);

    const read = this.writer.pipeline().watch(...unique, ...eventKeys);
    for (const key of unique) read.get(key);
    for (const key of eventKeys) read.exists(key);
    read.incrby(k.seq, reserve);
    const replies = replyValues(await read.exec());

    // Who holds each dedupe key: the stored event, or an earlier request of this batch.
    const holder = new Map<string, string>();
    unique.forEach((key, i) => {
      const id = replies[1 + i];
      if (typeof id === "string") holder.set(key, id);
    });
    const exists = eventKeys.map((_, i) => replies[1 + unique.length + i] === 1);
    let seq = Number(replies.at(-1)) - reserve;
    const now = Date.now();

    const tx = this.bull.multi();
    const adds: Promise<string>[] = [];
    const accepted = new Set<string>();
    const results = items.map(({ req, query, headers, receivedAtMs }, i): ItemResult<EnqueueResult> => {
      const { event, targets, dedupe } = req;
      const dedupeKey = dedupeKeys[i];
      const original = dedupeKey === undefined ? undefined : holder.get(dedupeKey);
      if (original !== undefined) return { ok: true, value: { status: "duplicate", id: original } };
      if (exists[i] || accepted.has(event.id)) {
        return { ok: false, error: new Error(`redis store: enqueue: event ${event.id} is already stored`) };
      }
      accepted.add(event.id);
      const eventSeq = ++seq;
      // An expired key counts as new: none was alive above, and none is written.
      const live = dedupe && dedupeKey !== undefined && dedupe.expiresAt > now ? dedupeKey : undefined;
      if (live !== undefined) holder.set(live, event.id);
      const deliveries = targets.map((target) => ({ id: deliveryId(++seq), queue: queueName(event.route, target), target }));
      for (const d of deliveries) {
        const data = { eventId: event.id, route: event.route, target: d.target };
        const job = new Job(this.queueFor(event.route, d.target), "delivery", data, jobOptions(d.id, now), d.id);
        adds.push(job.addJob(tx));
      }
      tx.runCommand(ENQUEUE.name, [
        k.base,
        k.sy,
        event.id,
        event.route,
        event.receivedAt,
        receivedAtMs,
        event.method,
        event.path,
        query,
        headers,
        event.rawBody,
        eventMember(eventSeq, event.id),
        live ?? "",
        live ? Math.floor(dedupe?.expiresAt ?? 0) : 0,
        now,
        JSON.stringify(deliveries.map((d) => [d.id, d.target])),
        ...deliveries.flatMap((d) => [d.id, d.queue, d.target]),
      ]);
      return { ok: true, value: { status: "accepted", id: event.id } };
    });

    if (accepted.size === 0) {
      await this.writer.unwatch();
      return results;
    }
    await Promise.all(adds); // queued on the transaction; they settle at once
    // A reconnect would drop the WATCH, but it cannot slip in here: from the read's reply to EXEC
    // we are either in microtasks or waiting on this very socket, whose loss fails the EXEC.
    const written = await tx.exec();
    if (written === null) return undefined;
    for (const [err] of written) if (err) throw err;
    return results;
  }
}

/**
 * Attempts and backoff are ours (settle decides retry or dead, with Retry-After), so BullMQ gets
 * one attempt and no backoff; jobs are kept after they finish: the event log and the dead-letter
 * queue read them, and prune() removes them with their event.
 */
function jobOptions(jobId: string, now: number): JobsOptions {
  return { jobId, timestamp: now, attempts: 1, removeOnComplete: false, removeOnFail: false };
}

/** A pipeline's values; the first error fails the whole read. */
function replyValues(replies: [Error | null, unknown][] | null): unknown[] {
  if (replies === null) throw new StoreUnavailableError("redis store: enqueue: the read was aborted");
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
