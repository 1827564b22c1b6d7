import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { burst } from "./burst.js";
import { Children, waitFor } from "./children.js";
import { BENCH_FILTER, type BenchTarget, writeSwitchyardConfig } from "./configs.js";
import { githubPayload, type Payload } from "./payload.js";
import { freePort, type RunningServer, sinkStats, startDurableBaseline, startSink, startSwitchyard } from "./servers.js";
import { profileStages, type StageShare } from "./stages.js";

/**
 * `npm run bench:profile`: where Switchyard's CPU goes per request, against the durable
 * baseline's, in measures that do not depend much on how busy the machine is: CPU time per
 * request (user + system of the server process, counted over a fixed number of requests, not a
 * fixed time), the share of each stage of the work in a V8 CPU profile of the same load, and
 * peak RSS. Four Switchyard cases: a filtered route delivering to an HTTP sink (the ingest
 * scenario), the same with a target that refuses connections and one attempt (every event
 * dead-lettered), the same route whose deliveries wait (a relay target nobody pulls: the 202's
 * path alone, without the worker's share), and the delivery drain (a burst, then until the sink
 * has every event; also the rate once the burst is over, delivery alone).
 */

const USAGE = `usage: npm run bench:profile -- [--requests N] [--warmup N] [--connections N]

  --requests N     requests measured per case (default 4000)
  --warmup N       requests sent first, not counted (default 500)
  --connections N  concurrent keep-alive connections (default 32)
  --case C         sink | refusing | stored | drain (default all four); repeatable
  --node-arg A     a node flag for Switchyard's process, e.g. --node-arg=--max-semi-space-size=16
                   (V8's default young generation instead of the one serve sets); repeatable`;

const progress = (line: string) => process.stderr.write(`${line}\n`);

interface CaseResult {
  name: string;
  requests: number;
  accepted: number;
  cpuMsPerRequest: number;
  peakRssMiB: number;
  /**
   * Delivery drain only: delivered per CPU second, and per wall second from the first 202 to the
   * last delivery; and per wall second once the burst was over (delivery alone, not sharing the
   * thread with ingest).
   */
  drain?: { delivered: number; cpuMsPerDelivery: number; wallRate: number; afterBurstRate: number | undefined };
  stages?: { busyMs: number; stages: StageShare[] };
}

const CASES = [
  ["switchyard, filtered route, HTTP sink", "sink"],
  ["switchyard, refusing target, attempts 1", "refusing"],
  ["switchyard, deliveries held (ingest)", "stored"],
  ["switchyard, delivery drain (burst + drain)", "drain"],
] as const;
type CaseKind = (typeof CASES)[number][1];

interface Load {
  payload: Payload;
  nodeArgs: string[];
  requests: number;
  warmup: number;
  connections: number;
}

/** CPU time of the server over `requests` requests after a warm-up, and its peak RSS. */
async function measure(server: RunningServer, url: string, load: Load): Promise<Omit<CaseResult, "name">> {
  await burst(url, load.payload, load.warmup, load.connections);
  const before = server.rss.cpuSeconds();
  const sent = await burst(url, load.payload, load.requests, load.connections);
  const cpu = server.rss.cpuSeconds() - before;
  return {
    requests: load.requests,
    accepted: sent.accepted,
    cpuMsPerRequest: (cpu * 1000) / load.requests,
    peakRssMiB: server.rss.stop() / 2 ** 20,
  };
}

function switchyardConfig(children: Children, dir: string, name: string, target: BenchTarget, secret: string): string {
  return writeSwitchyardConfig(dir, `${name}-${children.livePids().length}-${Date.now()}.yaml`, [
    { name: "github", path: "/hooks/github", secret, filter: BENCH_FILTER, target },
  ]);
}

