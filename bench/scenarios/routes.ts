import { statSync } from "node:fs";
import { request } from "node:http";
import { type Children, waitFor } from "../children.js";
import { type BenchRoute, writeSwitchyardConfig } from "../configs.js";
import { type BenchContext, measure, quietest, type ServerMeasurement } from "../context.js";
import { CLI } from "../paths.js";
import { githubPayload, type Payload } from "../payload.js";
import { type RunningServer, startSink, startSwitchyard } from "../servers.js";
import { type ReloadIngressResult, reloadIngress } from "./reload-ingress.js";

/**
 * Many routes: ingest on one route of a 1 000-route config against a 1-route config (the
 * lookup should not care), the reload time of the big config (SIGHUP → `config reloaded`
 * line, and → a route that only the new file has answering 202), ingress latency while a
 * 2 000-route config reloads (reload-ingress.ts), and `switchyard check`'s wall time on it.
 */

export interface ReloadSample {
  toLogMs: number;
  toAnswerMs: number;
}

export interface RoutesResult {
  routes: number;
  configKiB: number;
  /** The run with the median req/s of each config. */
  one: ServerMeasurement;
  many: ServerMeasurement;
  ratio: number;
  /** req/s of every run, in order (the configs alternated). */
  runs: { one: number[]; many: number[] };
  startupMs: { one: number; many: number };
  reloads: ReloadSample[];
  medianReload: ReloadSample;
  maxReload: ReloadSample;
  /** Median wall time of `switchyard check` over CHECK_RUNS runs (a whole Node start included). */
  checkMs: { one: number; many: number };
  /** Ingress latency on one route while a 2 000-route config reloads, and without a reload. */
  reloadIngress: ReloadIngressResult;
}

const CHECK_RUNS = 3;
const RELOAD_TIMEOUT_MS = 30_000;
/** Longer than the daemon's 200 ms file-watch debounce, so one reload's echo is over before the next. */
const BETWEEN_RELOADS_MS = 500;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
};

/** The run whose req/s is the median (the lower middle one for an even count). */
function medianRun<T extends { m: ServerMeasurement }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.m.load.rps - b.m.load.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

function makeRoutes(n: number, sinkUrl: string, lastPath?: string): BenchRoute[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, "0");
    return {
      name: `r${id}`,
      path: i === n - 1 && lastPath ? lastPath : `/hooks/r${id}`,
      secret: `bench-secret-${id}`,
      target: { type: "http", url: `${sinkUrl}/deliver` },
    };
  });
}

/** POSTs the payload once; resolves with the status (0 when the connection failed). */
function postStatus(url: string, payload: Payload): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: payload.headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end(payload.body);
  });
}

