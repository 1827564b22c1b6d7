import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../../src/errors.js";
import { type ReceivedEvent, receivedEvent } from "../../../src/pipeline/event.js";
import { RedisStore, type RedisStoreSettings } from "../../../src/store/redis/redis-store.js";
import type { ClaimOptions } from "../../../src/store/store.js";
import { hasRedis, type RedisServer, startRedis } from "../redis-harness.js";
import { storeContract } from "../store-contract.js";

function makeEvent(route = "github"): ReceivedEvent {
  const id = randomUUID();
  const rawBody = Buffer.from(JSON.stringify({ id }));
  return receivedEvent({
    id,
    route,
    receivedAt: new Date().toISOString(),
    method: "POST",
    path: "/hooks",
    query: {},
    headers: {},
    rawBody,
  });
}

function claimOpts(owner: string, extra: Partial<ClaimOptions> = {}): ClaimOptions {
  return { route: "github", target: "t", limit: 10, leaseMs: 60_000, now: Date.now(), owner, coalesce: false, ...extra };
}

describe.skipIf(!hasRedis)("RedisStore on a real redis-server", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.destroy();
  });
  /** Each test its own prefix: one server, no state shared between tests. */
  const fresh = (): RedisStoreSettings => ({ url: server.url, prefix: `t${randomUUID().slice(0, 8)}` });

  storeContract("redis", async () => {
    const settings = fresh();
    const store = await RedisStore.open(settings);
    return { store, reopen: () => RedisStore.open(settings), cleanup: () => store.close() };
  });

  describe("several instances on one Redis", () => {
    const opened: RedisStore[] = [];
    const open = async (settings: RedisStoreSettings) => {
      const s = await RedisStore.open(settings);
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it("the same dedupe key sent to two instances at once is accepted exactly once", async () => {
      const settings = fresh();
      const [a, b] = [await open(settings), await open(settings)];
      const expiresAt = Date.now() + 60_000;
      for (let round = 0; round < 30; round++) {
        const dedupe = { key: `delivery-${round}`, expiresAt };
        const [x, y] = await Promise.all([
          a.enqueue({ event: makeEvent(), targets: ["t"], dedupe }),
          b.enqueue({ event: makeEvent(), targets: ["t"], dedupe }),
        ]);
        const statuses = [x.status, y.status].sort();
        expect(statuses).toEqual(["accepted", "duplicate"]);
        expect(x.id).toBe(y.id);
      }
      expect(await a.depth()).toEqual({ pending: 30, retrying: 0, dead: 0 });
      expect(await b.events({ limit: 100 })).toHaveLength(30);
    });

    it("concurrent claims from two instances never hand out the same delivery", async () => {
      const settings = fresh();
      const [a, b] = [await open(settings), await open(settings)];
      await Promise.all(Array.from({ length: 200 }, () => a.enqueue({ event: makeEvent(), targets: ["t"] })));
      const seen: string[] = [];
      for (;;) {
        const [x, y] = await Promise.all([a.claim(claimOpts("a", { limit: 7 })), b.claim(claimOpts("b", { limit: 7 }))]);
        if (x.length + y.length === 0) break;
        seen.push(...x.map((d) => d.id), ...y.map((d) => d.id));
      }
      expect(seen).toHaveLength(200);
      expect(new Set(seen).size).toBe(200);
    });

    it("a target's concurrency holds across instances (BullMQ global concurrency)", async () => {
      const settings = fresh();
      const [a, b] = [await open(settings), await open(settings)];
      for (let i = 0; i < 3; i++) await a.enqueue({ event: makeEvent(), targets: ["t"] });
      const [first] = await a.claim(claimOpts("a", { limit: 1, concurrency: 1 }));
      expect(first).toBeDefined();
      expect(await b.claim(claimOpts("b", { limit: 1, concurrency: 1 }))).toEqual([]);
      await a.settle(first!.id, "a", { kind: "delivered" }, Date.now());
      const [second] = await b.claim(claimOpts("b", { limit: 5, concurrency: 1 }));
      expect(second).toBeDefined();
      expect(await a.claim(claimOpts("a", { limit: 5, concurrency: 1 }))).toEqual([]);
      // The limit is BullMQ's own, on the queue: BullMQ reports it.
      const queue = new Queue("github.t", { connection: { url: server.url }, prefix: settings.prefix });
      try {
        expect(await queue.getGlobalConcurrency()).toBe(1);
      } finally {
        await queue.close();
      }
    });

    it("a dead letter replayed from one instance is claimed by the other", async () => {
      const settings = fresh();
      const [daemon, cli] = [await open(settings), await open(settings)];
      await daemon.enqueue({ event: makeEvent(), targets: ["t"] });
      const [d] = await daemon.claim(claimOpts("d"));
      await daemon.settle(d!.id, "d", { kind: "dead", error: "boom" }, Date.now());
      expect((await cli.deadLetters()).map((l) => l.id)).toEqual([d!.id]);
      expect(await cli.replay([d!.id], Date.now())).toEqual({ replayed: 1, notFound: [] });
      expect(await daemon.backlog()).toHaveLength(1);
      expect(await daemon.claim(claimOpts("d"))).toMatchObject([{ id: d!.id, attempt: 1 }]);
    });
  });

  describe("the deliveries are BullMQ jobs", () => {
    it("BullMQ sees each delivery as a job in its route+target queue, in the state the store gave it", async () => {
      const settings = fresh();
      const store = await RedisStore.open(settings);
      const queue = new Queue("github.t", { connection: { url: server.url }, prefix: settings.prefix });
      try {
        const events = [makeEvent(), makeEvent(), makeEvent(), makeEvent()];
        for (const event of events) await store.enqueue({ event, targets: ["t"] });
        expect(await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed")).toMatchObject({
          waiting: 4,
          active: 0,
          delayed: 0,
          completed: 0,
          failed: 0,
        });
        const [a, b, c, d] = await store.claim(claimOpts("w", { limit: 4 }));
        const job = await queue.getJob(a!.id);
        expect(job?.data).toEqual({ eventId: events[0]!.id, route: "github", target: "t" });
        expect(await job?.getState()).toBe("active");
        const now = Date.now();
        await store.settle(a!.id, "w", { kind: "delivered" }, now);
        await store.settle(b!.id, "w", { kind: "retry", at: now + 60_000, error: "HTTP 503" }, now);
        await store.settle(c!.id, "w", { kind: "dead", error: "HTTP 400" }, now);
        expect(await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed")).toMatchObject({
          waiting: 0,
          active: 1,
          delayed: 1,
          completed: 1,
          failed: 1,
        });
        expect((await queue.getJob(c!.id))?.failedReason).toBe("HTTP 400");
        expect((await queue.getJob(b!.id))?.delay).toBe(60_000);
        await store.settle(d!.id, "w", { kind: "skipped" }, now);
        expect(await queue.getJobCounts("completed")).toEqual({ completed: 2 });
      } finally {
        await queue.close();
        await store.close();
      }
    });

    it("serves event hashes written before the request was kept as received (a `doc` field) as they are", async () => {
      const settings = fresh();
      const store = await RedisStore.open(settings);
      const raw = new Redis(server.url);
      try {
        const form = makeEvent();
        const json = makeEvent();
        await store.enqueue({ event: form, targets: ["t"] });
        await store.enqueue({ event: json, targets: ["t"] });
        // What the previous release's enqueue script wrote: the whole event document in `doc`.
        const old = (event: typeof form, body: unknown, headers: Record<string, string>) =>
          JSON.stringify({
            id: event.id,
            route: event.route,
            receivedAt: event.receivedAt,
            method: "POST",
            path: "/hooks",
            query: {},
            headers,
            body,
          });
        for (const [event, doc] of [
          [form, old(form, { a: "1", b: ["x", "y"] }, { "content-type": "application/x-www-form-urlencoded" })],
          [json, old(json, { ref: "main" }, { "content-type": "application/json" })],
        ] as const) {
          const key = `${settings.prefix}:sy:event:${event.id}`;
          await raw.hdel(key, "method", "path", "query", "headers", "body");
          await raw.hset(key, "doc", doc);
        }
        const claimed = await store.claim(claimOpts("w", { limit: 2 }));
        expect(claimed.map((d) => d.event.body)).toEqual([{ a: "1", b: ["x", "y"] }, { ref: "main" }]);
        expect(claimed[0]?.event.rawBody.toString("utf8")).toBe("a=1&b=x&b=y");
        const shown = await store.event(json.id);
        expect(shown?.event.rawBody.toString("utf8")).toBe('{"ref":"main"}');
        expect(shown?.event.headers).toEqual({ "content-type": "application/json" });
      } finally {
        raw.disconnect();
        await store.close();
      }
    });

    it("writes 500 concurrent enqueues in a few transactions, all of them whole", async () => {
      const settings = fresh();
      const store = await RedisStore.open(settings);
      try {
        const events = Array.from({ length: 500 }, () => makeEvent());
        const results = await Promise.all(events.map((event) => store.enqueue({ event, targets: ["a", "b"] })));
        expect(results.every((r, i) => r.status === "accepted" && r.id === events[i]?.id)).toBe(true);
        expect(await store.depth()).toEqual({ pending: 1000, retrying: 0, dead: 0 });
        const listed = await store.events({ limit: 1000 });
        expect(listed).toHaveLength(500);
        for (const e of listed) expect(e.deliveries.map((d) => d.target)).toEqual(["a", "b"]);
      } finally {
        await store.close();
      }
    });
  });

  describe("when Redis goes away", () => {
    it("fails fast with StoreUnavailableError, and works again once Redis is back, without reopening", async () => {
      const settings = fresh();
      const store = await RedisStore.open(settings);
      try {
        const before = makeEvent();
        expect(await store.enqueue({ event: before, targets: ["t"] })).toMatchObject({ status: "accepted" });
        await server.stop("SIGKILL");

        const started = Date.now();
        await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.claim(claimOpts("w"))).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.depth()).rejects.toBeInstanceOf(StoreUnavailableError);
        expect(Date.now() - started).toBeLessThan(2_000);

        await server.restart();
        // Both connections reconnect on their own (each within a second of the server being back).
        const deadline = Date.now() + 10_000;
        for (;;) {
          try {
            await store.ping();
            break;
          } catch (err) {
            expect(err).toBeInstanceOf(StoreUnavailableError);
            if (Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        const after = makeEvent();
        expect(await store.enqueue({ event: after, targets: ["t"] })).toEqual({ status: "accepted", id: after.id });
        // appendfsync always: what was acked before the crash is still there.
        expect((await store.events()).map((e) => e.id)).toEqual([after.id, before.id]);
        expect(await store.claim(claimOpts("w"))).toHaveLength(2);
      } finally {
        await store.close();
      }
    });

    it("open() fails with StoreUnavailableError when nothing listens", async () => {
      const port = server.port + 1 === 65536 ? server.port - 1 : server.port + 1;
      const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
      probe.on("error", () => undefined);
      const listening = await probe.connect().then(
        () => true,
        () => false,
      );
      probe.disconnect();
      if (listening) return;
      const started = Date.now();
      await expect(RedisStore.open({ url: `redis://127.0.0.1:${port}`, prefix: "x" })).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it("refuses calls after close()", async () => {
      const store = await RedisStore.open(fresh());
      const event = makeEvent();
      const pending = store.enqueue({ event, targets: ["t"] });
      await store.close();
      expect(await pending).toEqual({ status: "accepted", id: event.id });
      await expect(store.enqueue({ event: makeEvent(), targets: ["t"] })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.backlog()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await store.close();
    });
  });
});
