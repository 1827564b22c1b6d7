import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { loadAndCompile } from "../../src/config/compile.js";
import { Worker } from "../../src/pipeline/worker.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";

describe("the worker's shutdown", () => {
  it("says so in the log when it cannot give its leases back, and still stops", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-work-shutdown-"));
    const file = join(dir, "switchyard.yaml");
    writeFileSync(
      file,
      `store: { path: ./store.db }
routes:
  - { name: r, path: /r, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    const lines: Record<string, unknown>[] = [];
    const log = createLogger(
      "info",
      new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      }),
    );
    const config = loadAndCompile(file, { log });
    const store = await SqliteStore.open(join(dir, "store.db"));
    const metrics = new Metrics(() => store.depth());
    const worker = new Worker({ store, metrics, log, config: () => config });
    worker.start();
    // The store goes away under the worker (a disk pulled, a bug): releasing fails.
    await store.close();
    await worker.stop(1_000);
    // pino may write to the stream after a tick.
    const warning = await vi.waitFor(
      () => {
        const found = lines.find((l) => l.msg === "could not release leases at shutdown; they will be reclaimed when they expire");
        if (!found) throw new Error("not logged yet");
        return found;
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(warning?.level).toBe("warn");
    expect(String(warning?.err)).toContain("closed");
  }, 30_000);
});
