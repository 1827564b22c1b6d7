import type { CompiledConfig } from "../config/compile.js";
import { relayLags } from "../relay/relay-metrics.js";
import type { CountRow, Store, TargetDepth } from "../store/store.js";
import { LATENCY_BUCKETS_MS } from "./tally.js";

/**
 * `GET /api/v1/routes`: every route with its webhook counts and rate charts, every target with
 * its deliveries, success rate, latency and queue, from the store's per-minute counters (which
 * survive restarts and add up across daemons sharing the store) and its queue.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The day chart's step: 96 points. */
const DAY_STEP_MINUTES = 15;

export const ROUTE_COUNTS = ["received", "accepted", "refused", "ignored", "duplicate"] as const;
type RouteCount = (typeof ROUTE_COUNTS)[number];
type RouteCounts = Record<RouteCount, number>;

/** Store counter names → the overview's: refused is rejected (401) and invalid (400, 413). */
const ROUTE_NAME: Readonly<Record<string, RouteCount[]>> = {
  accepted: ["received", "accepted"],
  rejected: ["received", "refused"],
  invalid: ["received", "refused"],
  ignored: ["received", "ignored"],
  duplicate: ["received", "duplicate"],
};

export interface RateChart {
  /** ISO time of the first point. */
  start: string;
  stepSeconds: number;
  /** One number per step for each count, oldest first. */
  series: Record<RouteCount, number[]>;
}

export interface TargetOverview {
  name: string;
  type: string;
  /** Deliveries that reached the target in the last 24 h. */
  delivered: number;
  /** Deliveries waiting for a retry now. */
  failing: number;
  /** Dead letters now. */
  dead: number;
  /** Of the attempts in the last 24 h, the share that delivered (null when none). */
  successRate: number | null;
  /** Attempt latency over the last 24 h, estimated from buckets as Prometheus does (null when none). */
  latencyMs: { p50: number | null; p95: number | null };
  queueDepth: { pending: number; retrying: number };
  lastError: { at: string; error: string } | null;
  /** Relay targets: age of the oldest event no puller has taken yet (0 when none waits). */
  relayLagSeconds?: number;
  /** Targets that keep a connection (mqtt, nats, amqp): whether it is up now; absent for the others. */
  connected?: boolean;
  /** Set while the target is paused (`pause_after`): since when, and the error that paused it. */
  paused: { since: string; error: string } | null;
}

export interface RouteOverview extends RouteCounts {
  name: string;
  path: string;
  /** An alert route's kinds; its path is "". */
  on?: string[];
  verify: string;
  lastHour: RouteCounts;
  rate: { hour: RateChart; day: RateChart };
  targets: TargetOverview[];
}

function zeroCounts(): RouteCounts {
  return { received: 0, accepted: 0, refused: 0, ignored: 0, duplicate: 0 };
}

function chart(rows: readonly CountRow[], route: string, start: number, stepMinutes: number, points: number): RateChart {
  const series = Object.fromEntries(ROUTE_COUNTS.map((c) => [c, new Array<number>(points).fill(0)])) as Record<RouteCount, number[]>;
  for (const r of rows) {
    if (r.route !== route || r.target !== "") continue;
    const i = Math.floor((r.minute - start) / (stepMinutes * MINUTE));
    if (i < 0 || i >= points) continue;
    for (const c of ROUTE_NAME[r.name] ?? []) series[c][i] = (series[c][i] ?? 0) + r.n;
  }
  return { start: new Date(start).toISOString(), stepSeconds: stepMinutes * 60, series };
}

function totals(c: RateChart): RouteCounts {
  const t = zeroCounts();
  for (const name of ROUTE_COUNTS) t[name] = c.series[name].reduce((a, b) => a + b, 0);
  return t;
}