/** Switchyard under one of the three loads, optionally under --cpu-prof (then the stages are summarized). */
async function switchyardCase(
  children: Children,
  dir: string,
  load: Load,
  kind: CaseKind,
  profileDir?: string,
): Promise<Omit<CaseResult, "name">> {
  const sink = kind === "sink" || kind === "drain" ? await startSink(children) : undefined;
  try {
    const target: BenchTarget =
      kind === "stored"
        ? { type: "relay" }
        : sink
          ? { type: "http", url: `${sink.base}/deliver`, concurrency: 4 }
          : { type: "http", url: `http://127.0.0.1:${await freePort()}/deliver`, concurrency: 4, attempts: 1 };
    const config = switchyardConfig(children, dir, kind, target, load.payload.secret);
    const nodeArgs = [...load.nodeArgs, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
    const sy = await startSwitchyard(children, config, nodeArgs);
    let result: Omit<CaseResult, "name">;
    try {
      const url = `${sy.base}/hooks/github`;
      if (kind !== "drain" || !sink) {
        result = await measure(sy, url, load);
      } else {
        const before = sy.rss.cpuSeconds();
        const sent = await burst(url, load.payload, load.requests, load.connections);
        const burstOver = Date.now();
        const deliveredByThen = (await sinkStats(sink)).count;
        const stats = await waitFor(
          async () => {
            const s = await sinkStats(sink);
            return s.count >= sent.accepted ? s : undefined;
          },
          "every accepted event to reach the sink",
          300_000,
        );
        const cpu = sy.rss.cpuSeconds() - before;
        result = {
          requests: load.requests,
          accepted: sent.accepted,
          cpuMsPerRequest: (cpu * 1000) / load.requests,
          peakRssMiB: sy.rss.stop() / 2 ** 20,
          drain: {
            delivered: stats.count,
            cpuMsPerDelivery: (cpu * 1000) / Math.max(1, stats.count),
            wallRate: stats.count / Math.max(0.001, (stats.lastAt - sent.firstAcceptAt) / 1000),
            // Undefined when the sink had every event by the time the burst ended.
            afterBurstRate:
              stats.count > deliveredByThen && stats.lastAt > burstOver
                ? (stats.count - deliveredByThen) / ((stats.lastAt - burstOver) / 1000)
                : undefined,
          },
        };
      }
    } finally {
      await sy.stop();
    }
    if (profileDir) {
      const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
      if (file) result.stages = profileStages(join(profileDir, file));
    }
    return result;
  } finally {
    await sink?.stop();
  }
}

function format(results: CaseResult[]): string {
  const baseline = results.find((r) => r.name === "durable baseline");
  const lines = ["case                                   CPU ms/request  × baseline  peak RSS MiB"];
  for (const r of results) {
    const times = baseline ? (r.cpuMsPerRequest / baseline.cpuMsPerRequest).toFixed(2) : "-";
    lines.push(
      `${r.name.padEnd(38)} ${r.cpuMsPerRequest.toFixed(3).padStart(14)} ${times.padStart(11)} ${r.peakRssMiB.toFixed(0).padStart(13)}`,
    );
    if (r.drain)
      lines.push(
        `${"".padEnd(38)} drain: ${r.drain.delivered} delivered, ${r.drain.cpuMsPerDelivery.toFixed(3)} CPU ms each (ingest included), ${r.drain.wallRate.toFixed(0)}/s from the first 202; ${r.drain.afterBurstRate === undefined ? "n/a (all delivered during the burst)" : `${r.drain.afterBurstRate.toFixed(0)}/s`} once the burst was over`,
      );
  }
  for (const r of results) {
    if (!r.stages) continue;
    lines.push("", `${r.name} under --cpu-prof: ${(r.stages.busyMs / 1000).toFixed(1)} s busy after start-up`);
    const perRequest = r.stages.busyMs / r.requests;
    for (const s of r.stages.stages)
      lines.push(`${s.percent.toFixed(1).padStart(6)}%  ${((perRequest * s.percent) / 100).toFixed(3).padStart(7)} ms/req  ${s.stage}`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      case: { type: "string", multiple: true },
      "node-arg": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const int = (v: string | undefined, name: string, fallback: number) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 200_000) throw new Error(`--${name} must be a whole number from 1 to 200000`);
    return n;
  };
  const load: Load = {
    payload: githubPayload(),
    nodeArgs: values["node-arg"] ?? [],
    requests: int(values.requests, "requests", 4000),
    warmup: int(values.warmup, "warmup", 500),
    connections: int(values.connections, "connections", 32),
  };
  const asked = (values.case ?? CASES.map(([, kind]) => kind)).flatMap((c) => c.split(","));
  for (const c of asked)
    if (!CASES.some(([, kind]) => kind === c)) throw new Error(`--case: unknown "${c}" (sink, refusing, stored or drain)`);
  const children = new Children();
  process.on("exit", () => children.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      children.killAllNow();
      process.exit(130);
    });
  const dir = children.tempDir("switchyard-profile-");
  const results: CaseResult[] = [];

  progress("durable baseline");
  const durable = await startDurableBaseline(children, load.payload.secret);
  try {
    results.push({ name: "durable baseline", ...(await measure(durable, `${durable.base}/hooks/github`, load)) });
  } finally {
    await durable.stop();
  }
  for (const [name, kind] of CASES.filter(([, kind]) => asked.includes(kind))) {
    progress(name);
    const plain = await switchyardCase(children, dir, load, kind);
    progress(`${name}, under --cpu-prof`);
    const profiled = await switchyardCase(children, dir, load, kind, children.tempDir("switchyard-cpuprof-"));
    results.push({ name, ...plain, ...(profiled.stages ? { stages: profiled.stages } : {}) });
  }
  process.stdout.write(`${format(results)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench:profile: ${err.message}\n${USAGE}\n`);
    process.exit(1);
  },
);
