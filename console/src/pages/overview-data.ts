import type { Series } from "../RateChart.js";

/** /api/v1/status and /api/v1/routes (README: "Console API"), as the overview draws them. */

export interface ReloadError {
  message: string;
  place?: string;
  line?: number;
}

export interface Status {
  version: string;
  config?: string;
  uptimeSeconds?: number;
  store?: string;
  lastReload: { at: string; ok: boolean; trigger?: string; errors: ReloadError[] } | null;
  queue: { pending: number; retrying: number; dead: number } | string;
}

interface RouteCounts {
  received: number;
  accepted: number;
  refused: number;
  ignored: number;
  duplicate: number;
}

interface RateChart {
  start: string;
  stepSeconds: number;
  series: Record<keyof RouteCounts, number[]>;
}

export interface TargetOverview {
  name: string;
  type: string;
  delivered: number;
  failing: number;
  dead: number;
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  queueDepth: { pending: number; retrying: number };
  lastError: { at: string; error: string } | null;
  /** Relay targets only: age of the oldest event the home has not pulled yet. */
  relayLagSeconds?: number;
  /** Broker targets (mqtt, nats, amqp) only: whether their connection is up. */
  connected?: boolean;
  /** Set while the target is paused (pause_after). */
  paused?: { since: string; error: string } | null;
}

export interface RouteOverview extends RouteCounts {
  name: string;
  path: string;
  /** An alert route's kinds (it has no path). */
  on?: string[];
  verify: string;
  lastHour: RouteCounts;
  rate: { hour: RateChart; day: RateChart };
  targets: TargetOverview[];
}

/** Received requests per step, one line per route, on the time axis of the first route's chart. */
export function receivedSeries(routes: RouteOverview[], window: "hour" | "day"): Series {
  const first = routes[0]?.rate[window];
  if (!first) return { at: [], lines: [] };
  const start = Date.parse(first.start) / 1000;
  return {
    at: first.series.received.map((_, i) => start + i * first.stepSeconds),
    lines: routes.map((r) => ({ label: r.name, values: r.rate[window].series.received })),
  };
}
