import { request } from "node:http";
import { waitFor } from "../children.js";
import { type BenchRoute, writeSwitchyardConfig } from "../configs.js";
import type { BenchContext } from "../context.js";
import { githubPayload, type Payload } from "../payload.js";
import { startSwitchyard } from "../servers.js";

/**
 * Ingress latency while a large config reloads: a few clients post to one route of a
 * RELOAD_ROUTES-route config, first for a while without a reload (the reference), then while
 * the file is reloaded (SIGHUP → `config reloaded`) several times. A reload that held the event
 * loop would show as the p99 and the max of the second set.
 */

export const RELOAD_ROUTES = 2_000;
const CLIENTS = 4;
const REFERENCE_MS = 3_000;
const RELOAD_TIMEOUT_MS = 60_000;
const BETWEEN_RELOADS_MS = 500;

export interface LatencySummary {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 202 (there should be none). */
  failed: number;
}

export interface ReloadIngressResult {
  routes: number;
  reloads: number;
  reference: LatencySummary;
  duringReload: LatencySummary;
}

interface Sample {
  startedAt: number;
  ms: number;
  status: number;
}

function postTimed(url: string, payload: Payload): Promise<Sample> {
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: payload.headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ startedAt, ms: performance.now() - t0, status: res.statusCode ?? 0 }));
    });
    req.on("error", () => resolve({ startedAt, ms: performance.now() - t0, status: 0 }));
    req.end(payload.body);
  });
}

function summarise(samples: readonly Sample[]): LatencySummary {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return {
    requests: ms.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: ms[ms.length - 1] ?? 0,
    failed: samples.filter((s) => s.status !== 202).length,
  };
}

function makeRoutes(n: number, sinkUrl: string, generation: number): BenchRoute[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, "0");
    // The last route's path changes with every generation: each reload has something to do.
    return {
      name: `r${id}`,
      path: i === n - 1 ? `/hooks/gen-${generation}` : `/hooks/r${id}`,
      secret: `bench-secret-${id}`,
      target: { type: "http", url: `${sinkUrl}/deliver` },
    };
  });
}

export async function reloadIngress(ctx: BenchContext, sinkUrl: string): Promise<ReloadIngressResult> {
  const routes = makeRoutes(RELOAD_ROUTES, sinkUrl, 0);
  const probe = routes[0] as BenchRoute;
  const file = writeSwitchyardConfig(ctx.workDir, "reload-ingress.yaml", routes);
  const sy = await startSwitchyard(ctx.children, file);
  const samples: Sample[] = [];
  let running = true;
  const url = `${sy.base}${probe.path}`;
  const payload = githubPayload(probe.secret);
  const client = async () => {
    while (running) samples.push(await postTimed(url, payload));
  };
  const clients = Array.from({ length: CLIENTS }, client);
  try {
    await new Promise((r) => setTimeout(r, REFERENCE_MS));
    const referenceEnd = Date.now();
    const windows: [number, number][] = [];
    for (let k = 1; k <= ctx.options.reloads; k++) {
      ctx.progress(`routes: reload ${k}/${ctx.options.reloads} of ${RELOAD_ROUTES} routes under ingress`);
      writeSwitchyardConfig(ctx.workDir, "reload-ingress.yaml", makeRoutes(RELOAD_ROUTES, sinkUrl, k));
      const seen = sy.logs.length;
      const t0 = Date.now();
      process.kill(sy.pid, "SIGHUP");
      const done = await waitFor(
        () => sy.logs.slice(seen).find((l) => l.msg !== "switchyard started"),
        "the reload's log line",
        RELOAD_TIMEOUT_MS,
        5,
      );
      if (done.msg !== "config reloaded") throw new Error(`reload ${k} failed: ${done.msg}`);
      windows.push([t0, done.at]);
      await new Promise((r) => setTimeout(r, BETWEEN_RELOADS_MS));
    }
    running = false;
    await Promise.all(clients);
    const during = samples.filter((s) => windows.some(([from, to]) => s.startedAt >= from && s.startedAt <= to));
    return {
      routes: RELOAD_ROUTES,
      reloads: windows.length,
      reference: summarise(samples.filter((s) => s.startedAt < referenceEnd)),
      duringReload: summarise(during),
    };
  } finally {
    running = false;
    await Promise.all(clients);
    await sy.stop();
  }
}
