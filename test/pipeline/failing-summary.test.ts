import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { receivedEvent } from "../../src/pipeline/event.js";
import { FailingTargets } from "../../src/pipeline/failing-targets.js";
import { Worker } from "../../src/pipeline/worker.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { Metrics } from "../../src/telemetry/metrics.js";

/**
 * The per-target summary that stands in for a warning per retry: the real worker, a real store
 * and a real target that keeps failing, with the summary's period shortened.
 */

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

async function until(what: () => boolean, label: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !what(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("failing deliveries in the log", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("sums up each failing target periodically at warn: how many, the oldest's age, the last error", async () => {
    const server: Server = createServer((_req, res) => res.writeHead(503).end("target down for maintenance"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;

    const dir = mkdtempSync(join(tmpdir(), "switchyard-failing-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const lines: Line[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
    const yaml = `
routes:
  - name: hooks
    path: /hooks
    verify: { type: none }
    targets:
      - { name: down, type: http, url: "${url}", retry: { attempts: 1000, backoff: 20ms, max_backoff: 50ms } }
`;
    const config = compileConfig(parseConfig(yaml, join(dir, "switchyard.yaml"), {}), { log });
    const store = SqliteStore.open(join(dir, "store.db"));
    cleanups.push(() => store.close());
    const received = Date.now() - 30_000;
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      await store.enqueue({
        event: receivedEvent({
          id,
          route: "hooks",
          receivedAt: new Date(received).toISOString(),
          method: "POST",
          path: "/hooks",
          query: {},
          headers: {},
          rawBody: Buffer.from("{}"),
        }),
        targets: ["down"],
      });
    }
    const worker = new Worker({ store, metrics: new Metrics(() => store.depth()), log, config: () => config, failingSummaryEveryMs: 300 });
    worker.start();
    cleanups.push(() => worker.stop(2_000));

    const summaries = () => lines.filter((l) => l.msg.includes("keep failing"));
    await until(() => summaries().length >= 2, "two summaries");
    const last = summaries().at(-1);
    expect(last).toMatchObject({ level: 40, route: "hooks", target: "down", failing: 5 });
    expect(last?.oldestAgeSeconds).toBeGreaterThanOrEqual(30);
    expect(String(last?.lastError)).toContain("503");
    // Many retries meanwhile, but a warning for the first failure of each delivery only.
    expect(lines.filter((l) => l.msg.includes("retry scheduled"))).toHaveLength(5);
  });

  it("forgets a delivery once it is settled, or when it was not tried again long after it was due", () => {
    const t = new FailingTargets(1_000);
    const key = { route: "r", target: "t" };
    t.failed(key, "1", 0, 10_000, "boom");
    t.failed(key, "2", 5_000, 10_000, "bang");
    expect(t.summary(10_500)).toEqual([{ route: "r", target: "t", failing: 2, oldestAgeSeconds: 11, lastError: "bang" }]);
    t.settled(key, "1");
    expect(t.summary(10_500)).toEqual([{ route: "r", target: "t", failing: 1, oldestAgeSeconds: 6, lastError: "bang" }]);
    expect(t.summary(11_001)).toEqual([]);
  });
});