async function checkWallMs(children: Children, config: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CHECK_RUNS; i++) {
    const t0 = performance.now();
    const child = children.spawn(process.execPath, [CLI, "check", "-c", config], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      err += c;
    });
    const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
    if (code !== 0) throw new Error(`switchyard check -c ${config} exited ${code}: ${err}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function ingestOn(ctx: BenchContext, file: string, routes: BenchRoute[], measured: BenchRoute) {
  const config = writeSwitchyardConfig(ctx.workDir, `${ctx.fresh(file)}.yaml`, routes);
  const sy = await startSwitchyard(ctx.children, config);
  try {
    sy.name = `switchyard, ${routes.length} route${routes.length === 1 ? "" : "s"}`;
    const m = await measure(ctx, sy, `${sy.base}${measured.path}`, githubPayload(measured.secret));
    return { m, startupMs: sy.startupMs };
  } finally {
    await sy.stop();
  }
}

/** SIGHUP with a file whose last route moved to a new path: time to the log line and to that path answering 202. */
async function timeReloads(ctx: BenchContext, sinkUrl: string, n: number): Promise<ReloadSample[]> {
  const initial = writeSwitchyardConfig(ctx.workDir, "reload.yaml", makeRoutes(n, sinkUrl));
  const sy = await startSwitchyard(ctx.children, initial);
  const samples: ReloadSample[] = [];
  try {
    for (let k = 1; k <= ctx.options.reloads; k++) {
      const newPath = `/hooks/reloaded-${k}`;
      const routes = makeRoutes(n, sinkUrl, newPath);
      const moved = routes[n - 1] as BenchRoute;
      writeSwitchyardConfig(ctx.workDir, "reload.yaml", routes);
      const seen = sy.logs.length;
      const t0 = Date.now();
      process.kill(sy.pid, "SIGHUP");
      const [logged, answered] = await Promise.all([
        waitFor(() => sy.logs.slice(seen).find((l) => l.msg !== "switchyard started"), "the reload's log line", RELOAD_TIMEOUT_MS, 5),
        waitFor(
          async () => ((await postStatus(`${sy.base}${newPath}`, githubPayload(moved.secret))) === 202 ? Date.now() : undefined),
          `${newPath} to answer 202`,
          RELOAD_TIMEOUT_MS,
          5,
        ),
      ]);
      if (logged.msg !== "config reloaded") throw new Error(`reload ${k} failed: ${logged.msg}`);
      samples.push({ toLogMs: logged.at - t0, toAnswerMs: answered - t0 });
      await new Promise((r) => setTimeout(r, BETWEEN_RELOADS_MS));
    }
  } finally {
    await sy.stop();
  }
  return samples;
}

export async function routes(ctx: BenchContext): Promise<RoutesResult> {
  const n = ctx.options.routes;
  const sink: RunningServer = await startSink(ctx.children);
  try {
    const many = makeRoutes(n, `${sink.base}`);
    const measured = many[Math.floor(n / 2)] as BenchRoute;
    // The target is a 5% difference, less than one Switchyard run differs from the next: the
    // two configs alternate, and their medians are compared.
    const repeats = ctx.options.routeRepeats;
    const ones: Awaited<ReturnType<typeof ingestOn>>[] = [];
    const bigs: Awaited<ReturnType<typeof ingestOn>>[] = [];
    for (let i = 1; i <= repeats; i++) {
      ctx.progress(`routes: ingest on ${measured.path} with 1 route, then with ${n} (${i}/${repeats})`);
      ones.push(
        await quietest(
          ctx,
          "1 route",
          () => ingestOn(ctx, "one-route", [measured], measured),
          (r) => r.m.otherCpuCores,
        ),
      );
      bigs.push(
        await quietest(
          ctx,
          `${n} routes`,
          () => ingestOn(ctx, "many-routes", many, measured),
          (r) => r.m.otherCpuCores,
        ),
      );
    }
    const one = medianRun(ones);
    const big = medianRun(bigs);
    ctx.progress(`routes: ${ctx.options.reloads} reloads of ${n} routes (SIGHUP)`);
    const reloads = await timeReloads(ctx, sink.base, n);
    ctx.progress(`routes: ingress latency during reloads of a big config`);
    const underReload = await reloadIngress(ctx, sink.base);
    ctx.progress("routes: switchyard check wall time");
    const checkOne = await checkWallMs(ctx.children, writeSwitchyardConfig(ctx.workDir, "check-one.yaml", [measured]));
    const checkManyFile = writeSwitchyardConfig(ctx.workDir, "check-many.yaml", many);
    const checkMany = await checkWallMs(ctx.children, checkManyFile);
    return {
      routes: n,
      configKiB: statSync(checkManyFile).size / 1024,
      one: one.m,
      many: big.m,
      ratio: big.m.load.rps / one.m.load.rps,
      runs: { one: ones.map((r) => r.m.load.rps), many: bigs.map((r) => r.m.load.rps) },
      startupMs: { one: one.startupMs, many: big.startupMs },
      reloads,
      medianReload: { toLogMs: median(reloads.map((r) => r.toLogMs)), toAnswerMs: median(reloads.map((r) => r.toAnswerMs)) },
      maxReload: { toLogMs: Math.max(...reloads.map((r) => r.toLogMs)), toAnswerMs: Math.max(...reloads.map((r) => r.toAnswerMs)) },
      checkMs: { one: checkOne, many: checkMany },
      reloadIngress: underReload,
    };
  } finally {
    await sink.stop();
  }
}
