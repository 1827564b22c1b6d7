import { Queue, RedisConnection } from "bullmq";
import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../../errors.js";
import { toStoreError } from "./redis-errors.js";
import { queueName } from "./redis-keys.js";

/** How long close() waits for BullMQ's queue objects before dropping them. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * BullMQ's side of the store: one Queue object per route+target (made on first use) on the
 * writer connection, and BullMQ's connection wrapper that loads BullMQ's scripts (addJob) onto
 * it. The jobs themselves are written by enqueue's transaction and moved by our scripts.
 */
export class RedisQueues {
  private readonly queues = new Map<string, Queue>();
  /** The global concurrency this process last gave each queue, so it is written only when it changes. */
  private readonly concurrency = new Map<string, number>();

  private constructor(
    private readonly writer: Redis,
    private readonly prefix: string,
    private readonly connection: RedisConnection,
  ) {}

  /** Loads BullMQ's scripts onto `writer` (which must be connected). */
  static async open(writer: Redis, prefix: string): Promise<RedisQueues> {
    const connection = new RedisConnection(writer, { shared: true, blocking: false, skipVersionCheck: true });
    connection.on("error", () => undefined);
    await connection.client;
    return new RedisQueues(writer, prefix, connection);
  }

  queue(route: string, target: string): Queue {
    const name = queueName(route, target);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.writer, prefix: this.prefix, skipVersionCheck: true });
      // Connection errors reach the callers of the store's own calls; a Queue must not throw them at the process.
      queue.on("error", () => undefined);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Per-target concurrency across every instance is BullMQ's global concurrency on the target's
   * queue (`Queue.setGlobalConcurrency`; the claim script caps the active list at it, as BullMQ's
   * moveToActive does). Written when it changes, e.g. after a reload.
   */
  async setGlobalConcurrency(route: string, target: string, concurrency: number): Promise<void> {
    const name = queueName(route, target);
    if (this.concurrency.get(name) === concurrency) return;
    // A Queue made while disconnected would wait for Redis instead of failing now.
    if (this.writer.status !== "ready") throw new StoreUnavailableError("redis store: claim: Redis is not connected");
    try {
      await this.queue(route, target).setGlobalConcurrency(concurrency);
    } catch (err) {
      // A Queue whose connection setup failed stays failed: make a new one next time.
      void this.queues
        .get(name)
        ?.close()
        .catch(() => undefined);
      this.queues.delete(name);
      throw toStoreError(err, "claim");
    }
    this.concurrency.set(name, concurrency);
  }

  async close(): Promise<void> {
    const closing = [...this.queues.values()].map((q) => q.close().catch(() => undefined));
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    await this.connection.close().catch(() => undefined);
  }
}
