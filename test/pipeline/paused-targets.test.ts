import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "../../src/alerts/alert.js";
import { type CompiledTarget, loadAndCompile } from "../../src/config/compile.js";
import { PausedTargets } from "../../src/pipeline/paused-targets.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";

const key = { route: "r", target: "t" };

const route = (pauseAfter: string, extra = "") => `store: { path: ./store.db }
routes:
  - { name: r, path: /r, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/", concurrency: 16, pause_after: ${pauseAfter} }${extra}] }
`;
const PAUSING = "{ failures: 1, for: 0s, probe: 30s }";

/** A paused target `t` (probe 30s) in a real SQLite store, as the worker sees it; `reload` swaps the config. */
async function pausedSetup(cleanups: (() => void)[], yaml = route(PAUSING)) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-paused-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "switchyard.yaml");
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    "info",
    new Writable({
      write(chunk, _encoding, done) {
        for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  );
  const load = (text: string) => {
    writeFileSync(file, text);
    return loadAndCompile(file, { log });
  };
  let config = load(route(PAUSING));
  const store = SqliteStore.open(join(dir, "store.db"));
  cleanups.push(() => store.close());
  const target = config.byName.get("r")?.targets.find((t) => t.name === "t") as CompiledTarget;
  const metrics = new Metrics(() => store.depth());
  const alerts: Alert[] = [];
  const paused = new PausedTargets({ store, log, metrics, config: () => config, alerts: { raise: (a) => alerts.push(a) } });
  const t0 = 1_000_000;
  await store.pauseTarget({ ...key, since: t0, error: "down" });
  config = load(yaml);
  await paused.refresh(t0, true);
  const reload = (text: string) => {
    config = load(text);
  };
  const gauge = async (target: string) =>
    (await metrics.targetPaused.get()).values.find((v) => v.labels.route === "r" && v.labels.target === target)?.value;
  return { store, paused, target, t0, reload, lines, alerts, gauge };
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

  it("ignores the pause of a target the config no longer has: no paused gauge, no resume alert, and it is found again if the target comes back", async () => {
    const { paused, t0, reload, alerts, gauge, store } = await pausedSetup(cleanups);
    expect(await gauge("t")).toBe(1);
    // A reload renames t to u.
    reload(route(PAUSING).replace("name: t,", "name: u,"));
    await paused.refresh(t0 + 2_000, true);
    expect(await gauge("t")).toBe(0);
    expect(alerts).toEqual([]);
    expect(await store.pausedTargets()).toHaveLength(1);
    // Named back: still paused, as the store says.
    reload(route(PAUSING));
    await paused.refresh(t0 + 4_000, true);
    expect(await gauge("t")).toBe(1);
    expect(paused.claimable(key, 16, t0 + 4_000)).toBe(0);
  });

  it("never counts a pause found at start for a target not in the config", async () => {
    const { gauge } = await pausedSetup(cleanups, route(PAUSING).replace("name: t,", "name: u,"));
    expect(await gauge("t")).not.toBe(1);
  });

  it("lifts the pause of a target whose config now says pause_after: false, and says so in the log", async () => {
    const { paused, store, t0, reload, lines, gauge, alerts } = await pausedSetup(cleanups);
    expect(paused.claimable(key, 16, t0 + 1)).toBe(0);
    reload(route("false"));
    await paused.refresh(t0 + 2_000, true);
    expect(await store.pausedTargets()).toEqual([]);
    expect(paused.claimable(key, 16, t0 + 2_000)).toBe(16);
    expect(await gauge("t")).toBe(0);
    expect(lines.filter((l) => String(l.msg).startsWith("pause lifted: the target has pause_after: false now"))).toHaveLength(1);
    expect(alerts).toEqual([]);
  });
});
