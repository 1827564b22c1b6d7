import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { CLI } from "./paths.js";

/**
 * `npm run bench:console [-- --events N --runs N --keep DIR]`: the console API's listing and
 * overview on a big SQLite store (default 1 000 000 events), seeded fast with direct inserts
 * (one target per event, 0.1 % dead, 24 h of per-minute counters for 3 routes), then served by
 * the built daemon and asked each question `runs` times in a row. Prints p50/p95/max per
 * endpoint against the target of 200 ms. Not a test: timings depend on the machine.
 */

const TARGET_MS = 200;
const ROUTES = ["github", "stripe", "meraki"];
const MINUTE = 60_000;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** UUIDv7-like ids in time order, as the daemon makes them. */
function eventId(ms: number, n: number): string {
  const hex = ms.toString(16).padStart(12, "0");
  const tail = n.toString(16).padStart(20, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${tail.slice(0, 3)}-8${tail.slice(3, 6)}-${tail.slice(8, 20)}`;
}

function seed(file: string, events: number): { newestId: string } {
  // The daemon's own schema (version 3), then rows written directly: much faster than webhooks.
  void SqliteStore.open(file).close();
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const now = Date.now();
  const span = 7 * 24 * 60 * MINUTE;
  const insertEvent = db.prepare(
    "INSERT INTO events (id, route, received_at_ms, method, path, query, headers, body) VALUES (?, ?, ?, 'POST', ?, '{}', ?, ?)",
  );
  const headers = JSON.stringify({ "content-type": "application/json", "x-github-event": "push" });
  const insertDelivery = db.prepare(
    "INSERT INTO deliveries (event_id, route, target, state, attempts, due_at, last_error, updated_at) VALUES (?, ?, 'notify', ?, 1, ?, ?, ?)",
  );
  const insertAttempt = db.prepare(
    "INSERT INTO attempts (delivery_id, seq, attempt, started_at, duration_ms, outcome, status, exit_code, response, error) VALUES (?, 1, 1, ?, 42, ?, ?, NULL, ?, ?)",
  );
  let newestId = "";
  const batch = 50_000;
  for (let start = 0; start < events; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(events, start + batch); i++) {
        const ms = now - span + Math.floor((span * i) / events);
        const route = ROUTES[i % ROUTES.length] ?? "github";
        const id = eventId(ms, i);
        const body = Buffer.from(JSON.stringify({ ref: "refs/heads/main", repository: { full_name: `org/repo-${i % 1000}` }, n: i }));
        insertEvent.run(id, route, ms, `/hooks/${route}`, headers, body);
        const dead = i % 1000 === 7;
        const d = insertDelivery.run(id, route, dead ? "dead" : "delivered", ms, dead ? "HTTP 404 Not Found" : null, ms);
        insertAttempt.run(
          d.lastInsertRowid,
          ms,
          dead ? "dead" : "delivered",
          dead ? 404 : 200,
          dead ? "not here" : "ok",
          dead ? "HTTP 404 Not Found" : null,
        );
        newestId = id;
      }
    })();
    progress(`seeded ${Math.min(events, start + batch)} / ${events} events`);
  }
  const addCount = db.prepare("INSERT INTO counts (minute, route, target, name, n) VALUES (?, ?, ?, ?, ?)");
  db.transaction(() => {
    const first = Math.floor((now - 24 * 60 * MINUTE) / MINUTE) * MINUTE;
    for (let m = first; m <= now; m += MINUTE) {
      for (const route of ROUTES) {
        addCount.run(m, route, "", "accepted", 10);
        addCount.run(m, route, "", "rejected", 1);
        addCount.run(m, route, "notify", "delivered", 10);
        addCount.run(m, route, "notify", "ms_le_50", 9);
        addCount.run(m, route, "notify", "ms_le_250", 1);
      }
    }
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { newestId };
}

function config(dir: string, file: string): string {
  const routes = ROUTES.map(
    (r) => `  - name: ${r}
    path: /hooks/${r}
    verify: { type: none }
    targets: [{ name: notify, type: http, url: "http://127.0.0.1:9/" }]`,
  ).join("\n");
  const path = join(dir, "switchyard.yaml");
  writeFileSync(path, `server: { listen: 127.0.0.1:0 }\nstore: { path: ${JSON.stringify(file)}, retention: 30d }\nroutes:\n${routes}\n`);
  return path;
}

async function startDaemon(configFile: string): Promise<{ url: string; stop: () => void }> {
  const proc = spawn(process.execPath, [CLI, "serve", "-c", configFile], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buffered = "";
    proc.once("exit", (code) => reject(new Error(`the daemon exited with ${code}`)));
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const m = /"msg":"switchyard started"/.test(buffered) ? /"listen":\{[^}]*"port":(\d+)/.exec(buffered) : null;
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, stop: () => proc.kill("SIGTERM") });
    });
  });
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function measure(url: string, runs: number, pauseMs = 0): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const events = Number(option("events", "1000000"));
  const runs = Number(option("runs", "20"));
  const dir = option("keep", join(tmpdir(), `switchyard-console-bench-${events}`));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "switchyard.db");
  let newestId: string;
  if (existsSync(file)) {
    progress(`using the store already seeded at ${file}`);
    const db = new Database(file, { readonly: true });
    newestId = String(db.prepare("SELECT id FROM events ORDER BY received_at_ms DESC LIMIT 1").pluck().get());
    db.close();
  } else {
    ({ newestId } = seed(file, events));
  }
  const daemon = await startDaemon(config(dir, file));
  try {
    const first = (await (await fetch(`${daemon.url}/api/v1/events?limit=50`)).json()) as { next: string };
    // A page deep in the store: the cursor of an event half way back.
    const db = new Database(file, { readonly: true });
    const middle = db
      .prepare("SELECT received_at_ms || '.' || rowid FROM events ORDER BY received_at_ms LIMIT 1 OFFSET ?")
      .pluck()
      .get(Math.floor(events / 2));
    db.close();
    // The overview shares one reading for a second: paused past it, every request reads afresh.
    const cases: [string, string, number?][] = [
      ["events, newest page", "/api/v1/events?limit=50"],
      ["events, second page", `/api/v1/events?limit=50&before=${encodeURIComponent(first.next)}`],
      ["events, a page half way back", `/api/v1/events?limit=50&before=${encodeURIComponent(String(middle))}`],
      ["events of one route", "/api/v1/events?route=stripe&limit=50"],
      ["events, state=dead (bounded scan)", "/api/v1/events?state=dead&limit=50"],
      [
        "events, JSONata search (bounded scan)",
        `/api/v1/events?q=${encodeURIComponent('body.repository.full_name = "org/repo-7"')}&limit=50`,
      ],
      ["one event with its attempts", `/api/v1/events/${newestId}`],
      ["overview (routes), each a fresh reading", "/api/v1/routes", 1_100],
      ["status", "/api/v1/status"],
    ];
    const lines = [`console API on ${events.toLocaleString("en")} stored events, ${runs} requests each (target ≤ ${TARGET_MS} ms)`, ""];
    lines.push(`${"endpoint".padEnd(40)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"max ms".padStart(8)}  verdict`);
    for (const [name, path, pauseMs] of cases) {
      const t = await measure(`${daemon.url}${path}`, runs, pauseMs);
      const p95 = percentile(t, 0.95);
      const cells = [percentile(t, 0.5), p95, t.at(-1) ?? Number.NaN].map((v) => v.toFixed(1).padStart(8));
      lines.push(`${name.padEnd(40)} ${cells.join(" ")}  ${p95 <= TARGET_MS ? "ok" : "over target"}`);
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    daemon.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
