import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type CompiledTarget, loadAndCompile } from "../../src/config/compile.js";
import { PausedTargets } from "../../src/pipeline/paused-targets.js";
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

const key = { route: "r", target: "t" };

/** A paused target `t` (probe 30s) in a real SQLite store, as the worker sees it. */
async function pausedSetup(cleanups: (() => void)[]) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-paused-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "switchyard.yaml");
  writeFileSync(
    file,
    `store: { path: ./store.db }
routes:
  - { name: r, path: /r, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/", concurrency: 16, pause_after: { failures: 1, for: 0s, probe: 30s } }] }
`,
  );
  const log = quietLog();
  const config = loadAndCompile(file, { log });
  const store = SqliteStore.open(join(dir, "store.db"));
  cleanups.push(() => store.close());
  const target = config.byName.get("r")?.targets.find((t) => t.name === "t") as CompiledTarget;
  const paused = new PausedTargets({ store, log, metrics: new Metrics(() => store.depth()) });
  const t0 = 1_000_000;
  await store.pauseTarget({ ...key, since: t0, error: "down" });
  await paused.refresh(t0, true);
  return { store, paused, target, t0 };
}

describe("paused targets", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it("probes again when a successful probe's resume could not be recorded, instead of staying paused for good", async () => {
    const { store, paused, target, t0 } = await pausedSetup(cleanups);
    const due = t0 + 30_000;
    expect(paused.claimable(key, 16, due)).toBe(1);
    paused.probing(key);
    paused.probeClaimed(key, "probe-1");
    // The store is busy just when the probe succeeds.
    const resume = vi.spyOn(store, "resumeTarget").mockRejectedValueOnce(new Error("SQLITE_BUSY: database is locked"));
    await expect(paused.settled(key, target, { kind: "delivered" }, due + 10)).rejects.toThrow(/SQLITE_BUSY/);
    // The next pass lets a probe through at once; its success resumes the target.
    expect(paused.claimable(key, 16, due + 20)).toBe(1);
    resume.mockRestore();
    paused.probing(key);
    paused.probeClaimed(key, "probe-2");
    await paused.settled(key, target, { kind: "delivered" }, due + 30);
    expect(await store.pausedTargets()).toEqual([]);
    expect(paused.claimable(key, 16, due + 40)).toBe(16);
  });

  it("counts only the probe's failure: tries in flight when the target was paused neither lengthen the wait nor let a second probe out", async () => {
    const { paused, target, t0 } = await pausedSetup(cleanups);
    const due = t0 + 30_000;
    paused.probing(key);
    paused.probeClaimed(key, "probe-1");
    // Fifteen tries that were already in flight fail while the probe is out.
    for (let n = 0; n < 15; n++) {
      const s = paused.adjust({ ...key, id: `inflight-${n}` }, target, { kind: "retry", at: due, error: "refused" }, due + n);
      expect(s.kind).toBe("retry");
    }
    expect(paused.claimable(key, 16, due + 100)).toBe(0);
    expect(paused.probeAt(key)).toBe(Number.POSITIVE_INFINITY);
    // The probe itself fails: the next one is one doubling away (60s), not the 10-minute cap.
    const s = paused.adjust({ ...key, id: "probe-1" }, target, { kind: "retry", at: due, error: "refused" }, due + 200);
    expect(s).toEqual({ kind: "retry", at: due + 200 + 60_000, error: "refused" });
    expect(paused.probeAt(key)).toBe(due + 200 + 60_000);
    expect(paused.claimable(key, 16, due + 200 + 60_000)).toBe(1);
  });
});
