import { spawn } from "node:child_process";
import { burst } from "../burst.js";
import { writeSwitchyardConfig } from "../configs.js";
import { type BenchContext, quietest } from "../context.js";
import { readMetric } from "../metrics.js";
import { cpuSnapshot, otherCores } from "../noise.js";
import { startSwitchyard } from "../servers.js";

/**
 * Exec drain: N events to a route whose exec target runs /bin/true, against a bare loop of
 * `child_process.spawn('/bin/true')` with the same concurrency. Both count from the first
 * start (the first 202 for Switchyard) to the last exit.
 */

export interface ExecResult {
  events: number;
  concurrency: number;
  accepted: number;
  succeeded: number;
  /** Retries or dead letters seen in the metrics: should be 0. */
  failedAttempts: number;
  switchyardRate: number;
  rawSpawnRate: number;
  ratio: number;
  /** Average cores other processes used during the raw loop and during Switchyard's drain (noise). */
  otherCpuCores: { raw: number; switchyard: number };
  notes: string[];
}

const COMMAND = "/bin/true";
const DRAIN_TIMEOUT_MS = 120_000;

/** The bare baseline: spawn with Node's defaults (stdio pipes), the next one when one closes. */
async function rawSpawnRate(count: number, concurrency: number): Promise<number> {
  let started = 0;
  const runOne = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(COMMAND);
      child.once("error", reject);
      child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${COMMAND} exited ${code}`))));
    });
  const lane = async () => {
    while (started < count) {
      started++;
      await runOne();
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (count * 1000) / (Date.now() - t0);
}

/** A scrape renders every metric in the daemon (a millisecond or more of its CPU): a few per second at most. */
const POLL_MS = 100;

/**
 * Polls /metrics until `want` deliveries succeeded. The last one finished somewhere between the
 * last two polls: rather than poll faster (and slow the drain being measured), the end time is
 * interpolated at the rate of the interval before, which is steady by then.
 */
async function waitForDeliveries(base: string, want: number, labels: Record<string, string>): Promise<{ at: number; got: number }> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let prev = { at: Date.now(), got: 0 };
  let before = prev;
  for (;;) {
    const got = (await readMetric(base, "switchyard_deliveries_total", { ...labels, outcome: "success" })) ?? 0;
    const now = { at: Date.now(), got };
    if (got >= want) {
      const msPerRun = prev.got > before.got ? (prev.at - before.at) / (prev.got - before.got) : 0;
      const estimate = prev.at + (want - prev.got) * msPerRun;
      return { at: msPerRun > 0 ? Math.min(now.at, Math.max(prev.at, estimate)) : now.at, got };
    }
    if (now.at > deadline) return now;
    before = prev;
    prev = now;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface SwitchyardDrain {
  accepted: number;
  succeeded: number;
  failedAttempts: number;
  rate: number;
  otherCpuCores: number;
  notes: string[];
}

/** One drain on a fresh daemon and a fresh, empty store. */
async function switchyardDrain(ctx: BenchContext): Promise<SwitchyardDrain> {
  const { execEvents: events, execConcurrency: concurrency, connections } = ctx.options;
  const config = writeSwitchyardConfig(ctx.workDir, `${ctx.fresh("exec")}.yaml`, [
    { name: "exec", path: "/hooks/exec", secret: ctx.payload.secret, target: { type: "exec", command: [COMMAND], concurrency } },
  ]);
  const sy = await startSwitchyard(ctx.children, config);
  try {
    await ctx.quiet();
    const noise = cpuSnapshot(ctx.children.livePids());
    const sent = await burst(`${sy.base}/hooks/exec`, ctx.payload, events, connections);
    const labels = { route: "exec", target: "run" };
    const done = await waitForDeliveries(sy.base, sent.accepted, labels);
    const otherCpuCores = otherCores(noise, cpuSnapshot(ctx.children.livePids()));
    const retries = (await readMetric(sy.base, "switchyard_deliveries_total", { ...labels, outcome: "retry" })) ?? 0;
    const dead = (await readMetric(sy.base, "switchyard_deliveries_total", { ...labels, outcome: "dead" })) ?? 0;
    return {
      accepted: sent.accepted,
      succeeded: done.got,
      failedAttempts: retries + dead,
      rate: (done.got * 1000) / (done.at - sent.firstAcceptAt),
      otherCpuCores,
      notes: done.got < sent.accepted ? [`timed out: ${done.got} of ${sent.accepted} runs finished`] : [],
    };
  } finally {
    await sy.stop();
  }
}

export async function execDrain(ctx: BenchContext): Promise<ExecResult> {
  const { execEvents: events, execConcurrency: concurrency } = ctx.options;
  ctx.progress(`exec: raw spawn('${COMMAND}') × ${events}, concurrency ${concurrency}`);
  const raw = await quietest(
    ctx,
    "raw spawn",
    async () => {
      await ctx.quiet();
      const noise = cpuSnapshot(ctx.children.livePids());
      const rate = await rawSpawnRate(events, concurrency);
      return { rate, otherCpuCores: otherCores(noise, cpuSnapshot(ctx.children.livePids())) };
    },
    (r) => r.otherCpuCores,
  );
  ctx.progress(`exec: ${events} events → switchyard → exec ${COMMAND}, concurrency ${concurrency}`);
  const sy = await quietest(
    ctx,
    "switchyard exec",
    () => switchyardDrain(ctx),
    (r) => r.otherCpuCores,
  );
  return {
    events,
    concurrency,
    accepted: sy.accepted,
    succeeded: sy.succeeded,
    failedAttempts: sy.failedAttempts,
    switchyardRate: sy.rate,
    rawSpawnRate: raw.rate,
    ratio: sy.rate / raw.rate,
    otherCpuCores: { raw: raw.otherCpuCores, switchyard: sy.otherCpuCores },
    notes: sy.notes,
  };
}
