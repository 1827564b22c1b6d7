import type { Logger } from "pino";
import type { Alert } from "../alerts/alert.js";
import type { CompiledConfig, CompiledTarget } from "../config/compile.js";
import type { PausedTarget, Settlement, Store, TargetKey } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { probeDelay } from "./pause-policy.js";

/**
 * The worker's side of `pause_after`: counts each target's failures in a row, pauses a target
 * that reaches its policy, lets one probe delivery through now and then while it is paused,
 * and resumes it on the probe's success. The pause itself lives in the store (shared by
 * instances, kept across restarts); this keeps a copy, read again at most once a second, so a
 * `switchyard target resume` from the CLI or the console is seen on the next pass.
 */

/** How often the store's list of paused targets is read again. */
const REFRESH_EVERY_MS = 1_000;

interface Paused extends PausedTarget {
  failedProbes: number;
  /** When the next probe may start; Infinity while one is in flight. */
  probeAt: number;
  /** The delivery claimed as the probe: only its result moves the probe's backoff. */
  probeId?: string;
}

interface Streak {
  count: number;
  firstAt: number;
}

export interface PausedTargetsDeps {
  store: Store;
  /** The live config: which targets exist, and which may be paused. */
  config: () => CompiledConfig;
  log: Logger;
  metrics: Metrics;
  alerts?: { raise(alert: Alert): void };
}

/** A try of a target: which one says whether it is the paused target's probe. */
type ClaimedDeliveryKey = TargetKey & { id: string };

const keyOf = (k: TargetKey) => `${k.route}\u0000${k.target}`;

