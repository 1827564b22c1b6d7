import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { StoreUnavailableError } from "../../errors.js";
import { redactUrl } from "./redis-client.js";
import { type RedisDurability, readDurability } from "./redis-durability.js";
import { toStoreError } from "./redis-errors.js";
import type { RedisKeys } from "./redis-keys.js";

/** What the daemon gives the Redis store to watch over its data with. */
export interface RedisGuardOptions {
  url: string;
  log: Logger;
  /** store.allow_volatile: run on a Redis without persistence (warn instead of refusing). */
  allowVolatile: boolean;
  /** Called each time Redis is found to have lost the store's data (a metric counts it). */
  onDataLost?: () => void;
}

/**
 * How often a running daemon looks at Redis's settings and the marker without waiting for a
 * reconnect: CONFIG SET, FLUSHALL and eviction happen on a live connection. Three CONFIG GETs
 * and a GET, so cheap at any rate; short enough that few webhooks get a 202 in between.
 */
export const GUARD_CHECK_MS = 5_000;

/** "appendonly is no: a restart …" → "appendonly is no": the setting, for short lines. */
function settingOf(problem: string): string {
  const end = problem.indexOf(":");
  return end < 0 ? problem : problem.slice(0, end);
}

/**
 * Watches the Redis under a daemon's store: its persistence settings at start (refusing a Redis
 * that would lose the queue on a restart), after every reconnect and every GUARD_CHECK_MS, and
 * the store's marker key, `P:sy:marker`. The first instance to open the store writes it with its
 * creation time and a random id; every instance remembers the value it saw. Finding it gone or
 * changed means Redis lost the data the daemon saw there (a restart without persistence,
 * FLUSHALL, eviction): the events queued in it are lost, and nothing else would say so.
 *
 * Settings that turn unsafe while the daemon runs (CONFIG SET, a Redis restarted with another
 * config) put the store in a volatile state, unless allow_volatile: `refusal()` then answers for
 * enqueue and ping, so webhooks get 503 and /readyz fails instead of a 202 that the next Redis
 * restart would take back, until a check finds the settings safe again.
 */
export class RedisGuard {
  private marker: string | undefined;
  /** The unsafe settings found by the last check that could read them; empty when safe or allowed. */
  private unsafe: readonly string[] = [];
  /** Unsafe settings and warnings as last logged: a periodic check logs only what changed. */
  private reported = "";
  /** Checks run one at a time: a reconnect's check waits for a periodic one, and the reverse. */
  private checks: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

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
    this.report(d, true);
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

  /** Checks after every reconnect of `client` and every GUARD_CHECK_MS until stop(). */
  watch(): void {
    this.client.on("ready", () => {
      this.enqueueCheck(true);
    });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Why the store must not take webhooks now (settings that lose queued events), as the error
   * enqueue and ping fail with; undefined when it may.
   */
  refusal(what: string): StoreUnavailableError | undefined {
    if (this.unsafe.length === 0) return undefined;
    const settings = this.unsafe.map(settingOf).join(", ");
    return new StoreUnavailableError(
      `redis store: ${what}: Redis's settings would lose queued events (${settings}); set appendonly yes and maxmemory-policy noeviction, or store.allow_volatile: true`,
      { condition: `would lose queued events (${settings})` },
    );
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.enqueueCheck(false);
      void this.checks.then(() => this.schedule());
    }, GUARD_CHECK_MS);
    // The daemon's servers keep the process alive; a store being closed must not wait for this.
    this.timer.unref();
  }

  private enqueueCheck(reconnect: boolean): void {
    this.checks = this.checks.then(() =>
      this.check(reconnect).catch((err: Error) => {
        // Redis gone again: the ingress and the worker report that outage; the next reconnect checks.
        if (reconnect) this.opts.log.warn({ store: "redis", err: err.message }, "redis store: could not check Redis after reconnecting");
        else this.opts.log.debug({ store: "redis", err: err.message }, "redis store: periodic check failed");
      }),
    );
  }

  private async check(reconnect: boolean): Promise<void> {
    if (this.stopped) return;
    this.report(await readDurability(this.client), reconnect);
    const seen = this.marker;
    const now = await this.client.get(`${this.keys.sy}marker`).catch((err: unknown) => {
      throw toStoreError(err, "reading the store marker");
    });
    if (now !== null && now === seen) {
      if (reconnect) this.opts.log.info({ store: "redis", marker: now }, "redis store: reconnected; the store's data is still there");
      return;
    }
    const { stamp } = await this.claimMarker();
    this.marker = stamp;
    if (seen === undefined || stamp === seen) return;
    this.opts.onDataLost?.();
    this.opts.log.error(
      { store: "redis", marker: seen, newMarker: stamp },
      "redis store: Redis lost the store's data: the marker written before is gone (a restart without persistence, FLUSHALL or eviction); events and deliveries queued in it are lost",
    );
  }

  /**
   * Takes in what a check read: the volatile state (unless allow_volatile) and its log lines.
   * Entering and leaving the volatile state are logged once each; warnings when they change, and
   * again after a reconnect (Redis may have been restarted with another config).
   */
  private report(d: RedisDurability, again: boolean): void {
    const { log, allowVolatile } = this.opts;
    const signature = [...d.unsafe, ...d.warnings].join("\n");
    const changed = signature !== this.reported;
    this.reported = signature;
    // CONFIG refused (settings undefined): nothing was learnt, the state stays as it was.
    if (!allowVolatile && d.settings) {
      const wasUnsafe = this.unsafe.length > 0;
      this.unsafe = d.unsafe;
      if (d.unsafe.length > 0 && (changed || !wasUnsafe)) {
        log.error(
          { store: "redis" },
          `redis store: Redis's settings now lose queued events: ${d.unsafe.join("; ")}. ` +
            `Answering 503 to webhooks and failing /readyz until appendonly is yes and maxmemory-policy is noeviction again (checked every ${GUARD_CHECK_MS / 1000} s), or set store.allow_volatile: true`,
        );
      } else if (d.unsafe.length === 0 && wasUnsafe) {
        log.info({ store: "redis" }, "redis store: Redis's settings keep queued events again; accepting webhooks");
      }
    }
    if (!changed && !again) return;
    if (allowVolatile) {
      for (const problem of d.unsafe) log.warn({ store: "redis" }, `redis store: ${problem} (allowed by store.allow_volatile)`);
    }
    for (const w of d.warnings) log.warn({ store: "redis" }, `redis store: ${w}`);
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
