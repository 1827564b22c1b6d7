import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadAndCompile } from "../../src/config/compile.js";
import { type ReceivedEvent, receivedEvent } from "../../src/pipeline/event.js";
import { Worker } from "../../src/pipeline/worker.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";

const quietLog = () =>
  createLogger(
    "warn",
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  );

/** A target that takes a while to answer and records each body and how many it held at once. */
function slowSink(): Promise<{ server: Server; url: string; bodies: unknown[]; maxInFlight: () => number }> {
  const bodies: unknown[] = [];
  let inFlight = 0;
  let max = 0;
  const server = createServer((req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      setTimeout(() => {
        inFlight--;
        res.writeHead(200).end("ok");
      }, 20);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bodies, maxInFlight: () => max }),
    ),
  );
}

describe("the worker's hand-off of accepted events", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("delivers a burst to a busy target in full, once each, within its concurrency, the first attempts from the events it was handed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-handoff-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sink = await slowSink();
    cleanups.push(() => new Promise<void>((r) => sink.server.close(() => r())));
    const file = join(dir, "switchyard.yaml");
    writeFileSync(
      file,
      `store: { path: ./store.db }
routes:
  - { name: r, path: /r, verify: { type: none }, targets: [{ name: t, type: http, url: "${sink.url}", concurrency: 2 }] }
`,
    );
    const log = quietLog();
    const config = loadAndCompile(file, { log });
    const dbFile = join(dir, "store.db");
    const store = SqliteStore.open(dbFile);
    cleanups.push(() => store.close());
    const worker = new Worker({ store, metrics: new Metrics(() => store.depth()), log, config: () => config });
    cleanups.push(() => worker.stop(5_000));

    const events: ReceivedEvent[] = Array.from({ length: 30 }, (_, n) =>
      receivedEvent({
        id: randomUUID(),
        route: "r",
        receivedAt: new Date().toISOString(),
        method: "POST",
        path: "/r",
        query: {},
        headers: { "content-type": "application/json" },
        rawBody: Buffer.from(JSON.stringify({ n })),
      }),
    );
    // Stored first, as the ingress does (202 after the commit), then handed over. The stored
    // documents are then changed behind the worker's back: what reaches the target shows which
    // attempts read the store and which took the event they were handed.
    await Promise.all(events.map((event) => store.enqueue({ event, targets: ["t"] })));
    const db = new Database(dbFile);
    db.prepare("UPDATE events SET body = CAST(json_set(CAST(body AS TEXT), '$.readBack', json('true')) AS BLOB)").run();
    db.close();
    for (const event of events) worker.accepted(event, 1);
    // Started only now: an idle poll on a slow machine would otherwise find the stored rows first.
    worker.start();

    await vi.waitFor(() => expect(sink.bodies).toHaveLength(30), { timeout: 20_000, interval: 20 });
    const ns = sink.bodies.map((b) => (b as { n: number }).n).sort((a, b) => a - b);
    expect(ns).toEqual(events.map((_, n) => n));
    expect(sink.bodies.filter((b) => (b as { readBack?: boolean }).readBack)).toEqual([]);
    expect(sink.maxInFlight()).toBeLessThanOrEqual(2);
    await vi.waitFor(
      async () => expect((await store.events({ limit: 100 })).every((e) => e.deliveries[0]?.state === "delivered")).toBe(true),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
  }, 60_000);
});
