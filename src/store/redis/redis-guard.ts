import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { StoreUnavailableError } from "../../errors.js";
import { redactUrl } from "./redis-client.js";
import { readDurability } from "./redis-durability.js";
import { toStoreError } from "./redis-errors.js";
import type { RedisKeys } from "./redis-keys.js";

/** What the daemon gives the Redis store to watch over its data with. */
export interface RedisGuardOptions {
  url: string;
  log: Logger;
  /** store.allow_volatile: run on a Redis without persistence (warn instead of refusing to start). */
  allowVolatile: boolean;
  /** Called each time Redis is found to have lost the store's data (a metric counts it). */
  onDataLost?: () => void;
}

/**
 * Watches the Redis under a daemon's store: its persistence settings at start (refusing a Redis
 * that would lose the queue on a restart) and after every reconnect, and the store's marker key,
 * `P:sy:marker`. The first instance to open the store writes it with its creation time and a
 * random id; every instance remembers the value it saw. A reconnect that finds it gone or
 * changed means Redis came back without the data the daemon saw there (a restart without
 * persistence, FLUSHALL, eviction): the events queued in it are lost, and nothing else would say so.
 */
export class RedisGuard {
  private marker: string | undefined;

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly opts: RedisGuardOptions,
  ) {}

  /** At start: refuses (StoreUnavailableError) an unsafe Redis unless allow_volatile, writes or reads the marker. */
  async atStart(): Promise<void> {
    const { log, allowVolatile, url } = this.opts;
    const d = await readDurability(this.client);
    if (d.unsafe.length > 0 && !allowVolatile) {
      throw new StoreUnavailableError(
        `redis store: refusing to start on ${redactUrl(url)}: ${d.unsafe.join("; ")}. ` +
          "Set appendonly yes and maxmemory-policy noeviction in Redis, or store.allow_volatile: true to accept losing queued events",
      );
    }
    for (const problem of d.unsafe) log.warn({ store: "redis" }, `redis store: ${problem} (allowed by store.allow_volatile)`);
    for (const w of d.warnings) log.warn({ store: "redis" }, `redis store: ${w}`);
    const { stamp, created, usedBefore } = await this.claimMarker();
    if (created && usedBefore) {
      log.warn(
        { store: "redis", marker: stamp },
        "redis store: the store's marker key was missing though the store holds data; written anew",
      );
    } else if (created) {
      log.info({ store: "redis", marker: stamp }, "redis store: new store, marker written");
    }
    this.marker = stamp;
  }

  /** After every reconnect of `client`: the settings again, and whether the data survived. */
  watch(): void {
    this.client.on("ready", () => {
      this.afterReconnect().catch((err: Error) => {
        this.opts.log.warn({ store: "redis", err: err.message }, "redis store: could not check Redis after reconnecting");
      });
    });
  }

  private async afterReconnect(): Promise<void> {
    const { log, allowVolatile } = this.opts;
    const d = await readDurability(this.client);
    for (const problem of d.unsafe) {
      if (allowVolatile) log.warn({ store: "redis" }, `redis store: ${problem} (allowed by store.allow_volatile)`);
      else log.error({ store: "redis" }, `redis store: Redis came back with unsafe settings: ${problem}`);
    }
    for (const w of d.warnings) log.warn({ store: "redis" }, `redis store: ${w}`);
    const seen = this.marker;
    const { stamp } = await this.claimMarker();
    this.marker = stamp;
    if (seen !== undefined && stamp !== seen) {
      this.opts.onDataLost?.();
      log.error(
        { store: "redis", marker: seen, newMarker: stamp },
        "redis store: Redis lost the store's data: the marker written before is gone (a restart without persistence, FLUSHALL or eviction); events and deliveries queued in it are lost",
      );
    } else {
      log.info({ store: "redis", marker: stamp }, "redis store: reconnected; the store's data is still there");
    }
  }

  /** SET NX, then read back: every instance ends up with the first writer's value. */
  private async claimMarker(): Promise<{ stamp: string; created: boolean; usedBefore: boolean }> {
    const key = `${this.keys.sy}marker`;
    try {
      const candidate = `${new Date().toISOString()} ${randomUUID()}`;
      const created = (await this.client.set(key, candidate, "NX")) === "OK";
      const stamp = (await this.client.get(key)) ?? candidate;
      // The sequence counter exists once anything was ever enqueued under this prefix.
      const usedBefore = created && (await this.client.exists(this.keys.seq)) === 1;
      return { stamp, created, usedBefore };
    } catch (err) {
      throw toStoreError(err, "reading the store marker");
    }
  }
}
