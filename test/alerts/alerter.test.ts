import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Alerter } from "../../src/alerts/alerter.js";
import { loadAndCompile } from "../../src/config/compile.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";

/** A logger whose lines the test can read. */
function recordingLog() {
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
  return { log, lines };
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup(cleanups: (() => void | Promise<void>)[], group = "0s") {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-alerter-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "switchyard.yaml");
  writeFileSync(
    file,
    `store: { path: ./store.db }
routes:
  - { name: r, path: /r, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
  - name: alerts
    on: [delivery.dead, config.reload_failed]
    group: ${group}
    targets: [{ name: phone, type: http, url: "http://127.0.0.1:9/", pause_after: false }]
`,
  );
  const { log, lines } = recordingLog();
  const config = loadAndCompile(file, { log });
  const store = SqliteStore.open(join(dir, "store.db"));
  cleanups.push(() => store.close());
  const metrics = new Metrics(() => store.depth());
  const accepted: string[] = [];
  const alerter = new Alerter({ store, log, metrics, config: () => config, accepted: (e) => accepted.push(e.id) });
  cleanups.push(() => alerter.close());
  const alertEvents = async () => (await store.events({ route: "alerts" })).length;
  return { store, alerter, lines, metrics, accepted, alertEvents };
}

describe("the alerter", () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("drops a held alert the store refuses for good, logs it, and stores the ones after it, each logged and counted", async () => {
    const { store, alerter, lines, metrics, accepted, alertEvents } = setup(cleanups);
    const real = store.enqueue.bind(store);
    const enqueue = vi.spyOn(store, "enqueue");
    // The store is down: both alerts are held.
    enqueue.mockRejectedValueOnce(new StoreUnavailableError("redis: connection lost"));
    enqueue.mockRejectedValueOnce(new StoreUnavailableError("redis: connection lost"));
    alerter.raise({ kind: "delivery.dead", route: "r", target: "t", eventId: "e1", attempts: 5, error: "refused" });
    alerter.raise({ kind: "config.reload_failed", error: "routes.0.path: must match" });
    await until(() => enqueue.mock.calls.length === 2);
    // Back: the first held alert had in fact been written before its reply was lost.
    enqueue.mockRejectedValueOnce(new Error("event 01J… is already stored"));
    enqueue.mockImplementation(real);
    await expect(alerter.flush()).resolves.toBeUndefined();

    expect(await alertEvents()).toBe(1);
    expect(accepted).toHaveLength(1);
    expect(lines.some((l) => l.msg === "held alert dropped: the store refused it" && String(l.err).includes("already stored"))).toBe(true);
    expect(lines.filter((l) => l.msg === "alert raised" && l.kind === "config.reload_failed")).toHaveLength(1);
    const counted = (await metrics.eventsReceived.get()).values.find((v) => v.labels.route === "alerts" && v.labels.outcome === "accepted");
    expect(counted?.value).toBe(1);
    // Nothing is left at the head of the queue: the next alert goes straight in.
    alerter.raise({ kind: "delivery.dead", route: "r", target: "t", eventId: "e2", attempts: 5, error: "refused" });
    await until(async () => (await alertEvents()) === 2);
  });

  it("stores the summary of a grouping window still open at shutdown, before the store closes", async () => {
    const { store, alerter, alertEvents } = setup(cleanups, "5m");
    for (const n of [1, 2, 3])
      alerter.raise({ kind: "delivery.dead", route: "r", target: "t", eventId: `e${n}`, attempts: 5, error: "refused" });
    await until(async () => (await alertEvents()) === 1);
    await alerter.close();
    const events = await store.events({ route: "alerts" });
    expect(events).toHaveLength(2);
    const bodies = await Promise.all(
      events.map(async (e) => (await store.event(e.id))?.event.body as { grouped: number; message: string }),
    );
    const summary = bodies.find((b) => b.grouped > 1);
    expect(summary?.grouped).toBe(2);
    expect(summary?.message).toContain("(2 alerts of this kind for this target grouped since");
  });
});