/** The q-quantile from cumulative bucket counts, linear within the bucket (histogram_quantile). */
export function quantile(q: number, buckets: ReadonlyMap<string, number>): number | null {
  const bounds = [...LATENCY_BUCKETS_MS.map((b) => [String(b), b] as const), ["inf", Number.POSITIVE_INFINITY] as const];
  const total = bounds.reduce((n, [name]) => n + (buckets.get(`ms_le_${name}`) ?? 0), 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  let lower = 0;
  for (const [name, upper] of bounds) {
    const n = buckets.get(`ms_le_${name}`) ?? 0;
    if (seen + n >= rank && n > 0) {
      // The open last bucket has no upper bound: its lower bound is the best estimate.
      if (!Number.isFinite(upper)) return lower;
      return Math.round(lower + ((upper - lower) * (rank - seen)) / n);
    }
    seen += n;
    if (Number.isFinite(upper)) lower = upper;
  }
  return lower;
}

export interface OverviewInputs {
  config: CompiledConfig;
  store: Store;
  now: number;
  /** The newest error the worker saw per `route\0target` (this process, since it started). */
  lastErrors: ReadonlyMap<string, { at: number; error: string }>;
}

export async function routesOverview({ config, store, now, lastErrors }: OverviewInputs): Promise<RouteOverview[]> {
  const hourStart = Math.floor((now - HOUR) / MINUTE) * MINUTE + MINUTE;
  const dayStep = DAY_STEP_MINUTES * MINUTE;
  const dayStart = Math.floor((now - DAY) / dayStep) * dayStep + dayStep;
  const [perMinute, perStep, depths, dead, lags, paused] = await Promise.all([
    store.counts({ since: hourStart, bucketMinutes: 1 }),
    store.counts({ since: dayStart, bucketMinutes: DAY_STEP_MINUTES }),
    store.targetDepths(),
    store.deadLetters({ limit: 200 }),
    relayLags(store, config),
    store.pausedTargets(),
  ]);
  const lagOf = new Map(lags.map((l) => [`${l.route}\u0000${l.target}`, l.seconds]));
  const pausedOf = new Map(paused.map((p) => [`${p.route}\u0000${p.target}`, p]));
  const depthOf = new Map<string, TargetDepth>(depths.map((d) => [`${d.route}\u0000${d.target}`, d]));
  const deadError = new Map<string, { at: number; error: string }>();
  for (const d of dead) {
    const key = `${d.route}\u0000${d.target}`;
    if (!deadError.has(key)) deadError.set(key, { at: d.failedAt, error: d.lastError });
  }
  // Per target, the day's counters by name.
  const dayByTarget = new Map<string, Map<string, number>>();
  for (const r of perStep) {
    if (r.target === "") continue;
    const key = `${r.route}\u0000${r.target}`;
    const m = dayByTarget.get(key) ?? new Map<string, number>();
    m.set(r.name, (m.get(r.name) ?? 0) + r.n);
    dayByTarget.set(key, m);
  }
  return config.routes.map((route) => {
    const hour = chart(perMinute, route.name, hourStart, 1, 60);
    const day = chart(perStep, route.name, dayStart, DAY_STEP_MINUTES, (24 * 60) / DAY_STEP_MINUTES);
    const targets = route.targets.map((t): TargetOverview => {
      const key = `${route.name}\u0000${t.name}`;
      const c = dayByTarget.get(key) ?? new Map<string, number>();
      const delivered = c.get("delivered") ?? 0;
      const tries = delivered + (c.get("retry") ?? 0) + (c.get("dead") ?? 0);
      const depth = depthOf.get(key);
      const live = lastErrors.get(key);
      const stored = deadError.get(key);
      const last = live && (!stored || live.at >= stored.at) ? live : stored;
      const pause = pausedOf.get(key);
      return {
        name: t.name,
        type: t.type,
        delivered,
        failing: depth?.retrying ?? 0,
        dead: depth?.dead ?? 0,
        successRate: tries === 0 ? null : delivered / tries,
        latencyMs: { p50: quantile(0.5, c), p95: quantile(0.95, c) },
        queueDepth: { pending: depth?.pending ?? 0, retrying: depth?.retrying ?? 0 },
        lastError: last ? { at: new Date(last.at).toISOString(), error: last.error } : null,
        ...(t.target.pulled ? { relayLagSeconds: lagOf.get(key) ?? 0 } : {}),
        ...(t.target.connected ? { connected: t.target.connected() } : {}),
        paused: pause ? { since: new Date(pause.since).toISOString(), error: pause.error } : null,
      };
    });
    return {
      name: route.name,
      path: route.path,
      ...(route.on ? { on: [...route.on] } : {}),
      verify: route.verifyType,
      ...totals(day),
      lastHour: totals(hour),
      rate: { hour, day },
      targets,
    };
  });
}
