import type { Children } from "./children.js";
import type { LoadResult, LoadTool } from "./load.js";
import { cpuSnapshot, NOISY_CORES, otherCores } from "./noise.js";
import type { Payload } from "./payload.js";
import type { RunningServer } from "./servers.js";

export const SCENARIOS = ["ingest", "delivery", "exec", "routes"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  scenarios: ScenarioName[];
  /** Seconds per measurement (each load run); a warm-up of `warmupS` precedes it. */
  durationS: number;
  warmupS: number;
  connections: number;
  threads: number;
  /** Events for the delivery scenario and for the exec scenario. */
  events: number;
  execEvents: number;
  /** The HTTP target's concurrency in the delivery and ingest scenarios (Switchyard's default is 4). */
  deliveryConcurrency: number;
  execConcurrency: number;
  routes: number;
  /** How many times the 1-route and the many-route ingest alternate (medians compared). */
  routeRepeats: number;
  reloads: number;
  /** A measurement during which other processes used the CPU is repeated (on a fresh server) up to this many times; the quietest is kept. */
  noisyRetries: number;
  /** Before each measurement, wait up to this long for other processes to leave the CPU alone (0: don't). */
  quietWaitS: number;
  /** Also run Switchyard's ingest once under `node --cpu-prof` and summarize the profile. */
  cpuProf: boolean;
  loadTool?: "wrk" | "autocannon";
}

/** What every scenario gets: the options, the processes registry, the load tool, a temp folder. */
export interface BenchContext {
  options: Options;
  children: Children;
  load: LoadTool;
  payload: Payload;
  workDir: string;
  /** The adnanh/webhook binary, when installed. */
  webhookBinary: string | undefined;
  /** Progress lines (stderr, so that stdout is the report). */
  progress(line: string): void;
  /** Waits (bounded by --quiet-wait) until other processes leave the CPU alone. */
  quiet(): Promise<void>;
  /** `name` made unique (name-1, name-2 …): a repeated measurement gets a new config file and a new, empty store. */
  fresh(name: string): string;
}

/** One server measured under load: the load tool's numbers and the server process's own. */
export interface ServerMeasurement {
  server: string;
  load: LoadResult;
  peakRssMiB: number;
  /** CPU milliseconds the server process used per request during the measured window (user + system). */
  cpuMsPerRequest: number;
  /** Average cores other processes on the machine used during the measured window (noise; see noise.ts). */
  otherCpuCores: number;
}

/**
 * Runs a measurement; while other processes disturbed it (see noise.ts) and retries remain,
 * runs it again from scratch and keeps the quietest. On a shared machine this is what turns
 * "someone's test suite started" into a clean number instead of a silent outlier.
 */
export async function quietest<T>(ctx: BenchContext, what: string, run: () => Promise<T>, noise: (t: T) => number): Promise<T> {
  let best = await run();
  for (let i = 0; i < ctx.options.noisyRetries && noise(best) > NOISY_CORES; i++) {
    ctx.progress(
      `  ${what}: other processes used ${noise(best).toFixed(2)} cores meanwhile; measuring again (${i + 1}/${ctx.options.noisyRetries})`,
    );
    const next = await run();
    if (noise(next) < noise(best)) best = next;
  }
  return best;
}

/** Warm-up, then the measured run; the server's CPU is read around the measured run only. */
export async function measure(ctx: BenchContext, server: RunningServer, url: string, payload = ctx.payload): Promise<ServerMeasurement> {
  const { options: o, load } = ctx;
  const settings = { url, payload, connections: o.connections, threads: o.threads };
  await ctx.quiet();
  ctx.progress(`  ${server.name}: warm-up ${o.warmupS}s, then ${o.durationS}s at ${o.connections} connections`);
  if (o.warmupS > 0) await load.run({ ...settings, durationS: o.warmupS });
  const cpuBefore = server.rss.cpuSeconds();
  const noiseBefore = cpuSnapshot(ctx.children.livePids());
  const result = await load.run({ ...settings, durationS: o.durationS });
  const otherCpuCores = otherCores(noiseBefore, cpuSnapshot(ctx.children.livePids()));
  const cpu = server.rss.cpuSeconds() - cpuBefore;
  return {
    server: server.name,
    load: result,
    peakRssMiB: server.rss.stop() / 2 ** 20,
    cpuMsPerRequest: result.requests > 0 ? (cpu * 1000) / result.requests : 0,
    otherCpuCores,
  };
}
