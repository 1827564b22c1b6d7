import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, post, runCli, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A 202 means delivered at least once to every target, whatever happens to the daemon:
 * kill -9, a target down for a while, a target that fails a few times, redeliveries.
 */

const TOKEN = "durability-token";
const auth = { authorization: `Bearer ${TOKEN}` };

function config(dir: string, targets: string, route = ""): string {
  return writeConfig(
    dir,
    `
server: { listen: 127.0.0.1:0, shutdown_timeout: 5s }
store: { path: ./data/switchyard.db }
routes:
  - name: hooks
    path: /hooks
    verify: { type: token, secret: ${TOKEN} }
${route}
    targets:
${targets}
`,
  );
}

describe("e2e: durable delivery", () => {
  const { track } = cleanupAfterEach();

  it("delivers every acked event after kill -9 while the target was down", async () => {
    const dir = tempDir();
    // Reserve a port for the target, then close it: the target is "down" until we listen again.
    const probe = await startSink();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const file = config(
      dir,
      `      - { name: sink, type: http, url: "http://127.0.0.1:${port}/in", timeout: 2s, retry: { attempts: 50, backoff: 100ms, max_backoff: 500ms } }`,
    );
    const first = track(await startDaemon(file));
    const acked: string[] = [];
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const res = await post(`${first.url}/hooks`, JSON.stringify({ n: i }), auth);
        expect(res.status).toBe(202);
        acked.push((res.json() as { id: string }).id);
      }),
    );
    first.proc.kill("SIGKILL");
    await first.exited;

    const sink = track(await startSink(port));
    const second = track(await startDaemon(file));
    await waitFor(() => new Set(sink.requests.map((r) => r.headers["x-switchyard-event-id"])).size === 300, "all 300 deliveries", 60_000);
    const delivered = new Set(sink.requests.map((r) => String(r.headers["x-switchyard-event-id"])));
    for (const id of acked) expect(delivered.has(id)).toBe(true);
    const bodies = new Set(sink.requests.map((r) => (JSON.parse(r.body) as { n: number }).n));
    expect(bodies.size).toBe(300);
    await second.stop();
  }, 90_000);

  it("delivers each event exactly once to a target that fails its first attempts", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const failures = new Map<string, number>();
    sink.respond = (req, res) => {
      const id = String(req.headers["x-switchyard-event-id"]);
      const n = failures.get(id) ?? 0;
      if (n < 2) {
        failures.set(id, n + 1);
        res.writeHead(n === 0 ? 503 : 500).end("try later");
        return;
      }
      res.writeHead(200).end("ok");
    };
    const file = config(
      dir,
      `      - { name: flaky, type: http, url: "${sink.url}/in", retry: { attempts: 5, backoff: 50ms, max_backoff: 200ms } }`,
    );
    const daemon = track(await startDaemon(file));
    for (let i = 0; i < 10; i++) expect((await post(`${daemon.url}/hooks`, JSON.stringify({ n: i }), auth)).status).toBe(202);
    await waitFor(() => sink.requests.length === 10, "10 successful deliveries");
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.requests).toHaveLength(10);
    expect(new Set(sink.requests.map((r) => r.headers["x-switchyard-event-id"])).size).toBe(10);
    const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metric(text, "switchyard_deliveries_total", { route: "hooks", target: "flaky", outcome: "retry" })).toBe(20);
    expect(metric(text, "switchyard_deliveries_total", { route: "hooks", target: "flaky", outcome: "success" })).toBe(10);
    expect(metric(text, "switchyard_deliveries_total", { route: "hooks", target: "flaky", outcome: "dead" })).toBe(0);
  });

  it("answers a redelivery with 200 duplicate, also after a restart", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const file = config(
      dir,
      `      - { name: sink, type: http, url: "${sink.url}/in" }`,
      `    dedupe: { id: 'headers."x-delivery"', ttl: 1h }`,
    );
    const first = track(await startDaemon(file));
    const original = await post(`${first.url}/hooks`, `{"a":1}`, { ...auth, "x-delivery": "d-1" });
    expect(original.status).toBe(202);
    const again = await post(`${first.url}/hooks`, `{"a":1}`, { ...auth, "x-delivery": "d-1" });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ status: "duplicate", id: (original.json() as { id: string }).id });
    await first.stop();
    const second = track(await startDaemon(file));
    const afterRestart = await post(`${second.url}/hooks`, `{"a":1}`, { ...auth, "x-delivery": "d-1" });
    expect(afterRestart.status).toBe(200);
    expect((await post(`${second.url}/hooks`, `{"a":2}`, { ...auth, "x-delivery": "d-2" })).status).toBe(202);
    await waitFor(() => sink.requests.length === 2, "two deliveries");
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.requests).toHaveLength(2);
  });

  it("keeps a delivery that ran out of attempts in the dead-letter queue, and replays it", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    let up = false;
    sink.respond = (_req, res) => {
      res.writeHead(up ? 200 : 502).end(up ? "ok" : "bad gateway");
    };
    const file = config(dir, `      - { name: sink, type: http, url: "${sink.url}/in", retry: { attempts: 2, backoff: 10ms } }`);
    const daemon = track(await startDaemon(file));
    const { id } = (await post(`${daemon.url}/hooks`, `{"important":true}`, auth)).json() as { id: string };
    const list = await waitFor(async () => {
      const r = await runCli(["dlq", "list", "--json", "-c", file]);
      const letters = JSON.parse(r.stdout) as { id: string; eventId: string; lastError: string; attempts: number }[];
      return letters.length === 1 ? letters : undefined;
    }, "the dead letter");
    expect(list[0]).toMatchObject({ eventId: id, attempts: 2 });
    expect(list[0]?.lastError).toMatch(/502/);
    const human = await runCli(["dlq", "list", "-c", file]);
    expect(human.stdout).toContain(id);

    up = true;
    const replay = await runCli(["dlq", "replay", list[0]?.id ?? "", "-c", file]);
    expect(replay.code).toBe(0);
    await waitFor(() => sink.requests.length === 1, "the replayed delivery");
    expect(JSON.parse(sink.requests[0]?.body ?? "")).toEqual({ important: true });
    expect(JSON.parse((await runCli(["dlq", "list", "--json", "-c", file])).stdout)).toEqual([]);
    const events = JSON.parse((await runCli(["events", "--json", "-c", file])).stdout) as { id: string; deliveries: { state: string }[] }[];
    expect(events[0]).toMatchObject({ id, deliveries: [{ state: "delivered" }] });
    expect((await runCli(["dlq", "replay", "-c", file])).code).toBe(1);
    // Eight runs of the CLI: each takes seconds on a loaded 2-core machine.
  }, 120_000);

  it("never runs more than `concurrency` deliveries of a target at once", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    sink.respond = async (_req, res) => {
      await new Promise((r) => setTimeout(r, 30));
      res.writeHead(200).end();
    };
    const file = config(
      dir,
      `      - { name: one, type: http, url: "${sink.url}/one", concurrency: 1 }
      - { name: three, type: http, url: "${sink.url}/three", concurrency: 3 }`,
    );
    const daemon = track(await startDaemon(file));
    // Two sinks would be cleaner; one sink measures both by path.
    let inOne = 0;
    let maxOne = 0;
    const inner = sink.respond;
    sink.respond = async (req, res) => {
      const isOne = req.url === "/one";
      if (isOne) maxOne = Math.max(maxOne, ++inOne);
      await inner(req, res);
      if (isOne) inOne--;
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => post(`${daemon.url}/hooks`, JSON.stringify({ i }), auth)));
    await waitFor(() => sink.requests.length === 40, "40 deliveries", 30_000);
    expect(maxOne).toBe(1);
    expect(sink.maxInFlight).toBeLessThanOrEqual(4);
  });

  it("coalesces a burst for an exec target into one run with the newest event", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "deploy.sh"),
      `#!/bin/sh
mkdir -p "$(dirname "$0")/runs"
cat > "$(dirname "$0")/runs/$(date +%s%N)"
sleep 0.5
`,
    );
    chmodSync(join(dir, "deploy.sh"), 0o755);
    const file = config(dir, `      - { name: deploy, type: exec, command: [./deploy.sh], coalesce: true, transform: body }`);
    const daemon = track(await startDaemon(file));
    expect((await post(`${daemon.url}/hooks`, `{"push":0}`, auth)).status).toBe(202);
    await waitFor(() => readdirSync(dir).includes("runs"), "the first run to start");
    for (let i = 1; i <= 4; i++) expect((await post(`${daemon.url}/hooks`, JSON.stringify({ push: i }), auth)).status).toBe(202);
    await waitFor(() => readdirSync(join(dir, "runs")).length === 2, "the coalesced run", 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const runs = readdirSync(join(dir, "runs"))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(dir, "runs", f), "utf8")) as { push: number });
    expect(runs).toEqual([{ push: 0 }, { push: 4 }]);
    const events = JSON.parse((await runCli(["events", "--json", "-c", file])).stdout) as { deliveries: { state: string }[] }[];
    expect(events.flatMap((e) => e.deliveries.map((d) => d.state)).sort()).toEqual([
      "coalesced",
      "coalesced",
      "coalesced",
      "delivered",
      "delivered",
    ]);
  });

  it("drains on SIGTERM: exits 0 and a later start delivers what was left", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    sink.respond = async (_req, res) => {
      await gate;
      res.writeHead(200).end();
    };
    const file = config(dir, `      - { name: slow, type: http, url: "${sink.url}/in", timeout: 30s, concurrency: 1 }`);
    const daemon = track(await startDaemon(file));
    for (let i = 0; i < 3; i++) expect((await post(`${daemon.url}/hooks`, JSON.stringify({ i }), auth)).status).toBe(202);
    await waitFor(() => sink.maxInFlight === 1, "the first delivery in flight");
    const stopping = daemon.stop("SIGTERM");
    await waitFor(() => daemon.logs.some((l) => l.msg.startsWith("shutting down")), "shutdown to begin");
    release();
    expect(await stopping).toBe(0);
    expect(sink.requests).toHaveLength(1);
    const again = track(await startDaemon(file));
    await waitFor(() => sink.requests.length === 3, "the remaining deliveries");
    await again.stop();
  });
});
