import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedis, type RedisServer, startRedis } from "../store/redis-harness.js";
import { metric, post, type RunningDaemon, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * Two daemons (the built CLI) on one redis-server, as `examples/cluster` runs them behind a load
 * balancer: work is shared, dedupe and per-target concurrency hold across both, and a 202 from
 * either survives a kill -9 of the one that gave it.
 */

const TOKEN = "cluster-token";
const auth = { authorization: `Bearer ${TOKEN}` };

interface Gate {
  open: () => void;
  opened: Promise<void>;
}

function gate(): Gate {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe.skipIf(!hasRedis)("e2e: several instances on one Redis", () => {
  let redis: RedisServer;
  let sink: Sink;
  let a: RunningDaemon;
  let b: RunningDaemon;
  let file: string;
  let inOne = 0;
  let maxOne = 0;
  let failing = true;
  const held = gate();

  beforeAll(async () => {
    redis = await startRedis();
    sink = await startSink();
    sink.respond = async (req, res) => {
      if (req.url === "/fail") {
        res.writeHead(failing ? 502 : 200).end(failing ? "bad gateway" : "ok");
        return;
      }
      if (req.url === "/held") await held.opened;
      const isOne = req.url === "/one";
      if (isOne) maxOne = Math.max(maxOne, ++inOne);
      await new Promise((r) => setTimeout(r, isOne ? 15 : 5));
      if (isOne) inOne--;
      res.writeHead(200).end("ok");
    };
    const dir = tempDir("switchyard-cluster-");
    file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0, shutdown_timeout: 2s }
store: { type: redis, url: "${redis.url}", prefix: "e2e-${randomUUID().slice(0, 8)}" }
routes:
  - name: hooks
    path: /hooks
    verify: { type: token, secret: ${TOKEN} }
    dedupe: { id: 'headers."x-delivery"', ttl: 1h }
    targets:
      - { name: all, type: http, url: "${sink.url}/all", timeout: 1s, concurrency: 8, retry: { attempts: 20, backoff: 50ms, max_backoff: 200ms } }
      - { name: one, type: http, url: "${sink.url}/one", timeout: 1s, concurrency: 1, retry: { attempts: 20, backoff: 50ms, max_backoff: 200ms } }
  - name: flaky
    path: /flaky
    verify: { type: token, secret: ${TOKEN} }
    targets:
      - { name: fail, type: http, url: "${sink.url}/fail", retry: { attempts: 1 } }
  - name: parked
    path: /parked
    verify: { type: token, secret: ${TOKEN} }
    targets:
      - { name: held, type: http, url: "${sink.url}/held", timeout: 20s, concurrency: 1 }
`,
    );
    [a, b] = await Promise.all([startDaemon(file), startDaemon(file)]);
  }, 30_000);

  afterAll(async () => {
    held.open();
    await Promise.all([a?.stop("SIGKILL"), b?.stop("SIGKILL")]);
    await sink?.close();
    await redis?.destroy();
  });

  const send = (d: RunningDaemon, path: string, body: unknown, delivery = randomUUID()) =>
    post(`${d.url}${path}`, JSON.stringify(body), { ...auth, "x-delivery": delivery });
  const eventIds = (path: string) =>
    new Set(sink.requests.filter((r) => r.url === path).map((r) => String(r.headers["x-switchyard-event-id"])));
  const depth = async (d: RunningDaemon, state: string) =>
    metric(await (await fetch(`${d.adminUrl}/metrics`)).text(), "switchyard_queue_depth", { state });

  it("answers the same delivery id sent to both instances at once with one 202 and one 200 duplicate", async () => {
    for (let i = 0; i < 5; i++) {
      const delivery = `same-${i}`;
      const [x, y] = await Promise.all([send(a, "/hooks", { same: i }, delivery), send(b, "/hooks", { same: i }, delivery)]);
      expect([x.status, y.status].sort()).toEqual([200, 202]);
      const accepted = (x.status === 202 ? x : y).json() as { id: string };
      expect((x.status === 200 ? x : y).json()).toEqual({ status: "duplicate", id: accepted.id });
    }
    await waitFor(() => eventIds("/all").size === 5 && eventIds("/one").size === 5, "the five deliveries");
  });

  it("lists and replays dead letters with the CLI, from either side, against Redis", async () => {
    const { id } = (await send(a, "/flaky", { important: true })).json() as { id: string };
    const letters = await waitFor(async () => {
      const r = await runCli(["dlq", "list", "--json", "-c", file]);
      const list = JSON.parse(r.stdout) as { id: string; eventId: string; lastError: string }[];
      return list.length === 1 ? list : undefined;
    }, "the dead letter");
    expect(letters[0]).toMatchObject({ eventId: id });
    expect(letters[0]?.lastError).toMatch(/502/);
    expect(await depth(a, "dead")).toBe(1);
    expect(await depth(b, "dead")).toBe(1);

    failing = false;
    expect((await runCli(["dlq", "replay", letters[0]?.id ?? "", "-c", file])).code).toBe(0);
    await waitFor(() => eventIds("/fail").has(id), "the replayed delivery");
    const events = JSON.parse((await runCli(["events", "--route", "flaky", "--json", "-c", file])).stdout) as {
      id: string;
      deliveries: { state: string }[];
    }[];
    expect(events).toMatchObject([{ id, deliveries: [{ state: "delivered" }] }]);
    await waitFor(async () => (await depth(b, "dead")) === 0, "dead letters to reach 0 on the other instance");
  });

  it("reports the shared queue's depth on both instances", async () => {
    for (let i = 0; i < 4; i++) expect((await send(i % 2 ? a : b, "/parked", { i })).status).toBe(202);
    // One is in flight (held by the sink), three wait: pending counts both, on either instance.
    await waitFor(async () => (await depth(a, "pending")) === 4 && (await depth(b, "pending")) === 4, "pending 4 on both instances");
    held.open();
    await waitFor(async () => (await depth(a, "pending")) === 0 && (await depth(b, "pending")) === 0, "the parked deliveries");
  });

  it("delivers every acked event though one instance is killed mid-stream; concurrency 1 holds across both", async () => {
    const acked: string[] = [];
    let killed = false;
    for (let i = 0; i < 40; i++) {
      const targets = killed ? [b, b] : [a, b];
      const answers = await Promise.all(targets.map((d, j) => send(d, "/hooks", { i, j }).catch(() => undefined)));
      for (const res of answers) if (res?.status === 202) acked.push((res.json() as { id: string }).id);
      if (i === 15) {
        a.proc.kill("SIGKILL");
        await a.exited;
        killed = true;
      }
    }
    expect(acked.length).toBeGreaterThanOrEqual(70);
    // The killed instance's leases expire (timeout 1s + 5s margin) and the other picks them up.
    await waitFor(
      () => {
        const all = eventIds("/all");
        const one = eventIds("/one");
        return acked.every((id) => all.has(id) && one.has(id));
      },
      "every acked event at both targets",
      40_000,
    );
    expect(maxOne).toBe(1);
  }, 60_000);
});
