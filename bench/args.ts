import { parseArgs } from "node:util";
import { type Options, SCENARIOS, type ScenarioName } from "./context.js";

export const USAGE = `usage: npm run bench -- [options]    (or: node dist/bench/run.js [options])

  --scenario S       ingest | delivery | exec | routes | all (default all); repeatable
  --duration N       seconds per load measurement (default 10)
  --warmup N         seconds of load before each measurement, not counted (default 2)
  --connections N    keep-alive connections (default 32)
  --threads N        wrk threads (default 2)
  --events N         events in the delivery scenario (default 5000)
  --exec-events N    runs in the exec scenario (default 2000)
  --delivery-concurrency N   the HTTP target's concurrency (default 4, Switchyard's default)
  --exec-concurrency N       the exec target's and the raw loop's concurrency (default 4)
  --routes N         routes in the big config (default 1000)
  --route-repeats N  1-route and many-route ingest runs alternate N times; medians compared
                     (default 3)
  --reloads N        reloads timed in the routes scenario (default 5)
  --noisy-retries N  repeat a measurement other processes disturbed, keeping the quietest
                     (default 2; 0: never)
  --quiet-wait N     before each measurement, wait up to N seconds for other processes to
                     leave the CPU alone (default 30; 0: don't wait)
  --cpu-prof         also run Switchyard's ingest under node --cpu-prof and summarize the profile
  --load-tool T      wrk | autocannon (default: wrk when on PATH, else autocannon)

Everything runs on 127.0.0.1 and stops by itself; Ctrl-C kills every process it started.`;

export class UsageError extends Error {}

function int(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  // Upper bounds keep every run bounded in time and load, whatever is typed.
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  return n;
}

export function parseOptions(argv: string[]): Options | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string", multiple: true },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      events: { type: "string" },
      "exec-events": { type: "string" },
      "delivery-concurrency": { type: "string" },
      "exec-concurrency": { type: "string" },
      routes: { type: "string" },
      reloads: { type: "string" },
      "route-repeats": { type: "string" },
      "cpu-prof": { type: "boolean" },
      "quiet-wait": { type: "string" },
      "noisy-retries": { type: "string" },
      "load-tool": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const asked = (values.scenario ?? ["all"]).flatMap((s) => s.split(","));
  const scenarios = new Set<ScenarioName>();
  for (const s of asked) {
    if (s === "all") for (const name of SCENARIOS) scenarios.add(name);
    else if ((SCENARIOS as readonly string[]).includes(s)) scenarios.add(s as ScenarioName);
    else throw new UsageError(`--scenario: unknown "${s}" (ingest, delivery, exec, routes or all)`);
  }
  const tool = values["load-tool"];
  if (tool !== undefined && tool !== "wrk" && tool !== "autocannon") throw new UsageError("--load-tool must be wrk or autocannon");
  return {
    // In the documented order, whatever order they were asked in.
    scenarios: SCENARIOS.filter((s) => scenarios.has(s)),
    durationS: int(values.duration, "duration", 10, 300),
    warmupS: values.warmup === "0" ? 0 : int(values.warmup, "warmup", 2, 60),
    connections: int(values.connections, "connections", 32, 1000),
    threads: int(values.threads, "threads", 2, 64),
    events: int(values.events, "events", 5000, 200_000),
    execEvents: int(values["exec-events"], "exec-events", 2000, 50_000),
    deliveryConcurrency: int(values["delivery-concurrency"], "delivery-concurrency", 4, 1000),
    execConcurrency: int(values["exec-concurrency"], "exec-concurrency", 4, 64),
    routes: int(values.routes, "routes", 1000, 20_000),
    reloads: int(values.reloads, "reloads", 5, 50),
    routeRepeats: int(values["route-repeats"], "route-repeats", 3, 10),
    noisyRetries: values["noisy-retries"] === "0" ? 0 : int(values["noisy-retries"], "noisy-retries", 2, 10),
    quietWaitS: values["quiet-wait"] === "0" ? 0 : int(values["quiet-wait"], "quiet-wait", 30, 600),
    cpuProf: values["cpu-prof"] ?? false,
    ...(tool ? { loadTool: tool } : {}),
  };
}
