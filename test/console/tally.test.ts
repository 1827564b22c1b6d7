import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { quantile } from "../../src/console/overview.js";
import { latencyBucket, Tally } from "../../src/console/tally.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";

/** The overview's counters: counted in memory, added to a real SQLite store, kept through a store fault. */

const MINUTE = 60_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-tally-"));
  dirs.push(dir);
  return SqliteStore.open(join(dir, "switchyard.db"));
}

describe("Tally", () => {
  it("adds each minute's counts to the store, and keeps them through a failed flush", async () => {
    const store = openStore();
    let down = false;
    // The store as the daemon sees it while its disk is failing: addCounts rejects.
    const flaky = new Proxy(store, {
      get(target, key, receiver) {
        if (key === "addCounts" && down) return () => Promise.reject(new StoreUnavailableError("sqlite store: disk full"));
        const v = Reflect.get(target, key, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Store;
    let now = Date.UTC(2026, 11, 1, 12, 0, 30);
    const warnings: string[] = [];
    const tally = new Tally(flaky, { warn: (_f, msg) => warnings.push(msg) }, () => now);
    tally.received("github", "accepted");
    tally.received("github", "accepted");
    tally.received("github", "rejected");
    tally.delivered("github", "notify", "delivered", 42);
    tally.delivered("github", "notify", "retry", 7_000, "HTTP 503");
    down = true;
    await tally.flush();
    expect(warnings).toEqual(["could not store the console's counters; kept in memory and tried again"]);
    now += MINUTE;
    tally.received("github", "accepted");
    down = false;
    await tally.flush();
    await tally.flush();
    const minute = Date.UTC(2026, 11, 1, 12, 0, 0);
    const rows = await store.counts({ since: minute - MINUTE, bucketMinutes: 1 });
    const by = (m: number, target: string, name: string) => rows.find((r) => r.minute === m && r.target === target && r.name === name)?.n;
    expect(by(minute, "", "accepted")).toBe(2);
    expect(by(minute, "", "rejected")).toBe(1);
    expect(by(minute + MINUTE, "", "accepted")).toBe(1);
    expect(by(minute, "notify", "delivered")).toBe(1);
    expect(by(minute, "notify", "ms_le_50")).toBe(1);
    expect(by(minute, "notify", "ms_le_10000")).toBe(1);
    expect(tally.lastErrors.get("github\u0000notify")).toEqual({ at: minute + 30_000, error: "HTTP 503" });
    await store.close();
  });

  it("estimates percentiles from latency buckets as histogram_quantile does", () => {
    expect(latencyBucket(0)).toBe("ms_le_5");
    expect(latencyBucket(5)).toBe("ms_le_5");
    expect(latencyBucket(6)).toBe("ms_le_10");
    expect(latencyBucket(400_000)).toBe("ms_le_inf");
    expect(quantile(0.5, new Map())).toBeNull();
    // 10 in (0, 5], 10 in (50, 100]: the median is at the top of the first bucket.
    const counts = new Map([
      ["ms_le_5", 10],
      ["ms_le_100", 10],
    ]);
    expect(quantile(0.5, counts)).toBe(5);
    expect(quantile(0.95, counts)).toBe(95);
    expect(quantile(0.99, new Map([["ms_le_inf", 3]]))).toBe(300_000);
  });
});
