import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BENCH_FILTER, type BenchTarget, writeSwitchyardConfig, writeWebhookHooks } from "../configs.js";
import { type BenchContext, measure, quietest, type ServerMeasurement } from "../context.js";
import { formatProfile, type ProfileSummary, summarizeProfile } from "../cpuprofile.js";
import { readMetric } from "../metrics.js";
import {
  freePort,
  type RunningServer,
  sinkStats,
  startBaseline,
  startDurableBaseline,
  startSink,
  startSwitchyard,
  startWebhook,
} from "../servers.js";

/**
 * Ingest, side by side in one run, same payload, same load: the raw node:http baseline (the
 * ceiling), the durable baseline (the floor of any store-then-answer design), Switchyard on a
 * route with a JSONata filter delivering to a sink meanwhile, the same route with a target
 * that refuses connections (every event dead-lettered on its one attempt), and
 * adnanh/webhook when installed.
 */

export const SWITCHYARD = "switchyard";
export const SWITCHYARD_REFUSING = "switchyard, refusing target";
export const DURABLE = "durable baseline";

/** Switchyard's own counts, read from its /metrics and the sink after the run. */
export interface SwitchyardCounts {
  acceptedByMetrics: number | undefined;
  /** Deliveries the sink got (the refusing-target run: deliveries dead-lettered). */
  deliveredDuringRun: number;
  deadDuringRun?: number;
  warnOrErrorLogLines: number;
}

export interface IngestRatios {
  switchyardOverRaw?: number;
  switchyardOverDurable?: number;
  switchyardOverWebhook?: number;
  /** Switchyard's p99 over the durable baseline's. */
  p99OverDurable?: number;
  refusingOverDurable?: number;
  durableOverRaw?: number;
  webhookOverDurable?: number;
}

export interface IngestResult {
  servers: ServerMeasurement[];
  switchyard?: SwitchyardCounts;
  refusing?: SwitchyardCounts;
  ratios: IngestRatios;
  notes: string[];
  profile?: { measurement: ServerMeasurement; summary: ProfileSummary; file: string };
}

const ROUTE_PATH = "/hooks/github";
/** A moment between servers: the previous one's sockets and processes are gone before the next starts. */
const SETTLE_MS = 1_000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

