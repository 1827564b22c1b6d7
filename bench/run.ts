import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseOptions, USAGE } from "./args.js";
import { Children } from "./children.js";
import type { BenchContext, Options, ScenarioName } from "./context.js";
import { findLoadTool, NoLoadToolError } from "./load.js";
import { describeMachine, describeSource } from "./machine.js";
import { waitForQuiet } from "./noise.js";
import { REPO_ROOT, RESULTS_DIR } from "./paths.js";
import { githubPayload } from "./payload.js";
import { formatResults } from "./report.js";
import { checkTargets, type Results } from "./results.js";
import { delivery } from "./scenarios/delivery.js";
import { execDrain } from "./scenarios/exec.js";
import { ingest } from "./scenarios/ingest.js";
import { routes } from "./scenarios/routes.js";

/**
 * `npm run bench`: Switchyard against a raw node:http baseline and adnanh/webhook, on
 * loopback, bounded in time and count. Prints a report on stdout (progress on stderr) and
 * writes bench/results/<timestamp>.json. See BENCHMARKS.md.
 */

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** adnanh/webhook's version when the binary is on PATH. */
function findWebhook(): { binary: string; version: string } | undefined {
  const probe = spawnSync("webhook", ["-version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return undefined;
  return { binary: "webhook", version: probe.stdout.trim() };
}

/**
 * A generous upper bound on the whole run, from the options: if anything hangs past it, the
 * watchdog kills every child and exits, so the bench always stops by itself.
 */
function budgetMs(o: Options): number {
  const perLoad = (o.durationS + o.warmupS + 15) * 1000;
  const loads = (o.scenarios.includes("ingest") ? 5 + (o.cpuProf ? 1 : 0) : 0) + (o.scenarios.includes("routes") ? 2 * o.routeRepeats : 0);
  const waits = (loads + 3) * o.quietWaitS * 1000;
  const retries = 1 + o.noisyRetries;
  return retries * (loads * perLoad + waits + o.scenarios.length * 150_000) + 60_000;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === "help") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }

  const children = new Children();
  // Every way out kills what the bench started: normal exit, Ctrl-C, kill, a crash, the watchdog.
  process.on("exit", () => children.killAllNow());
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      progress(`\n${signal}: stopping every process the bench started`);
      children.killAllNow();
      process.exit(130);
    });
  }
  const watchdog = setTimeout(() => {
    progress(`bench: over its time budget (${Math.round(budgetMs(options) / 1000)} s); stopping everything`);
    children.killAllNow();
    process.exit(1);
  }, budgetMs(options));
  watchdog.unref();

  const workDir = children.tempDir("switchyard-bench-");
  let load: BenchContext["load"];
  try {
    load = await findLoadTool(children, workDir, options.loadTool);
  } catch (err) {
    if (!(err instanceof NoLoadToolError)) throw err;
    progress(`bench: ${err.message}`);
    return 1;
  }
  const webhook = findWebhook();
  let freshNames = 0;
  const ctx: BenchContext = {
    options,
    children,
    load,
    payload: githubPayload(),
    workDir,
    webhookBinary: webhook?.binary,
    progress,
    quiet: () => waitForQuiet(() => children.livePids(), options.quietWaitS * 1000, progress),
    fresh: (name) => `${name}-${++freshNames}`,
  };
  const results: Results = {
    startedAt: new Date().toISOString(),
    machine: describeMachine({ name: load.name, version: load.version }, webhook?.version),
    source: describeSource(REPO_ROOT),
    options,
    targets: [],
    errors: [],
  };

  const run: Record<ScenarioName, () => Promise<void>> = {
    ingest: async () => {
      results.ingest = await ingest(ctx);
    },
    delivery: async () => {
      results.delivery = await delivery(ctx);
    },
    exec: async () => {
      results.exec = await execDrain(ctx);
    },
    routes: async () => {
      results.routes = await routes(ctx);
    },
  };
  for (const scenario of options.scenarios) {
    try {
      await run[scenario]();
    } catch (err) {
      // One scenario's failure (a server that would not start) does not lose the others' numbers.
      progress(`${scenario} failed: ${(err as Error).stack ?? err}`);
      results.errors.push({ scenario, message: (err as Error).message });
    }
  }
  results.finishedAt = new Date().toISOString();
  results.targets = checkTargets(results);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, "-");
  if (results.ingest?.profile) {
    // The temp folder goes away at exit: keep the profile beside the results, for DevTools.
    const kept = join(RESULTS_DIR, `${stamp}.cpuprofile`);
    copyFileSync(results.ingest.profile.file, kept);
    results.ingest.profile.file = relative(REPO_ROOT, kept);
    results.ingest.profile.summary.file = results.ingest.profile.file;
  }
  const jsonFile = join(RESULTS_DIR, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${formatResults(results)}\n\nresults: ${relative(process.cwd(), jsonFile)}\n`);
  return results.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
