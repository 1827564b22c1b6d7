import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { receivedEvent } from "../../src/pipeline/event.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { immutableStopsOpenFiles, setImmutable } from "../server/tmpfs.js";
import {
  cleanupAfterEach,
  metric,
  post,
  type RunningDaemon,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * The store's file taken from under a running daemon: removed, replaced, made read-only. A 202
 * must still mean the event is delivered after an ordinary restart, the daemon must say what
 * happened in plain words once, and /readyz and ingress must agree.
 */

const TOKEN = "store-file-token";
const auth = { authorization: `Bearer ${TOKEN}` };

function config(dir: string, sinkUrl: string): string {
  return writeConfig(
    dir,
    `
server: { listen: 127.0.0.1:0, shutdown_timeout: 2s }
store: { path: ./data/switchyard.db }
routes:
  - name: hooks
    path: /hooks
    verify: { type: token, secret: ${TOKEN} }
    targets:
      - { name: sink, type: http, url: "${sinkUrl}/in", timeout: 2s, retry: { attempts: 100, backoff: 100ms, max_backoff: 300ms } }
`,
  );
}

/** Posts `n` events at once; the ids of those answered 202, and every status seen. */
async function burst(url: string, n: number, from: number): Promise<{ acked: string[]; statuses: number[] }> {
  const acked: string[] = [];
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await post(`${url}/hooks`, JSON.stringify({ n: from + i }), auth);
      statuses.push(res.status);
      if (res.status === 202) acked.push((res.json() as { id: string }).id);
    }),
  );
  return { acked, statuses };
}

const deliveredIds = (sink: Sink) => new Set(sink.requests.map((r) => String(r.headers["x-switchyard-event-id"])));
const linesWith = (d: RunningDaemon, text: string) => d.logs.filter((l) => l.msg.includes(text));

describe("e2e: the store file removed or replaced under a running daemon", () => {
  const { track, later } = cleanupAfterEach();
  /** A target that answers 503 until `open()`: what was acked stays queued until then. */
  const closedSink = async () => {
    const sink = track(await startSink());
    let up = false;
    sink.respond = (_req, res) => {
      res.writeHead(up ? 200 : 503).end();
    };
    return { sink, open: () => (up = true) };
  };

  it("rm of the store file: no acked event is lost across an ordinary restart, and the log says so once", async () => {
    const dir = tempDir();
    const { sink, open } = await closedSink();
    const file = config(dir, sink.url);
    const storeFile = join(dir, "data", "switchyard.db");
    const first = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    const before = await burst(first.url, 200, 0);
    expect(before.acked).toHaveLength(200);

    rmSync(storeFile);
    const during = await burst(first.url, 200, 200);
    // Whatever was answered 202 is kept; the rest was refused, never silently dropped.
    for (const s of during.statuses) expect([202, 503]).toContain(s);
    await waitFor(() => linesWith(first, "rebuilt").length > 0, "the store file to be rebuilt");
    expect(existsSync(storeFile)).toBe(true);
    const removed = linesWith(first, "was removed");
    expect(removed).toHaveLength(1);
    expect(removed[0]?.msg).toContain(storeFile);
    expect(removed[0]?.msg).toContain("503");
    const after = await burst(first.url, 50, 400);
    expect(after.acked).toHaveLength(50);
    expect((await fetch(`${first.adminUrl}/readyz`)).status).toBe(200);

    expect(await first.stop()).toBe(0);
    open();
    const second = track(await startDaemon(file));
    const acked = [...before.acked, ...during.acked, ...after.acked];
    await waitFor(() => acked.every((id) => deliveredIds(sink).has(id)), `all ${acked.length} acked events delivered`, 60_000);
    expect(second.logs.filter((l) => l.level === "error")).toEqual([]);
  }, 120_000);

  it("rm of the store file right before a stop: the stopping daemon writes it back", async () => {
    const dir = tempDir();
    const { sink, open } = await closedSink();
    const file = config(dir, sink.url);
    const first = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    const before = await burst(first.url, 100, 0);
    expect(before.acked).toHaveLength(100);
    rmSync(join(dir, "data", "switchyard.db"));
    expect(await first.stop()).toBe(0);
    open();
    const second = track(await startDaemon(file));
    await waitFor(() => before.acked.every((id) => deliveredIds(sink).has(id)), "all 100 acked events delivered", 60_000);
    expect(second.logs.filter((l) => l.level === "error")).toEqual([]);
  }, 120_000);

  it("rm -rf of the data folder: the folder and file come back with every acked event", async () => {
    const dir = tempDir();
    const { sink, open } = await closedSink();
    const file = config(dir, sink.url);
    const first = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    const before = await burst(first.url, 100, 0);
    expect(before.acked).toHaveLength(100);
    rmSync(join(dir, "data"), { recursive: true });
    await waitFor(() => linesWith(first, "rebuilt").length > 0, "the store file to be rebuilt");
    expect(linesWith(first, "was removed")).toHaveLength(1);
    expect(await first.stop()).toBe(0);
    open();
    const second = track(await startDaemon(file));
    await waitFor(() => before.acked.every((id) => deliveredIds(sink).has(id)), "all 100 acked events delivered", 60_000);
    expect(second.logs.filter((l) => l.level === "error")).toEqual([]);
  }, 120_000);

  it("a store file replaced by another (a restored backup): the daemon switches to it and saves what it held beside it", async () => {
    const dir = tempDir();
    const { sink, open } = await closedSink();
    const file = config(dir, sink.url);
    const storeFile = join(dir, "data", "switchyard.db");
    const first = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    const before = await burst(first.url, 50, 0);
    expect(before.acked).toHaveLength(50);

    // The backup holds an event of its own, still to be delivered.
    const otherDir = mkdtempSync(join(tmpdir(), "switchyard-other-"));
    later(() => rmSync(otherDir, { recursive: true, force: true }));
    const other = SqliteStore.open(join(otherDir, "other.db"));
    const fromBackup = randomUUID();
    const event = receivedEvent({
      id: fromBackup,
      route: "hooks",
      receivedAt: new Date().toISOString(),
      method: "POST",
      path: "/hooks",
      query: {},
      headers: {},
      rawBody: Buffer.from("{}"),
    });
    await other.enqueue({ event, targets: ["sink"] });
    await other.close();
    renameSync(join(otherDir, "other.db"), storeFile);

    const saved = await waitFor(() => readdirSync(join(dir, "data")).find((f) => f.startsWith("switchyard.db.saved-")), "the saved copy");
    await waitFor(() => linesWith(first, join(dir, "data", saved)).length > 0, "the log to name the saved copy");
    const replaced = linesWith(first, "was replaced");
    expect(replaced).toHaveLength(1);
    expect(replaced[0]?.msg).toContain(storeFile);
    const copy = new Database(join(dir, "data", saved), { readonly: true });
    const inCopy = new Set(copy.prepare<[], string>("SELECT id FROM events").pluck().all());
    copy.close();
    for (const id of before.acked) expect(inCopy.has(id)).toBe(true);

    // The daemon goes on with the file that is there now.
    const late = await waitFor(async () => {
      const r = await post(`${first.url}/hooks`, `{"late":true}`, auth);
      return r.status === 202 ? (r.json() as { id: string }).id : undefined;
    }, "webhooks to be accepted on the new file");
    expect((await fetch(`${first.adminUrl}/readyz`)).status).toBe(200);
    open();
    await waitFor(() => deliveredIds(sink).has(fromBackup) && deliveredIds(sink).has(late), "the new file's events delivered");

    // As the log says: stop, move the saved copy into place, start: what was waiting is delivered.
    expect(await first.stop()).toBe(0);
    renameSync(join(dir, "data", saved), storeFile);
    const second = track(await startDaemon(file));
    await waitFor(() => before.acked.every((id) => deliveredIds(sink).has(id)), "the 50 acked events delivered", 60_000);
    expect(second.logs.filter((l) => l.level === "error")).toEqual([]);
  }, 120_000);
});