async function withServer<T>(server: RunningServer, run: (s: RunningServer) => Promise<T>): Promise<T> {
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

/**
 * Switchyard on a fresh store, its filtered route delivering to a fresh sink, or (`refusing`)
 * to a loopback port nothing listens on, with one attempt; `nodeArgs` adds e.g. --cpu-prof.
 */
async function measureSwitchyard(ctx: BenchContext, name: string, opts: { refusing?: boolean; nodeArgs?: readonly string[] } = {}) {
  const sink = opts.refusing ? undefined : await startSink(ctx.children);
  try {
    const concurrency = ctx.options.deliveryConcurrency;
    const target: BenchTarget = sink
      ? { type: "http", url: `${sink.base}/deliver`, concurrency }
      : { type: "http", url: `http://127.0.0.1:${await freePort()}/deliver`, concurrency, attempts: 1 };
    const config = writeSwitchyardConfig(ctx.workDir, `${ctx.fresh(name)}.yaml`, [
      { name: "github", path: ROUTE_PATH, secret: ctx.payload.secret, filter: BENCH_FILTER, target },
    ]);
    const sy = await startSwitchyard(ctx.children, config, opts.nodeArgs);
    if (opts.refusing) sy.name = SWITCHYARD_REFUSING;
    return await withServer(sy, async () => {
      const m = await measure(ctx, sy, `${sy.base}${ROUTE_PATH}`);
      const route = { route: "github" };
      const accepted = await readMetric(sy.base, "switchyard_events_received_total", { ...route, outcome: "accepted" });
      const dead = await readMetric(sy.base, "switchyard_deliveries_total", { ...route, target: "sink", outcome: "dead" });
      const delivered = sink ? (await sinkStats(sink)).count : 0;
      const counts: SwitchyardCounts = {
        acceptedByMetrics: accepted,
        deliveredDuringRun: delivered,
        ...(opts.refusing ? { deadDuringRun: dead ?? 0 } : {}),
        warnOrErrorLogLines: sy.problems(),
      };
      return { m, extra: counts };
    });
  } finally {
    await sink?.stop();
  }
}

export async function ingest(ctx: BenchContext): Promise<IngestResult> {
  const result: IngestResult = { servers: [], ratios: {}, notes: [] };
  const r = result.ratios;
  ctx.progress("ingest: raw node:http baseline");
  const raw = await quietest(
    ctx,
    "raw node:http",
    async () => withServer(await startBaseline(ctx.children, ctx.payload.secret), (s) => measure(ctx, s, `${s.base}${ROUTE_PATH}`)),
    (m) => m.otherCpuCores,
  );
  result.servers.push(raw);
  await settle();

  ctx.progress("ingest: durable baseline (verify, parse, SQLite WAL synchronous=FULL, group commit per turn)");
  const durable = await quietest(
    ctx,
    DURABLE,
    async () => withServer(await startDurableBaseline(ctx.children, ctx.payload.secret), (s) => measure(ctx, s, `${s.base}${ROUTE_PATH}`)),
    (m) => m.otherCpuCores,
  );
  result.servers.push(durable);
  r.durableOverRaw = durable.load.rps / raw.load.rps;
  await settle();

  ctx.progress("ingest: switchyard (github route with a JSONata filter, SQLite store, HTTP sink target)");
  const sy = await quietest(
    ctx,
    SWITCHYARD,
    () => measureSwitchyard(ctx, "ingest"),
    (x) => x.m.otherCpuCores,
  );
  result.servers.push(sy.m);
  result.switchyard = sy.extra;
  r.switchyardOverRaw = sy.m.load.rps / raw.load.rps;
  r.switchyardOverDurable = sy.m.load.rps / durable.load.rps;
  r.p99OverDurable = sy.m.load.p99Ms / durable.load.p99Ms;
  await settle();

  ctx.progress("ingest: switchyard, the same route with a target that refuses connections (attempts 1)");
  const refusing = await quietest(
    ctx,
    SWITCHYARD_REFUSING,
    () => measureSwitchyard(ctx, "ingest-refusing", { refusing: true }),
    (x) => x.m.otherCpuCores,
  );
  result.servers.push(refusing.m);
  result.refusing = refusing.extra;
  r.refusingOverDurable = refusing.m.load.rps / durable.load.rps;
  await settle();

  if (ctx.webhookBinary) {
    ctx.progress("ingest: adnanh/webhook (payload-hmac-sha256 rule running /bin/true)");
    const hooks = writeWebhookHooks(ctx.workDir, ctx.payload.secret);
    const binary = ctx.webhookBinary;
    const wh = await quietest(
      ctx,
      "adnanh/webhook",
      async () => withServer(await startWebhook(ctx.children, binary, hooks), (s) => measure(ctx, s, `${s.base}${ROUTE_PATH}`)),
      (m) => m.otherCpuCores,
    );
    result.servers.push(wh);
    r.switchyardOverWebhook = sy.m.load.rps / wh.load.rps;
    r.webhookOverDurable = wh.load.rps / durable.load.rps;
    await settle();
  } else {
    result.notes.push("adnanh/webhook skipped: no `webhook` binary on PATH (Debian/Ubuntu: apt-get install webhook)");
  }

  if (ctx.options.cpuProf) {
    ctx.progress("ingest: switchyard again, under node --cpu-prof (not counted in the ratios)");
    const dir = ctx.children.tempDir("switchyard-cpuprof-");
    const profiled = await measureSwitchyard(ctx, "ingest-profiled", { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
    profiled.m.server = "switchyard (under --cpu-prof)";
    // The profile is written when the daemon exits, which measureSwitchyard waited for.
    const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".cpuprofile")) : undefined;
    if (file) {
      const summary = summarizeProfile(join(dir, file));
      result.profile = { measurement: profiled.m, summary, file: join(dir, file) };
      ctx.progress(formatProfile(summary));
    } else {
      result.notes.push("no .cpuprofile was written: the daemon did not exit normally after SIGTERM");
    }
  }
  return result;
}
