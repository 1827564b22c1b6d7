import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeSwitchyardConfig, writeWebhookHooks } from "../configs.js";
import { type BenchContext, measure, quietest, type ServerMeasurement } from "../context.js";
import { formatProfile, type ProfileSummary, summarizeProfile } from "../cpuprofile.js";
import { readMetric } from "../metrics.js";
import { type RunningServer, sinkStats, startBaseline, startSink, startSwitchyard, startWebhook } from "../servers.js";

/**
 * Ingest, side by side in one run, same payload, same load: the raw node:http baseline,
 * Switchyard (verify + durable SQLite enqueue + 202, delivering to a sink meanwhile), and
 * adnanh/webhook when installed.
 */

export interface IngestResult {
  servers: ServerMeasurement[];
  /** Switchyard's own count of stored events and what reached the sink during the run. */
  switchyard?: { acceptedByMetrics: number | undefined; deliveredDuringRun: number; warnOrErrorLogLines: number };
  ratios: { switchyardOverRaw?: number; switchyardOverWebhook?: number };
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

/** Switchyard on a fresh store delivering to a fresh sink; `nodeArgs` adds e.g. --cpu-prof. */
async function measureSwitchyard(ctx: BenchContext, name: string, nodeArgs: readonly string[] = []) {
  const sink = await startSink(ctx.children);
  try {
    const config = writeSwitchyardConfig(ctx.workDir, `${ctx.fresh(name)}.yaml`, [
      {
        name: "github",
        path: ROUTE_PATH,
        secret: ctx.payload.secret,
        target: { type: "http", url: `${sink.base}/deliver`, concurrency: ctx.options.deliveryConcurrency },
      },
    ]);
    const sy = await startSwitchyard(ctx.children, config, nodeArgs);
    return await withServer(sy, async () => {
      const m = await measure(ctx, sy, `${sy.base}${ROUTE_PATH}`);
      const accepted = await readMetric(sy.base, "switchyard_events_received_total", { route: "github", outcome: "accepted" });
      const delivered = (await sinkStats(sink)).count;
      return { m, extra: { acceptedByMetrics: accepted, deliveredDuringRun: delivered, warnOrErrorLogLines: sy.problems() } };
    });
  } finally {
    await sink.stop();
  }
}

export async function ingest(ctx: BenchContext): Promise<IngestResult> {
  const result: IngestResult = { servers: [], ratios: {}, notes: [] };
  ctx.progress("ingest: raw node:http baseline");
  const raw = await quietest(
    ctx,
    "raw node:http",
    async () => withServer(await startBaseline(ctx.children, ctx.payload.secret), (s) => measure(ctx, s, `${s.base}${ROUTE_PATH}`)),
    (m) => m.otherCpuCores,
  );
  result.servers.push(raw);
  await settle();

  ctx.progress("ingest: switchyard (github route, SQLite store, HTTP sink target)");
  const sy = await quietest(
    ctx,
    "switchyard",
    () => measureSwitchyard(ctx, "ingest"),
    (r) => r.m.otherCpuCores,
  );
  result.servers.push(sy.m);
  result.switchyard = sy.extra;
  result.ratios.switchyardOverRaw = sy.m.load.rps / raw.load.rps;
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
    result.ratios.switchyardOverWebhook = sy.m.load.rps / wh.load.rps;
    await settle();
  } else {
    result.notes.push("adnanh/webhook skipped: no `webhook` binary on PATH (Debian/Ubuntu: apt-get install webhook)");
  }

  if (ctx.options.cpuProf) {
    ctx.progress("ingest: switchyard again, under node --cpu-prof (not counted in the ratios)");
    const dir = ctx.children.tempDir("switchyard-cpuprof-");
    const profiled = await measureSwitchyard(ctx, "ingest-profiled", ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
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