export class PausedTargets {
  private readonly paused = new Map<string, Paused>();
  private readonly streaks = new Map<string, Streak>();
  private lastRefresh = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: PausedTargetsDeps) {}

  /**
   * Reads the store's paused targets (at most once a second unless forced) and acts on what
   * changed. Only pauses of targets in the live config count: a pause of a target a reload
   * removed or renamed is left in the store, ignored (a rename back finds it paused again), and
   * the pause of a target whose config now says `pause_after: false` is lifted.
   */
  async refresh(now: number, force = false): Promise<void> {
    if (!force && now - this.lastRefresh < REFRESH_EVERY_MS) return;
    this.lastRefresh = now;
    const stored = await this.deps.store.pausedTargets();
    const config = this.deps.config();
    const live = new Map<string, PausedTarget>();
    for (const p of stored) {
      const target = config.byName.get(p.route)?.targets.find((t) => t.name === p.target);
      if (!target) continue;
      if (!target.pause) {
        // The user turned pausing off for this target: a pause from before would otherwise hold
        // its deliveries until a probe happened to succeed.
        if (await this.deps.store.resumeTarget(p))
          this.deps.log.info(
            { route: p.route, target: p.target, since: new Date(p.since).toISOString() },
            "pause lifted: the target has pause_after: false now; its waiting deliveries go out now",
          );
        continue;
      }
      live.set(keyOf(p), p);
    }
    for (const [key, p] of live) {
      if (this.paused.has(key)) continue;
      // Paused here, by another instance, or found at start: the first probe after `probe`.
      this.paused.set(key, { ...p, failedProbes: 0, probeAt: now + probeDelay(undefined, 0) });
      this.deps.metrics.setPaused(p.route, p.target, true);
    }
    for (const [key, p] of this.paused) {
      if (live.has(key)) continue;
      this.paused.delete(key);
      this.streaks.delete(key);
      this.deps.metrics.setPaused(p.route, p.target, false);
      // Still paused in the store, but no longer in the config (or lifted above): not a resume.
      if (stored.some((s) => keyOf(s) === key)) continue;
      this.deps.log.info({ route: p.route, target: p.target }, "target resumed; its waiting deliveries go out now");
      this.deps.alerts?.raise({
        kind: "target.resumed",
        route: p.route,
        target: p.target,
        key: `target.resumed ${p.route}/${p.target} ${p.since}`,
      });
    }
  }

  /** How many deliveries of the target may be claimed now: `free`, or for a paused one a single probe when due. */
  claimable(key: TargetKey, free: number, now: number): number {
    const p = this.paused.get(keyOf(key));
    if (!p) return free;
    return now >= p.probeAt ? Math.min(1, free) : 0;
  }

  /** When a paused target's next probe is due (undefined for a target not paused). */
  probeAt(key: TargetKey): number | undefined {
    return this.paused.get(keyOf(key))?.probeAt;
  }

  /** A probe was claimed: no other until it is settled. */
  probing(key: TargetKey): void {
    const p = this.paused.get(keyOf(key));
    if (p) p.probeAt = Number.POSITIVE_INFINITY;
  }

  /** The delivery the probe's claim returned. */
  probeClaimed(key: TargetKey, id: string): void {
    const p = this.paused.get(keyOf(key));
    if (p && p.probeAt === Number.POSITIVE_INFINITY) p.probeId = id;
  }

  /**
   * A probe that did not happen (nothing was claimed, or its result could not be recorded): try
   * again now. With an id, only that delivery's miss counts: a delivery that was in flight when
   * the target was paused is no probe.
   */
  probeMissed(key: TargetKey, now: number, id?: string): void {
    const p = this.paused.get(keyOf(key));
    if (!p || p.probeAt !== Number.POSITIVE_INFINITY) return;
    if (id !== undefined && p.probeId !== undefined && p.probeId !== id) return;
    p.probeAt = now;
    p.probeId = undefined;
  }

  /**
   * The settlement a try of a paused target gets: a failed probe waits for the next probe,
   * whatever its attempts, so that nothing is dead-lettered while the target is away.
   */
  adjust(key: ClaimedDeliveryKey, target: CompiledTarget, s: Settlement, now: number): Settlement {
    const p = this.paused.get(keyOf(key));
    if (!p || s.kind === "delivered") return s;
    const isProbe = p.probeId === key.id;
    if (s.kind === "skipped") {
      // The target's filter said no: that told nothing about the target; the next one probes.
      if (isProbe) {
        p.probeAt = now;
        p.probeId = undefined;
      }
      return s;
    }
    if (!isProbe) {
      // A try that was in flight when the target was paused (a target may run many at once):
      // it is no probe, so it neither doubles the probes' wait nor ends the one in flight. It
      // waits for the next probe like the rest of the backlog.
      const at = Number.isFinite(p.probeAt) ? p.probeAt : now + probeDelay(target.pause, p.failedProbes);
      return { kind: "retry", at, error: s.error };
    }
    p.failedProbes++;
    p.probeAt = now + probeDelay(target.pause, p.failedProbes);
    p.probeId = undefined;
    return { kind: "retry", at: p.probeAt, error: s.error };
  }

  /** After a settlement: a success ends a failure streak (and a pause); a failure may start a pause. */
  async settled(key: TargetKey, target: CompiledTarget, s: Settlement, now: number): Promise<void> {
    const k = keyOf(key);
    if (s.kind === "skipped") return;
    if (s.kind === "delivered") {
      this.streaks.delete(k);
      const p = this.paused.get(k);
      if (!p) return;
      // The target answers again. Should the store fail to record the resume (a Redis blip,
      // SQLITE_BUSY), the next probe goes at once and tries again; left at Infinity, the target
      // would never be probed, nor resumed, again.
      p.probeAt = now;
      p.probeId = undefined;
      if (await this.deps.store.resumeTarget(key)) await this.refresh(now, true);
      return;
    }
    const policy = target.pause;
    if (!policy || this.paused.has(k)) return;
    const streak = this.streaks.get(k) ?? { count: 0, firstAt: now };
    streak.count++;
    this.streaks.set(k, streak);
    if (streak.count < policy.failures || now - streak.firstAt < policy.forMs) return;
    this.streaks.delete(k);
    const paused: PausedTarget = { route: key.route, target: key.target, since: now, error: s.error };
    await this.deps.store.pauseTarget(paused);
    this.paused.set(k, { ...paused, failedProbes: 0, probeAt: now + probeDelay(policy, 0) });
    this.deps.metrics.setPaused(key.route, key.target, true);
    this.deps.log.warn(
      { route: key.route, target: key.target, failures: streak.count, error: s.error },
      "target paused: its deliveries wait, and a probe is tried now and then; the first success resumes it (or switchyard target resume)",
    );
    this.deps.alerts?.raise({
      kind: "target.paused",
      route: key.route,
      target: key.target,
      error: s.error,
      key: `target.paused ${key.route}/${key.target} ${now}`,
    });
  }
}
