import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { burst } from "./burst.js";
import { Children, waitFor } from "./children.js";
import { BENCH_SECRET, githubPayload } from "./payload.js";
import { startSink, startSwitchyard } from "./servers.js";

/**
 * The relay end to end on loopback: an edge daemon takes GitHub pushes (7 KB, signed), a home
 * daemon pulls them and stores them after verifying GitHub's signature itself. Prints
 *   - throughput: events/s from the first POST to the edge until the last event is in the home
 *     store (`--events N`, default 3000, over 16 connections);
 *   - latency: for single events posted to an idle edge, the time until the home store has it,
 *     p50 and p95 (`--samples N`, default 50).
 * Run: `npm run build && node dist/bench/relay.js`. Measures this machine as it is: on a loaded
 * one the numbers say little.
 */

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : Number(process.argv[i + 1]);
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number from 1 up`);
  return value;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const events = option("events", 3000);
  const samples = option("samples", 50);
  const children = new Children();
  process.once("exit", () => children.killAllNow());
  process.once("SIGINT", () => process.exit(130));
  try {
    const dir = children.tempDir("switchyard-bench-relay-");
    const token = "bench-relay-token-0123456789";
    const sink = await startSink(children);
    const edgeFile = join(dir, "edge.yaml");
    writeFileSync(
      edgeFile,
      `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "${BENCH_SECRET}" }
    targets: [{ name: home, type: relay, path: /relay/home, token: "${token}", batch: 500 }]
`,
    );
    const edge = await startSwitchyard(children, edgeFile);
    const homeDb = join(dir, "home.db");
    const homeFile = join(dir, "home.yaml");
    writeFileSync(
      homeFile,
      `server: { listen: 127.0.0.1:0 }
store: { path: ${homeDb} }
relays: [{ name: edge, url: "${edge.base}/relay/home", token: "${token}", batch: 500 }]
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "${BENCH_SECRET}" }
    targets: [{ name: sink, type: http, url: "${sink.base}/" }]
`,
    );
    await startSwitchyard(children, homeFile);
    await waitFor(
      async () => {
        try {
          return new Database(homeDb, { readonly: true, fileMustExist: true });
        } catch {
          return undefined;
        }
      },
      "the home store",
      20_000,
    ).then((db) => db.close());
    const db = new Database(homeDb, { readonly: true });
    const count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM events");
    const stored = () => count.get()?.n ?? 0;
    const payload = githubPayload();

    // Latency first, on an idle edge: one event at a time, polling the home store every millisecond.
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const before = stored();
      const started = performance.now();
      const sent = await burst(`${edge.base}/hooks/github`, payload, 1, 1);
      if (sent.accepted !== 1) throw new Error("the edge did not accept a sample event");
      while (stored() === before) await new Promise((r) => setTimeout(r, 1));
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
    latencies.sort((a, b) => a - b);

    const before = stored();
    const started = performance.now();
    const sent = await burst(`${edge.base}/hooks/github`, payload, events, 16);
    const ingested = performance.now() - started;
    if (sent.accepted !== events) throw new Error(`the edge accepted ${sent.accepted} of ${events}`);
    while (stored() < before + events) await new Promise((r) => setTimeout(r, 5));
    const elapsed = (performance.now() - started) / 1000;
    db.close();

    console.log(`relay, loopback, ${payload.body.length}-byte GitHub pushes, SQLite on both sides`);
    console.log(`  throughput: ${events} events in ${elapsed.toFixed(2)} s = ${Math.round(events / elapsed)} events/s end to end`);
    console.log(`              (the edge took them in ${(ingested / 1000).toFixed(2)} s)`);
    console.log(
      `  latency:    idle edge → home store, ${samples} events: p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p95 ${quantile(latencies, 0.95).toFixed(1)} ms`,
    );
  } finally {
    children.killAllNow();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/relay: ${(err as Error).message}`);
  process.exitCode = 1;
});
