import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { StoreOutage } from "../../src/telemetry/store-outage.js";

/** One outage, one line each way: a fault the store explained itself is not told twice. */

function capture(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe("StoreOutage", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("logs an outage and its end once each", () => {
    const { log, lines } = capture();
    const outage = new StoreOutage(log, "the SQLite store at /x/s.db");
    outage.failed(new StoreUnavailableError("sqlite store: enqueue: disk I/O error"));
    outage.failed(new StoreUnavailableError("sqlite store: enqueue: disk I/O error"));
    expect(outage.active).toBe(true);
    outage.succeeded();
    outage.succeeded();
    expect(lines.map((l) => l.msg)).toEqual([
      "the SQLite store at /x/s.db unavailable; answering 503 to webhooks until it is back",
      "the SQLite store at /x/s.db is back after 0 s; accepting webhooks again",
    ]);
  });

  it("stays silent, both ways, about a store file problem the store has logged itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-outage-"));
    dirs.push(dir);
    const file = join(dir, "s.db");
    const store = SqliteStore.open(file, { checkIntervalMs: 60_000 });
    try {
      rmSync(file);
      // What ingress and /readyz get from the store while its file is gone.
      const err = await store.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).explained).toBe(true);
      const { log, lines } = capture();
      const outage = new StoreOutage(log, `the SQLite store at ${file}`);
      outage.failed(err as StoreUnavailableError);
      expect(outage.active).toBe(false);
      outage.succeeded();
      expect(lines).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
