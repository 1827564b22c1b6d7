import type { Series } from "../RateChart.js";
import { listIn } from "../types.js";

/** /api/v1/status and /api/v1/routes, read into what the overview draws. */

export interface Status {
  version?: string;
  config?: string;
  uptimeSeconds?: number;
  reload?: { ok: boolean; at?: string | number; error?: string };
  queue?: { pending: number; retrying: number; dead: number };
}

export interface OverviewTarget {
  name: string;
  delivered?: number;
  failing?: number;
  dead?: number;
  successRate?: number;
  p50Ms?: number;
  p95Ms?: number;
  queued?: number;
  lastError?: string;
}

export interface OverviewRoute {
  name: string;
  path?: string;
  counts: { received?: number; accepted?: number; refused?: number; ignored?: number; duplicate?: number };
  targets: OverviewTarget[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export function readStatus(answer: unknown): Status {
  const a = obj(answer);
  const reload = obj(a.reload ?? a.lastReload);
  const queue = obj(a.queue);
  const ok = reload.ok ?? reload.successful ?? reload.success;
  const startedAt = s(a.startedAt);
  return {
    version: s(a.version),
    config: s(a.config) ?? s(obj(a.config).file),
    uptimeSeconds: n(a.uptimeSeconds) ?? n(a.uptime) ?? (startedAt ? (Date.now() - Date.parse(startedAt)) / 1000 : undefined),
    reload: typeof ok === "boolean" ? { ok, at: s(reload.at) ?? n(reload.at), error: s(reload.error) } : undefined,
    queue:
      typeof queue.pending === "number"
        ? { pending: queue.pending, retrying: n(queue.retrying) ?? 0, dead: n(queue.dead) ?? 0 }
        : undefined,
  };
}

export function readRoutes(answer: unknown): { routes: OverviewRoute[]; hour: Series; day: Series; window: string } {
  const raw = listIn<Obj>(answer, "routes");
  const routes = raw.map((r): OverviewRoute => {
    const c = obj(r.counts);
    return {
      name: String(r.name),
      path: s(r.path),
      counts: {
        received: n(c.received),
        accepted: n(c.accepted),
        refused: n(c.refused) ?? n(c.rejected),
        ignored: n(c.ignored),
        duplicate: n(c.duplicate),
      },
      targets: listIn<Obj>(r.targets).map((t) => {
        const latency = obj(t.latency);
        return {
          name: String(t.name),
          delivered: n(t.delivered),
          failing: n(t.failing),
          dead: n(t.dead),
          successRate: n(t.successRate),
          p50Ms: n(t.p50Ms) ?? n(latency.p50Ms) ?? n(latency.p50),
          p95Ms: n(t.p95Ms) ?? n(latency.p95Ms) ?? n(latency.p95),
          queued: n(t.queueDepth) ?? n(t.queued),
          lastError: s(t.lastError),
        };
      }),
    };
  });
  return { routes, hour: series(raw, "hour"), day: series(raw, "day"), window: "the last 24 hours" };
}

/** Each route's rate for a window, as `{ rate: { hour: [[epochMs, n], …] } }`, onto one time axis. */
function series(raw: Obj[], window: "hour" | "day"): Series {
  const points = raw.map((r) => listIn<[number, number]>(obj(r.rate)[window]));
  const at = [...new Set(points.flat().map((p) => p[0]))].sort((a, b) => a - b);
  const index = new Map(at.map((t, i) => [t, i]));
  return {
    at: at.map((t) => t / 1000),
    lines: raw.map((r, i) => {
      const values = at.map(() => 0);
      for (const [t, v] of points[i] ?? []) values[index.get(t) ?? 0] = v;
      return { label: String(r.name), values };
    }),
  };
}