function canMakeImmutable(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-immutable-"));
  try {
    return immutableStopsOpenFiles(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const roSkip = canMakeImmutable();
if (roSkip) console.warn(`SKIPPING the read-only store file e2e tests: ${roSkip}`);

describe.skipIf(roSkip !== undefined)("e2e: a read-only store file", () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("made immutable while running: ingress agrees with /readyz (503), says why once, and both recover", async () => {
    const dir = tempDir();
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const file = config(dir, sink.url);
    const storeFile = join(dir, "data", "switchyard.db");
    const daemon = await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" });
    cleanups.push(() => daemon.stop("SIGKILL"));
    expect((await burst(daemon.url, 10, 0)).acked).toHaveLength(10);

    // Only the database file: the WAL stays writable, so writes would "succeed" and pile up there.
    setImmutable([storeFile], true);
    cleanups.push(() => setImmutable([storeFile], false));
    expect((await fetch(`${daemon.adminUrl}/readyz`)).status).toBe(503);
    const during = await burst(daemon.url, 20, 10);
    expect(during.statuses.every((s) => s === 503)).toBe(true);
    // One line says it, with the path: the store's own; the outage is not told again in other words.
    const lines = linesWith(daemon, "cannot be written");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain(storeFile);
    expect(linesWith(daemon, "answering 503 to webhooks until it is back")).toEqual([]);
    const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metric(text, "switchyard_store_wal_bytes")).toBeGreaterThan(0);

    setImmutable([storeFile], false);
    await waitFor(async () => (await fetch(`${daemon.adminUrl}/readyz`)).status === 200, "/readyz to recover");
    await waitFor(async () => (await post(`${daemon.url}/hooks`, "{}", auth)).status === 202, "webhooks to be accepted again");
    // And one line when it is over.
    const back = await waitFor(() => linesWith(daemon, "is writable again; accepting webhooks")[0], "the log to say it is writable again");
    expect(back.level).toBe("info");
    expect(back.msg).toContain(storeFile);
    expect(linesWith(daemon, "accepting webhooks")).toHaveLength(1);
  }, 60_000);

  it("started on an immutable file: 503 and a clear log line, then recovers without a restart once writable", async () => {
    const dir = tempDir();
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const file = config(dir, sink.url);
    const storeFile = join(dir, "data", "switchyard.db");
    await SqliteStore.open(storeFile).close();
    setImmutable([storeFile], true);
    cleanups.push(() => setImmutable([storeFile], false));
    const daemon = await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" });
    cleanups.push(() => daemon.stop("SIGKILL"));
    expect((await post(`${daemon.url}/hooks`, "{}", auth)).status).toBe(503);
    expect((await fetch(`${daemon.adminUrl}/readyz`)).status).toBe(503);
    const lines = linesWith(daemon, "cannot be written");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain(storeFile);

    setImmutable([storeFile], false);
    const res = await waitFor(async () => {
      const r = await post(`${daemon.url}/hooks`, `{"late":true}`, auth);
      return r.status === 202 ? r : undefined;
    }, "webhooks to be accepted once the file is writable");
    expect((await fetch(`${daemon.adminUrl}/readyz`)).status).toBe(200);
    const id = (res.json() as { id: string }).id;
    await waitFor(() => deliveredIds(sink).has(id), "the event accepted after recovery to be delivered");
  }, 60_000);
});
