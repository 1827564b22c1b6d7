import type { Logger } from "pino";
import type { CompiledConfig, CompiledRoute } from "../config/compile.js";
import { StoreUnavailableError } from "../errors.js";
import type { ReceivedEvent } from "../pipeline/event.js";
import { isTruthy } from "../pipeline/expression.js";
import type { EnqueueRequest, Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { type Alert, alertBody, alertEvent, subjectOf } from "./alert.js";

/**
 * Raises the daemon's own events on the routes that listen for them (`on: [kinds]`). Each
 * becomes a stored event of that route, through the same `enqueue` as a webhook: durable,
 * deduplicated, filtered, transformed and retried like one.
 *
 * - No loops: an alert about a target of an alert route (its dead letters, its pause) is sent
 *   through no alert route at all, only logged: its own target being down would otherwise feed
 *   it alerts about itself without end, and two alert routes down at once would feed each other.
 * - Grouping: per route, kind and target, the first alert goes at once; the ones within the
 *   route's `group` window after it are counted, and one summary at the window's end says how
 *   many. A dead target sends one message per window, not one per dead letter.
 * - A store that is down cannot take the alert saying so: alerts that find it down wait in a
 *   small bounded queue in memory and are stored when it is back (lost if the daemon stops first).
 */

/** How long an alert's own key (Alert.key) is remembered, for instances that each see the happening. */
const ALERT_KEY_TTL_MS = 24 * 60 * 60_000;

/** Alerts held while the store is down; beyond it the oldest are dropped (and counted in the log). */
export const HELD_ALERTS_MAX = 100;

interface Group {
  route: string;
  /** Alerts seen since the last message, not sent. */
  count: number;
  since: number;
  last: Alert;
  timer: NodeJS.Timeout;
}

export interface AlerterDeps {
  store: Store;
  log: Logger;
  metrics?: Metrics;
  config: () => CompiledConfig;
  /** Hands a stored alert to the worker, as the ingress does with a webhook. */
  accepted: (event: ReceivedEvent, targets: number) => void;
  now?: () => number;
}

export class Alerter {
  private readonly groups = new Map<string, Group>();
  private readonly held: EnqueueRequest[] = [];
  private dropped = 0;
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Enqueues in flight, so that a stop can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: AlerterDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Raises an alert on every route that listens for its kind (never on the route it is about). */
  raise(alert: Alert): void {
    if (this.closed) return;
    const config = this.deps.config();
    // Alerts do not raise alerts: an outage that takes down the targets of two alert routes
    // would otherwise make each dead letter of one an alert on the other, and back, multiplying.
    // The failure itself is in the log, the metrics and the dead-letter queue all the same.
    if (alert.route !== undefined && config.byName.get(alert.route)?.on !== undefined) {
      this.deps.log.info(
        { kind: alert.kind, route: alert.route, target: alert.target, eventId: alert.eventId, error: alert.error },
        "no alert raised: it is about an alert route's own delivery",
      );
      return;
    }
    for (const route of config.routes) {
      if (!route.on?.includes(alert.kind)) continue;
      this.offer(route, alert);
    }
  }

  private offer(route: CompiledRoute, alert: Alert): void {
    const now = this.now();
    const windowMs = route.groupMs ?? 0;
    if (windowMs <= 0) {
      this.send(route, alert, 1, now);
      return;
    }
    const key = `${route.name}\u0000${alert.kind}\u0000${subjectOf(alert)}`;
    const group = this.groups.get(key);
    if (group) {
      group.count++;
      group.last = alert;
      return;
    }
    this.send(route, alert, 1, now);
    this.openWindow(key, route.name, alert, windowMs);
  }

  /** At the window's end: one summary of what was held back, and a new window, or nothing and no window. */
  private openWindow(key: string, routeName: string, alert: Alert, windowMs: number): void {
    const timer = setTimeout(() => {
      const g = this.groups.get(key);
      this.groups.delete(key);
      if (!g || g.count === 0 || this.closed) return;
      const route = this.deps.config().byName.get(routeName);
      if (!route?.on?.includes(g.last.kind)) return;
      this.send(route, g.last, g.count, g.since);
      this.openWindow(key, routeName, g.last, route.groupMs ?? windowMs);
    }, windowMs);
    timer.unref();
    this.groups.set(key, { route: routeName, count: 0, since: this.now(), last: alert, timer });
  }

  private send(route: CompiledRoute, alert: Alert, grouped: number, since: number): void {
    const now = this.now();
    const body = alertBody(alert, grouped, since, now, this.deps.config().server.publicUrl);
    const event = alertEvent(route.name, body, now);
    const run = this.store(route, event, alert.key).finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  private async store(route: CompiledRoute, event: ReceivedEvent, alertKey: string | undefined): Promise<void> {
    const { log, metrics } = this.deps;
    try {
      if (route.filter && !isTruthy(await route.filter.evaluate(event))) {
        metrics?.eventsReceived.inc({ route: route.name, outcome: "ignored" });
        return;
      }
      const key = route.dedupe?.id ? await route.dedupe.id.evaluate(event) : alertKey;
      const ttlMs = route.dedupe?.ttlMs ?? ALERT_KEY_TTL_MS;
      const dedupe =
        key !== undefined && key !== null && key !== ""
          ? { key: typeof key === "string" ? key : JSON.stringify(key), expiresAt: this.now() + ttlMs }
          : undefined;
      await this.enqueue({ event, targets: route.targetNames, ...(dedupe ? { dedupe } : {}) });
    } catch (err) {
      log.error({ route: route.name, kind: event.path, err: (err as Error).message }, "alert not raised");
    }
  }

  private async enqueue(req: EnqueueRequest): Promise<void> {
    try {
      await this.record(req);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.hold(req);
      return;
    }
    // The store took this one: what waited for it goes now.
    if (this.held.length > 0) await this.flush();
  }

  /** Stores one alert, and says so in the log and the metrics, whether raised now or held until the store was back. */
  private async record(req: EnqueueRequest): Promise<void> {
    const { store, log, metrics } = this.deps;
    const result = await store.enqueue(req);
    metrics?.eventsReceived.inc({ route: req.event.route, outcome: result.status === "accepted" ? "accepted" : "duplicate" });
    if (result.status === "accepted") {
      log.info({ route: req.event.route, eventId: req.event.id, kind: req.event.path }, "alert raised");
      this.deps.accepted(req.event, req.targets.length);
    }
  }

  private hold(req: EnqueueRequest): void {
    this.held.push(req);
    if (this.held.length > HELD_ALERTS_MAX) {
      this.held.shift();
      this.dropped++;
    }
  }

  /**
   * Stores the alerts held while the store was down, oldest first; stops when the store is down
   * again. Never rejects: it runs from the store's recovery, where nobody could handle an error.
   */
  flush(): Promise<void> {
    // One flush at a time: two would both store the oldest held alert.
    this.flushing ??= this.flushHeld().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushHeld(): Promise<void> {
    while (this.held.length > 0 && !this.closed) {
      const req = this.held[0] as EnqueueRequest;
      try {
        await this.record(req);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return;
        // Any other refusal would refuse again: at the head of the queue it would keep every
        // later alert waiting for good. One example: Redis stored the alert but its reply was
        // lost, so it was held, and now it is "already stored".
        this.deps.log.error(
          { route: req.event.route, kind: req.event.path, eventId: req.event.id, err: (err as Error).message },
          "held alert dropped: the store refused it",
        );
      }
      this.held.shift();
    }
    if (this.dropped > 0) {
      this.deps.log.warn(
        { dropped: this.dropped, kept: HELD_ALERTS_MAX },
        "alerts raised while the store was down were dropped: only the newest are kept",
      );
      this.dropped = 0;
    }
  }

  /**
   * Stops grouping timers, storing the summaries they held (the alerts they stand for would
   * otherwise be lost with the windows), and waits for the alerts being stored (before the store
   * closes; the next start delivers them).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) {
      clearTimeout(g.timer);
      if (g.count === 0) continue;
      const route = this.deps.config().byName.get(g.route);
      if (route?.on?.includes(g.last.kind)) this.send(route, g.last, g.count, g.since);
    }
    this.groups.clear();
    await Promise.allSettled([...this.pending]);
    if (this.held.length > 0) this.deps.log.warn({ lost: this.held.length }, "alerts raised while the store was down are lost at shutdown");
  }
}
