import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ReceivedEvent, receivedEvent } from "../../src/pipeline/event.js";
import {
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimOptions,
  COUNTS_KEEP_MS,
  type EnqueueRequest,
  type Settlement,
  type Store,
} from "../../src/store/store.js";

/** What a store implementation hands the contract for each test. */
export interface StoreHarness {
  store: Store;
  /** Opens the same data again after the contract closed `store`; given, the contract checks that everything survives. */
  reopen?: () => Promise<Store>;
  /** How many dedupe keys the backend holds, when it can tell (a store with native key expiry may omit it). */
  dedupeKeys?: () => Promise<number>;
  /** Closes what the harness opened and removes its data. */
  cleanup: () => Promise<void>;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A received request; the body is sent as JSON text unless `extra.rawBody` gives the bytes. */
function makeEvent(
  route: string,
  receivedAtMs = Date.now(),
  body: unknown = { n: 1 },
  extra: { query?: Record<string, string>; headers?: Record<string, string>; rawBody?: Buffer } = {},
): ReceivedEvent {
  return receivedEvent({
    id: randomUUID(),
    route,
    receivedAt: new Date(receivedAtMs).toISOString(),
    method: "POST",
    path: `/hooks/${route}`,
    query: extra.query ?? {},
    headers: extra.headers ?? { "content-type": "application/json" },
    rawBody: extra.rawBody ?? Buffer.from(JSON.stringify(body)),
  });
}

/** Every byte value, the NUL and invalid UTF-8 among them. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function claimOpts(route: string, target: string, now: number, extra: Partial<ClaimOptions> = {}): ClaimOptions {
  return { route, target, now, limit: 10, leaseMs: MINUTE, owner: "w1", coalesce: false, ...extra };
}

/**
 * The Store semantics every implementation must keep (see src/store/store.ts). Times are real
 * epoch milliseconds: a new delivery is due when it is written, so claims use `Date.now()` or later.
 */
export function storeContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let opened: Store[] = [];

    beforeEach(async () => {
      h = await open();
      store = h.store;
      opened = [store];
    });
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await h.cleanup();
    });

    async function enqueue(event: ReceivedEvent, targets: string[], dedupe?: EnqueueRequest["dedupe"]) {
      return store.enqueue(dedupe ? { event, targets, dedupe } : { event, targets });
    }

    /** Claims the single due delivery of route/target and settles it. */
    async function deliverOne(route: string, target: string, settlement: Settlement, now = Date.now()): Promise<ClaimedDelivery> {
      const [d] = await store.claim(claimOpts(route, target, now, { limit: 1 }));
      if (!d) throw new Error(`nothing to claim for ${route}/${target}`);
      await store.settle(d.id, "w1", settlement, now);
      return d;
    }

    async function stateOf(eventId: string, target: string) {
      const summary = (await store.events({ limit: 1000 })).find((e) => e.id === eventId);
      return summary?.deliveries.find((d) => d.target === target);
    }

    it("a claim takes the events the caller holds in memory, reads the others, and leases both in the store", async () => {
      const held = makeEvent("github");
      const stored = makeEvent("github");
      await enqueue(held, ["notify"]);
      await enqueue(stored, ["notify"]);
      const inMemory = { ...held, body: { from: "memory" } } as unknown as ReceivedEvent;
      const now = Date.now();
      const claimed = await store.claim(claimOpts("github", "notify", now, { known: (id) => (id === held.id ? inMemory : undefined) }));
      expect(claimed.find((d) => d.eventId === held.id)?.event).toBe(inMemory);
      expect(claimed.find((d) => d.eventId === stored.id)?.event).toEqual(stored);
      // The leases are in the store: another worker gets nothing until they are settled or expire.
      expect(await store.claim(claimOpts("github", "notify", now, { owner: "w2" }))).toEqual([]);
      for (const d of claimed) await store.settle(d.id, "w1", { kind: "delivered" }, now);
      expect((await stateOf(held.id, "notify"))?.state).toBe("delivered");
    });

    it("enqueue → backlog → claim → settle delivered", async () => {
      const e = makeEvent("github");
      expect(await enqueue(e, ["notify"])).toEqual({ status: "accepted", id: e.id });

      const now = Date.now();
      const backlog = await store.backlog();
      expect(backlog).toHaveLength(1);
      expect(backlog[0]).toMatchObject({ route: "github", target: "notify" });
      expect(backlog[0]?.nextDueAt).toBeLessThanOrEqual(now);

      const claimed = await store.claim(claimOpts("github", "notify", now));
      expect(claimed).toHaveLength(1);
      const d = claimed[0]!;
      expect(d).toMatchObject({ route: "github", target: "notify", eventId: e.id, attempt: 1, coalesced: 0 });
      expect(typeof d.id).toBe("string");
      expect(d.event).toEqual(e);

      await store.settle(d.id, "w1", { kind: "delivered" }, now);
      expect(await store.backlog()).toEqual([]);
      expect(await store.depth()).toEqual({ pending: 0, retrying: 0, dead: 0 });
      expect(await stateOf(e.id, "notify")).toMatchObject({ id: d.id, state: "delivered", attempts: 1 });
    });

    it("leasedBacklog names the targets of the given ones with leased pending work and its earliest due time", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      const keys = [
        { route: "github", target: "notify" },
        { route: "github", target: "other" },
      ];
      expect(await store.leasedBacklog(keys)).toEqual([]);
      const now = Date.now();
      const [d] = await store.claim(claimOpts("github", "notify", now));
      expect(await store.backlog()).toEqual([]);
      const leased = await store.leasedBacklog(keys);
      expect(leased).toHaveLength(1);
      expect(leased[0]).toMatchObject({ route: "github", target: "notify" });
      expect(leased[0]?.nextDueAt).toBeLessThanOrEqual(now);
      expect(await store.leasedBacklog([{ route: "github", target: "other" }])).toEqual([]);
      await store.settle(d!.id, "w1", { kind: "delivered" }, now);
      expect(await store.leasedBacklog(keys)).toEqual([]);
    });

    it("lists every route and target with claimable work once, with its earliest due time, leaving out leased work", async () => {
      // Three groups, in an order that is not the sorted one, with several deliveries each.
      for (const route of ["zeta", "alpha", "mid"]) for (let i = 0; i < 3; i++) await enqueue(makeEvent(route), ["b", "a"]);
      const now = Date.now();
      // alpha/a: all three in flight, so not listed. mid/b: one retrying, due later than the rest.
      await store.claim(claimOpts("alpha", "a", now + 1));
      const [retried] = await store.claim(claimOpts("mid", "b", now + 1, { limit: 1 }));
      await store.settle(retried!.id, "w1", { kind: "retry", at: now + 10 * MINUTE, error: "503" }, now + 1);
      // zeta/a: everything in flight and then put back for later.
      for (const d of await store.claim(claimOpts("zeta", "a", now + 1))) {
        await store.settle(d.id, "w1", { kind: "retry", at: now + 5 * MINUTE, error: "timeout" }, now + 1);
      }

      const backlog = await store.backlog();
      const keys = backlog.map((b) => `${b.route}/${b.target}`).sort();
      expect(keys).toEqual(["alpha/b", "mid/a", "mid/b", "zeta/a", "zeta/b"]);
      const due = new Map(backlog.map((b) => [`${b.route}/${b.target}`, b.nextDueAt]));
      expect(due.get("mid/b")).toBeLessThanOrEqual(now + 1);
      expect(due.get("zeta/a")).toBe(now + 5 * MINUTE);
      expect(due.get("alpha/b")).toBeLessThanOrEqual(now + 1);
    });

    it("stores an event without targets, with nothing to deliver", async () => {
      const e = makeEvent("github");
      expect(await enqueue(e, [])).toEqual({ status: "accepted", id: e.id });
      expect(await store.backlog()).toEqual([]);
      const [summary] = await store.events();
      expect(summary).toMatchObject({ id: e.id, route: "github", receivedAt: e.receivedAt, deliveries: [] });
    });

    it("keeps targets and routes apart", async () => {
      const e = makeEvent("github");
      const other = makeEvent("stripe");
      await enqueue(e, ["notify", "deploy"]);
      await enqueue(other, ["notify"]);
      const byKey = (await store.backlog()).map((b) => `${b.route}/${b.target}`).sort();
      expect(byKey).toEqual(["github/deploy", "github/notify", "stripe/notify"]);

      const now = Date.now();
      await deliverOne("github", "notify", { kind: "dead", error: "gone" }, now);
      const deploy = await store.claim(claimOpts("github", "deploy", now));
      expect(deploy.map((d) => [d.eventId, d.attempt])).toEqual([[e.id, 1]]);
      const stripe = await store.claim(claimOpts("stripe", "notify", now));
      expect(stripe.map((d) => d.eventId)).toEqual([other.id]);
      expect(await stateOf(e.id, "deploy")).toMatchObject({ state: "pending" });
    });

    it("respects the claim limit, oldest first", async () => {
      const events = Array.from({ length: 5 }, () => makeEvent("github"));
      for (const e of events) await enqueue(e, ["notify"]);
      const now = Date.now();
      const first = await store.claim(claimOpts("github", "notify", now, { limit: 2 }));
      expect(first.map((d) => d.eventId)).toEqual([events[0]?.id, events[1]?.id]);
      const rest = await store.claim(claimOpts("github", "notify", now, { limit: 10 }));
      expect(rest.map((d) => d.eventId)).toEqual(events.slice(2).map((e) => e.id));
      expect(await store.claim(claimOpts("github", "notify", now))).toEqual([]);
    });

    it("does not hand out a leased delivery; reclaimExpired gives an expired lease back", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      const now = Date.now();
      const [first] = await store.claim(claimOpts("github", "notify", now, { leaseMs: 1_000, owner: "w1" }));
      expect(first?.attempt).toBe(1);

      expect(await store.claim(claimOpts("github", "notify", now + 500, { owner: "w2" }))).toEqual([]);
      expect(await store.backlog()).toEqual([]);
      expect(await store.depth()).toMatchObject({ pending: 1 });
      expect(await store.reclaimExpired(now + 500)).toBe(0);

      expect(await store.reclaimExpired(now + 1_001)).toBe(1);
      expect(await store.backlog()).toHaveLength(1);
      const [again] = await store.claim(claimOpts("github", "notify", now + 1_001, { owner: "w2" }));
      expect(again).toMatchObject({ id: first?.id, attempt: 2 });

      // The crashed holder's late answer no longer counts.
      await store.settle(first!.id, "w1", { kind: "delivered" }, now + 1_002);
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "pending", attempts: 2 });
      await store.settle(again!.id, "w2", { kind: "delivered" }, now + 1_003);
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "delivered", attempts: 2 });
    });

    it("ignores a settle from a worker that does not hold the lease", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      const now = Date.now();
      const [d] = await store.claim(claimOpts("github", "notify", now, { owner: "w1" }));
      await store.settle(d!.id, "w2", { kind: "dead", error: "not mine" }, now);
      await store.settle("999999999", "w1", { kind: "delivered" }, now);
      await store.settle("not-an-id", "w1", { kind: "delivered" }, now);
      expect(await store.depth()).toEqual({ pending: 1, retrying: 0, dead: 0 });
      await store.settle(d!.id, "w1", { kind: "skipped" }, now);
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "skipped", attempts: 1 });
    });

    it("schedules a retry: not due before `at`, due from `at` on", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      const now = Date.now();
      const at = now + 5_000;
      await deliverOne("github", "notify", { kind: "retry", at, error: "HTTP 503" }, now);

      expect(await store.depth()).toEqual({ pending: 0, retrying: 1, dead: 0 });
      expect(await store.backlog()).toEqual([{ route: "github", target: "notify", nextDueAt: at }]);
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "retrying", attempts: 1, lastError: "HTTP 503", dueAt: at });
      expect(await store.claim(claimOpts("github", "notify", at - 1))).toEqual([]);
      const [d] = await store.claim(claimOpts("github", "notify", at));
      expect(d).toMatchObject({ eventId: e.id, attempt: 2 });
    });

    it("dead letters: listed with their last error, replayed to pending with fresh attempts", async () => {
      const e = makeEvent("github", Date.now() - MINUTE);
      await enqueue(e, ["notify", "deploy"]);
      const now = Date.now();
      const dead = await deliverOne("github", "notify", { kind: "dead", error: "boom" }, now);

      const letters = await store.deadLetters();
      expect(letters).toEqual([
        {
          id: dead.id,
          eventId: e.id,
          route: "github",
          target: "notify",
          attempts: 1,
          lastError: "boom",
          receivedAt: e.receivedAt,
          failedAt: now,
        },
      ]);
      expect(await store.deadLetters({ route: "stripe" })).toEqual([]);
      expect(await store.depth()).toEqual({ pending: 1, retrying: 0, dead: 1 });

      const deploy = (await stateOf(e.id, "deploy"))!;
      // Unknown ids and deliveries that are not dead replay nothing, and are named.
      expect(await store.replay([dead.id, deploy.id, "999999999", "nope"], now + 1)).toEqual({
        replayed: 1,
        notFound: [deploy.id, "999999999", "nope"],
      });
      expect(await store.deadLetters()).toEqual([]);
      expect(await store.depth()).toEqual({ pending: 2, retrying: 0, dead: 0 });
      // The last error stays visible until the next try.
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "pending", attempts: 0, lastError: "boom" });

      const [again] = await store.claim(claimOpts("github", "notify", now + 1));
      expect(again).toMatchObject({ id: dead.id, attempt: 1 });
    });

    it("lists dead letters newest first, per route, limited", async () => {
      await enqueue(makeEvent("github"), ["notify"]);
      await enqueue(makeEvent("stripe"), ["notify"]);
      const now = Date.now();
      const older = await deliverOne("github", "notify", { kind: "dead", error: "a" }, now);
      const newer = await deliverOne("stripe", "notify", { kind: "dead", error: "b" }, now + 10);
      expect((await store.deadLetters()).map((d) => d.id)).toEqual([newer.id, older.id]);
      expect((await store.deadLetters({ limit: 1 })).map((d) => d.id)).toEqual([newer.id]);
      expect((await store.deadLetters({ route: "github" })).map((d) => d.id)).toEqual([older.id]);
    });

    it('replays "all" dead letters', async () => {
      await enqueue(makeEvent("github"), ["notify"]);
      await enqueue(makeEvent("stripe"), ["notify"]);
      const now = Date.now();
      await deliverOne("github", "notify", { kind: "dead", error: "x" }, now);
      await deliverOne("stripe", "notify", { kind: "dead", error: "y" }, now);
      expect(await store.replay("all", now)).toEqual({ replayed: 2, notFound: [] });
      expect(await store.replay("all", now)).toEqual({ replayed: 0, notFound: [] });
      expect(await store.depth()).toEqual({ pending: 2, retrying: 0, dead: 0 });
    });

    it("replays by event id: every dead delivery of that event, and names the ids that matched nothing", async () => {
      const e = makeEvent("github");
      const other = makeEvent("github");
      const healthy = makeEvent("github");
      await enqueue(e, ["notify", "deploy", "audit"]);
      await enqueue(other, ["notify"]);
      await enqueue(healthy, ["notify"]);
      const now = Date.now();
      // Oldest first: e's deliveries, then other's, then healthy's.
      const [eNotify, otherNotify, healthyNotify] = await store.claim(claimOpts("github", "notify", now));
      await store.settle(eNotify!.id, "w1", { kind: "dead", error: "410 gone" }, now);
      await store.settle(otherNotify!.id, "w1", { kind: "dead", error: "410 gone" }, now);
      await store.settle(healthyNotify!.id, "w1", { kind: "delivered" }, now);
      await deliverOne("github", "deploy", { kind: "dead", error: "exit 1" }, now);
      await deliverOne("github", "audit", { kind: "delivered" }, now);
      expect(await store.depth()).toEqual({ pending: 0, retrying: 0, dead: 3 });

      // An event id, the same event again, a healthy event, an unknown id: one transaction.
      const result = await store.replay([e.id, e.id, healthy.id, "0190aaaa-0000-7000-8000-000000000000"], now + 1);
      expect(result).toEqual({ replayed: 2, notFound: [healthy.id, "0190aaaa-0000-7000-8000-000000000000"] });
      expect(await stateOf(e.id, "notify")).toMatchObject({ state: "pending", attempts: 0, lastError: "410 gone" });
      expect(await stateOf(e.id, "deploy")).toMatchObject({ state: "pending", attempts: 0 });
      expect(await stateOf(e.id, "audit")).toMatchObject({ state: "delivered" });
      // The other event's dead letter stays; event and delivery ids mix in one call.
      expect((await store.deadLetters()).map((d) => d.eventId)).toEqual([other.id]);
      expect(await store.replay([otherNotify!.id, e.id], now + 2)).toEqual({ replayed: 1, notFound: [e.id] });
      expect(await store.depth()).toEqual({ pending: 3, retrying: 0, dead: 0 });
      expect(await store.replay([], now + 3)).toEqual({ replayed: 0, notFound: [] });
    });

    it("shows one event: the request as stored and every delivery's state", async () => {
      const e = makeEvent(
        "github",
        Date.now() - MINUTE,
        { ref: "refs/heads/main", commits: [{ id: "abc" }] },
        { query: { source: "ci" }, headers: { "content-type": "application/json", "x-github-event": "push" } },
      );
      await enqueue(e, ["notify", "deploy", "audit"]);
      await enqueue(makeEvent("github"), ["notify"]);
      const now = Date.now();
      await deliverOne("github", "notify", { kind: "retry", at: now + MINUTE, error: "HTTP 503" }, now);
      await deliverOne("github", "deploy", { kind: "dead", error: "exit 2" }, now);
      await deliverOne("github", "audit", { kind: "delivered" }, now);

      const shown = await store.event(e.id);
      expect(shown?.event).toEqual(e);
      expect(shown?.event.body).toEqual({ ref: "refs/heads/main", commits: [{ id: "abc" }] });
      const byTarget = Object.fromEntries((shown?.deliveries ?? []).map((d) => [d.target, d]));
      expect(Object.keys(byTarget).sort()).toEqual(["audit", "deploy", "notify"]);
      expect(byTarget.notify).toMatchObject({ state: "retrying", attempts: 1, lastError: "HTTP 503", dueAt: now + MINUTE });
      expect(byTarget.deploy).toMatchObject({ state: "dead", attempts: 1, lastError: "exit 2" });
      expect(byTarget.deploy?.dueAt).toBeUndefined();
      expect(byTarget.audit).toMatchObject({ state: "delivered", attempts: 1 });
      // The delivery ids are the ones dlq list and replay take.
      expect((await store.deadLetters()).map((d) => d.id)).toEqual([byTarget.deploy?.id]);

      expect(await store.event("0190aaaa-0000-7000-8000-000000000000")).toBeUndefined();
      expect(await store.event(byTarget.deploy!.id)).toBeUndefined();
      const bare = makeEvent("stripe");
      await enqueue(bare, []);
      expect(await store.event(bare.id)).toEqual({ event: bare, deliveries: [] });
    });

    it("keeps the body bytes exactly as received: binary, and JSON in its own spelling", async () => {
      const binary = makeEvent("github", Date.now(), undefined, {
        headers: { "content-type": "application/octet-stream", "x-hub-signature-256": "sha256=00" },
        rawBody: ALL_BYTES,
      });
      const spelled = '{ "b" : 2,\n  "a":"\\u00e9" }\n';
      const json = makeEvent("github", Date.now() + 1, undefined, { rawBody: Buffer.from(spelled) });
      await enqueue(binary, ["notify"]);
      await enqueue(json, ["notify"]);
      const claimed = await store.claim(claimOpts("github", "notify", Date.now() + 10));
      const byId = new Map(claimed.map((d) => [d.eventId, d.event]));
      expect(byId.get(binary.id)?.rawBody.equals(ALL_BYTES)).toBe(true);
      expect(byId.get(binary.id)?.headers).toEqual(binary.headers);
      expect(byId.get(json.id)?.rawBody.toString("utf8")).toBe(spelled);
      // The body JSONata sees is parsed from the bytes, as the ingress parses it.
      expect(byId.get(json.id)?.body).toEqual({ b: 2, a: "é" });
      expect(byId.get(binary.id)?.body).toBe(ALL_BYTES.toString("utf8"));
      const shown = await store.event(binary.id);
      expect(shown?.event.rawBody.equals(ALL_BYTES)).toBe(true);
      // The raw bytes are not part of the event document JSONata and exec targets see.
      expect(Object.keys(shown?.event ?? {})).not.toContain("rawBody");
    });

    it("coalesce claims only the newest due event and supersedes the older ones", async () => {
      const base = Date.now() - 10 * MINUTE;
      const events = Array.from({ length: 5 }, (_, i) => makeEvent("github", base + i * 1_000, { n: i }));
      // Written out of order: "newest" is by the time the event was received.
      for (const i of [2, 4, 0, 3, 1]) await enqueue(events[i]!, ["deploy", "notify"]);

      const now = Date.now();
      const claimed = await store.claim(claimOpts("github", "deploy", now, { coalesce: true, limit: 4 }));
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ eventId: events[4]?.id, attempt: 1, coalesced: 4 });
      expect(claimed[0]?.event.body).toEqual({ n: 4 });

      for (const e of events.slice(0, 4)) expect(await stateOf(e.id, "deploy")).toMatchObject({ state: "coalesced" });
      expect(await store.claim(claimOpts("github", "deploy", now, { coalesce: true }))).toEqual([]);
      // Other targets are untouched.
      expect(await store.claim(claimOpts("github", "notify", now))).toHaveLength(5);
      expect(await store.depth()).toEqual({ pending: 6, retrying: 0, dead: 0 });
    });

    it("coalesce leaves deliveries in flight alone and supersedes an older retry that is not due yet", async () => {
      const base = Date.now() - 10 * MINUTE;
      const [e0, e1, e2, e3] = Array.from({ length: 4 }, (_, i) => makeEvent("github", base + i * 1_000));
      await enqueue(e0!, ["deploy"]);
      const retryAt = Date.now() + MINUTE;
      await deliverOne("github", "deploy", { kind: "retry", at: retryAt, error: "exit 1" });
      await enqueue(e1!, ["deploy"]);
      const [inFlight] = await store.claim(claimOpts("github", "deploy", Date.now(), { owner: "w2" }));
      expect(inFlight?.eventId).toBe(e1?.id);
      await enqueue(e2!, ["deploy"]);
      await enqueue(e3!, ["deploy"]);

      const claimed = await store.claim(claimOpts("github", "deploy", Date.now(), { coalesce: true }));
      expect(claimed).toMatchObject([{ eventId: e3?.id, coalesced: 2 }]);
      // A retry of an older event must not run after the newer event it was superseded by.
      expect(await stateOf(e0!.id, "deploy")).toMatchObject({ state: "coalesced" });
      expect(await stateOf(e1!.id, "deploy")).toMatchObject({ state: "pending", attempts: 1 });
      expect(await stateOf(e2!.id, "deploy")).toMatchObject({ state: "coalesced" });
    });

    it("dedupe: a duplicate returns the original event's id and stores nothing", async () => {
      const first = makeEvent("github");
      const second = makeEvent("github");
      const dedupe = { key: "delivery-1", expiresAt: Date.now() + DAY };
      expect(await enqueue(first, ["notify"], dedupe)).toEqual({ status: "accepted", id: first.id });
      expect(await enqueue(second, ["notify"], dedupe)).toEqual({ status: "duplicate", id: first.id });
      expect((await store.events()).map((e) => e.id)).toEqual([first.id]);
      expect(await store.depth()).toMatchObject({ pending: 1 });
    });

    it("dedupe: an expired key counts as new", async () => {
      const [a, b, c] = [makeEvent("github"), makeEvent("github"), makeEvent("github")];
      expect(await enqueue(a, ["notify"], { key: "k", expiresAt: Date.now() - 1 })).toMatchObject({ status: "accepted" });
      expect(await enqueue(b, ["notify"], { key: "k", expiresAt: Date.now() + DAY })).toEqual({ status: "accepted", id: b.id });
      expect(await enqueue(c, ["notify"], { key: "k", expiresAt: Date.now() + DAY })).toEqual({ status: "duplicate", id: b.id });
    });

    it("dedupe: keys are per route", async () => {
      const expiresAt = Date.now() + DAY;
      const a = makeEvent("github");
      const b = makeEvent("gitlab");
      expect(await enqueue(a, ["notify"], { key: "same", expiresAt })).toEqual({ status: "accepted", id: a.id });
      expect(await enqueue(b, ["notify"], { key: "same", expiresAt })).toEqual({ status: "accepted", id: b.id });
    });

    it("dedupe: the second of two identical keys in one concurrent batch is a duplicate of the first", async () => {
      const dedupe = { key: "k", expiresAt: Date.now() + DAY };
      const [a, b, c] = [makeEvent("github"), makeEvent("github"), makeEvent("github")];
      const results = await Promise.all([enqueue(a, ["notify"], dedupe), enqueue(b, ["notify"], dedupe), enqueue(c, ["notify"])]);
      expect(results).toEqual([
        { status: "accepted", id: a.id },
        { status: "duplicate", id: a.id },
        { status: "accepted", id: c.id },
      ]);
    });

    it("counts the queue depth by state", async () => {
      for (let i = 0; i < 3; i++) await enqueue(makeEvent("github"), ["notify", "deploy"]);
      const now = Date.now();
      const claimed = await store.claim(claimOpts("github", "notify", now, { limit: 3 }));
      // Leased deliveries are still pending.
      expect(await store.depth()).toEqual({ pending: 6, retrying: 0, dead: 0 });
      const [a, b, c] = claimed;
      await store.settle(a!.id, "w1", { kind: "delivered" }, now);
      await store.settle(b!.id, "w1", { kind: "retry", at: now + MINUTE, error: "timeout" }, now);
      await store.settle(c!.id, "w1", { kind: "dead", error: "400" }, now);
      expect(await store.depth()).toEqual({ pending: 3, retrying: 1, dead: 1 });
    });

    it("lists events newest first, by route, with every delivery's state", async () => {
      const base = Date.now() - MINUTE;
      const e1 = makeEvent("github", base);
      const e2 = makeEvent("stripe", base + 1_000);
      const e3 = makeEvent("github", base + 2_000);
      await enqueue(e1, ["notify", "deploy"]);
      await enqueue(e3, ["notify", "deploy"]);
      await enqueue(e2, ["notify"]);

      expect((await store.events()).map((e) => e.id)).toEqual([e3.id, e2.id, e1.id]);
      expect((await store.events({ route: "github" })).map((e) => e.id)).toEqual([e3.id, e1.id]);
      expect((await store.events({ limit: 2 })).map((e) => e.id)).toEqual([e3.id, e2.id]);

      const now = Date.now();
      // The oldest due delivery of github/deploy is e1's.
      await deliverOne("github", "deploy", { kind: "retry", at: now + MINUTE, error: "HTTP 502" }, now);
      const [summary] = await store.events({ route: "github", limit: 1 });
      expect(summary).toMatchObject({ id: e3.id, route: "github", receivedAt: e3.receivedAt });
      const byTarget = Object.fromEntries(summary!.deliveries.map((d) => [d.target, d]));
      expect(byTarget.notify).toMatchObject({ state: "pending", attempts: 0 });
      expect(byTarget.notify?.dueAt).toBeLessThanOrEqual(now);
      expect(byTarget.notify?.lastError).toBeUndefined();
      expect(await stateOf(e1.id, "deploy")).toMatchObject({ state: "retrying", attempts: 1, lastError: "HTTP 502", dueAt: now + MINUTE });
    });

    it("lists 20 events unless told otherwise", async () => {
      await Promise.all(Array.from({ length: 25 }, () => enqueue(makeEvent("github"), ["notify"])));
      expect(await store.events()).toHaveLength(20);
      expect(await store.events({ limit: 100 })).toHaveLength(25);
    });

    it("prune deletes old finished events only, and expired dedupe keys", async () => {
      const old = Date.now() - 10 * DAY;
      const before = Date.now() - DAY;
      const event = (route: string, at = old) => makeEvent(route, at);
      const delivered = event("delivered");
      const skipped = event("skipped");
      const noTargets = event("none");
      const withDead = event("dead");
      const waiting = event("waiting");
      const retrying = event("retrying");
      const recent = event("recent", Date.now());
      const coalescedOld = event("coalesce", old);
      const coalescedNew = event("coalesce", old + 1);

      await enqueue(delivered, ["t"]);
      await enqueue(skipped, ["t"]);
      await enqueue(noTargets, []);
      await enqueue(withDead, ["t", "u"]);
      await enqueue(waiting, ["t"]);
      await enqueue(retrying, ["t"]);
      await enqueue(recent, ["t"]);
      await enqueue(coalescedOld, ["t"]);
      await enqueue(coalescedNew, ["t"]);
      await enqueue(event("keyed-expired"), [], { key: "gone", expiresAt: Date.now() - 1 });
      const keyed = event("keyed");
      await enqueue(keyed, [], { key: "live", expiresAt: Date.now() + DAY });

      const now = Date.now();
      await deliverOne("delivered", "t", { kind: "delivered" }, now);
      await deliverOne("skipped", "t", { kind: "skipped" }, now);
      await deliverOne("dead", "t", { kind: "delivered" }, now);
      await deliverOne("dead", "u", { kind: "dead", error: "x" }, now);
      await deliverOne("retrying", "t", { kind: "retry", at: now + MINUTE, error: "x" }, now);
      await deliverOne("recent", "t", { kind: "delivered" }, now);
      const [newest] = await store.claim(claimOpts("coalesce", "t", now, { coalesce: true }));
      await store.settle(newest!.id, "w1", { kind: "delivered" }, now);

      const keysBefore = await h.dedupeKeys?.();
      // delivered, skipped, none, both coalesce events, keyed-expired and keyed (no targets).
      expect(await store.prune(before, now)).toBe(7);
      const left = (await store.events({ limit: 100 })).map((e) => e.route).sort();
      expect(left).toEqual(["dead", "recent", "retrying", "waiting"]);
      expect(await store.deadLetters()).toHaveLength(1);
      expect(await store.prune(before, now)).toBe(0);

      if (keysBefore !== undefined) {
        expect(keysBefore).toBe(2);
        expect(await h.dedupeKeys?.()).toBe(1);
      }
      // A live key outlives its pruned event and still marks a duplicate.
      expect(await enqueue(event("keyed"), [], { key: "live", expiresAt: Date.now() + DAY })).toEqual({
        status: "duplicate",
        id: keyed.id,
      });
    });

    it("release gives back every lease of one owner, due now", async () => {
      for (let i = 0; i < 3; i++) await enqueue(makeEvent("github"), ["notify"]);
      const now = Date.now();
      const mine = await store.claim(claimOpts("github", "notify", now, { owner: "w1", limit: 2 }));
      const theirs = await store.claim(claimOpts("github", "notify", now, { owner: "w2", limit: 2 }));
      expect(theirs).toHaveLength(1);
      expect(await store.backlog()).toEqual([]);

      expect(await store.release("w1")).toBe(2);
      expect(await store.release("w1")).toBe(0);
      const again = await store.claim(claimOpts("github", "notify", Date.now(), { owner: "w3" }));
      expect(again.map((d) => d.id).sort()).toEqual(mine.map((d) => d.id).sort());
      // The old holder's settle is now a no-op.
      await store.settle(mine[0]!.id, "w1", { kind: "delivered" }, now);
      expect(await store.depth()).toEqual({ pending: 3, retrying: 0, dead: 0 });
    });

    function attempt(n: number, outcome: AttemptRecord["outcome"], extra: Partial<AttemptRecord> = {}): AttemptRecord {
      return {
        attempt: n,
        startedAt: "2026-11-30T12:00:00.000Z",
        durationMs: 12 + n,
        outcome,
        status: null,
        exitCode: null,
        response: null,
        error: null,
        ...extra,
      };
    }

    it("keeps each delivery's attempts with its settlement, the newest 20, and only the lease holder's", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify", "deploy"]);
      const now = Date.now();
      // 23 tries of notify: the log keeps tries 4..23.
      for (let n = 1; n <= 23; n++) {
        const [d] = await store.claim(claimOpts("github", "notify", now + n, { limit: 1 }));
        const last = n === 23;
        const s: Settlement = last ? { kind: "delivered", detail: "HTTP 200" } : { kind: "retry", at: now + n, error: `HTTP 503 #${n}` };
        const record = attempt(n, last ? "delivered" : "retry", {
          status: last ? 200 : 503,
          response: `answer ${n}`,
          error: last ? null : `HTTP 503 #${n}`,
        });
        await store.settle(d!.id, "w1", s, now + n, record);
      }
      const [run] = await store.claim(claimOpts("github", "deploy", now, { limit: 1 }));
      // Not the holder: neither the state nor the log changes.
      await store.settle(run!.id, "intruder", { kind: "dead", error: "no" }, now, attempt(1, "dead", { error: "no" }));
      await store.settle(
        run!.id,
        "w1",
        { kind: "dead", error: "exit 2" },
        now,
        attempt(1, "dead", { exitCode: 2, response: "oops\n", error: "exit 2" }),
      );

      const detail = await store.event(e.id);
      const notify = detail?.deliveries.find((d) => d.target === "notify");
      expect(notify?.attemptLog.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 4));
      expect(notify?.attemptLog.at(-1)).toEqual(attempt(23, "delivered", { status: 200, response: "answer 23" }));
      expect(notify?.attemptLog[0]).toMatchObject({ outcome: "retry", status: 503, error: "HTTP 503 #4", exitCode: null });
      const deploy = detail?.deliveries.find((d) => d.target === "deploy");
      expect(deploy?.state).toBe("dead");
      expect(deploy?.attemptLog).toEqual([attempt(1, "dead", { exitCode: 2, response: "oops\n", error: "exit 2" })]);
    });

    it("a replayed delivery's log goes on after its earlier tries", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      const d = await deliverOne("github", "notify", { kind: "dead", error: "HTTP 404" });
      await store.settle(d.id, "w1", { kind: "dead", error: "x" }, Date.now(), attempt(9, "dead")); // no lease: ignored
      expect((await store.replay([d.id], Date.now())).replayed).toBe(1);
      const [again] = await store.claim(claimOpts("github", "notify", Date.now(), { limit: 1 }));
      await store.settle(again!.id, "w1", { kind: "delivered", detail: "HTTP 200" }, Date.now(), attempt(1, "delivered", { status: 200 }));
      const log = (await store.event(e.id))?.deliveries[0]?.attemptLog;
      expect(log?.map((a) => [a.attempt, a.outcome])).toEqual([[1, "delivered"]]);
    });

    it("prune removes the attempt logs with their events", async () => {
      const old = makeEvent("github", Date.now() - DAY);
      await enqueue(old, ["notify"]);
      const [d] = await store.claim(claimOpts("github", "notify", Date.now(), { limit: 1 }));
      await store.settle(d!.id, "w1", { kind: "delivered", detail: "ok" }, Date.now(), attempt(1, "delivered"));
      expect(await store.prune(Date.now() - MINUTE, Date.now())).toBe(1);
      expect(await store.event(old.id)).toBeUndefined();
      // The log went too: a later event whose delivery reused nothing shows an empty log.
      const e = makeEvent("github");
      await enqueue(e, ["notify"]);
      expect((await store.event(e.id))?.deliveries[0]?.attemptLog).toEqual([]);
    });

    it("pages events newest first by cursor, by route and time range, with or without documents", async () => {
      const base = Date.now() - 10 * MINUTE;
      const events = Array.from({ length: 7 }, (_, i) => makeEvent(i % 2 ? "b" : "a", base + Math.floor(i / 2) * MINUTE));
      for (const e of events) await enqueue(e, ["t"]);
      const newestFirst = [...events].reverse().map((e) => e.id);
      // Equal times keep their write order (newest written first when listed).
      const seen: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await store.eventPage(before === undefined ? { limit: 3 } : { limit: 3, before });
        seen.push(...page.map((p) => p.id));
        if (page.length < 3) break;
        before = page.at(-1)?.cursor;
      }
      expect(seen).toEqual(newestFirst);
      const [first] = await store.eventPage({ limit: 1 });
      expect(first).toMatchObject({ id: events[6]!.id, route: "a", receivedAt: events[6]!.receivedAt, receivedAtMs: base + 3 * MINUTE });
      expect(first?.deliveries).toMatchObject([{ target: "t", state: "pending", attempts: 0 }]);
      expect(first?.event).toBeUndefined();
      expect((await store.eventPage({ limit: 1, withEvent: true }))[0]?.event).toEqual(events[6]);

      const ofB = await store.eventPage({ route: "b", limit: 10 });
      expect(ofB.map((p) => p.id)).toEqual(newestFirst.filter((id) => events.find((e) => e.id === id)?.route === "b"));
      const range = await store.eventPage({ since: base + MINUTE, until: base + 3 * MINUTE, limit: 10 });
      expect(range.map((p) => p.id)).toEqual([events[5]!.id, events[4]!.id, events[3]!.id, events[2]!.id]);
      // A cursor past the range's end starts at the range's end.
      const resumed = await store.eventPage({ until: base + 2 * MINUTE, before: first!.cursor, limit: 10 });
      expect(resumed.map((p) => p.id)).toEqual([events[3]!.id, events[2]!.id, events[1]!.id, events[0]!.id]);
      await expect(store.eventPage({ limit: 1, before: "not a cursor" })).rejects.toThrow(/cursor/);
    });

    it("redeliver puts finished and dead deliveries of one event back, to every target or those named", async () => {
      const e = makeEvent("github");
      await enqueue(e, ["notify", "deploy", "chat"]);
      await deliverOne("github", "notify", { kind: "delivered", detail: "ok" });
      await deliverOne("github", "deploy", { kind: "dead", error: "exit 1" });
      // chat stays pending: already on its way, left alone.
      expect(await store.redeliver(e.id, ["notify", "nope"], Date.now())).toEqual({ replayed: 1, notFound: ["nope"] });
      expect(await store.redeliver(e.id, "all", Date.now())).toEqual({ replayed: 1, notFound: [] });
      const states = Object.fromEntries((await store.event(e.id))!.deliveries.map((d) => [d.target, [d.state, d.attempts]]));
      expect(states).toEqual({ notify: ["pending", 0], deploy: ["pending", 0], chat: ["pending", 0] });
      expect(await store.deadLetters()).toEqual([]);
      const [again] = await store.claim(claimOpts("github", "notify", Date.now(), { limit: 1 }));
      expect(again).toMatchObject({ eventId: e.id, attempt: 1 });
    });

    it("counts waiting and dead deliveries per target", async () => {
      for (let i = 0; i < 3; i++) await enqueue(makeEvent("github"), ["notify", "deploy"]);
      await deliverOne("github", "notify", { kind: "dead", error: "x" });
      await deliverOne("github", "notify", { kind: "retry", at: Date.now() + DAY, error: "y" });
      await deliverOne("github", "deploy", { kind: "delivered", detail: "ok" });
      const depths = (await store.targetDepths()).sort((a, b) => a.target.localeCompare(b.target));
      expect(depths).toEqual([
        { route: "github", target: "deploy", pending: 2, retrying: 0, dead: 0 },
        { route: "github", target: "notify", pending: 1, retrying: 1, dead: 1 },
      ]);
    });

    it("adds per-minute counters, sums them per bucket, and prunes them after 48 hours", async () => {
      const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
      await store.addCounts([
        { minute, route: "github", target: "", name: "accepted", n: 2 },
        { minute: minute - MINUTE, route: "github", target: "", name: "accepted", n: 3 },
        { minute, route: "github", target: "notify", name: "delivered", n: 1 },
        { minute: minute - COUNTS_KEEP_MS - 2 * MINUTE, route: "github", target: "", name: "accepted", n: 100 },
      ]);
      await store.addCounts([{ minute, route: "github", target: "", name: "accepted", n: 1 }]);
      const perMinute = await store.counts({ since: minute - 5 * MINUTE, bucketMinutes: 1 });
      expect(perMinute.sort((a, b) => a.minute - b.minute || a.name.localeCompare(b.name))).toEqual([
        { minute: minute - MINUTE, route: "github", target: "", name: "accepted", n: 3 },
        { minute, route: "github", target: "", name: "accepted", n: 3 },
        { minute, route: "github", target: "notify", name: "delivered", n: 1 },
      ]);
      const perHour = await store.counts({ since: minute - 5 * MINUTE, bucketMinutes: 24 * 60 });
      expect(perHour.find((r) => r.name === "accepted")?.n).toBe(6);
      await store.prune(Date.now() - DAY, Date.now());
      const all = await store.counts({ since: minute - COUNTS_KEEP_MS - 10 * MINUTE, bucketMinutes: 1 });
      expect(all.reduce((n, r) => n + r.n, 0)).toBe(7);
    });

    it("relay leases: pullers share a target's work in order of receipt, only the holder settles, and an expired lease keeps its lag", async () => {
      const events: ReceivedEvent[] = [];
      for (let i = 0; i < 5; i++) {
        const e = makeEvent("github", Date.now(), { n: i });
        await enqueue(e, ["home"]);
        events.push(e);
      }
      const enqueuedBy = Date.now();
      const now = Date.now();
      const relay = (owner: string, limit: number, at = now) => claimOpts("github", "home", at, { owner, limit, leaseMs: 1_000 });
      const a = await store.claim(relay("relay:a", 3));
      const b = await store.claim(relay("relay:b", 10));
      expect(a.map((d) => d.eventId)).toEqual(events.slice(0, 3).map((e) => e.id));
      expect(b.map((d) => d.eventId)).toEqual(events.slice(3).map((e) => e.id));
      expect(await store.backlog()).toEqual([]);
      // b acknowledging a's deliveries changes nothing; a's own acknowledgement settles them.
      for (const d of a) await store.settle(d.id, "relay:b", { kind: "delivered" }, now);
      expect(await store.depth()).toMatchObject({ pending: 5 });
      for (const d of a) await store.settle(d.id, "relay:a", { kind: "delivered" }, now);
      expect(await store.depth()).toMatchObject({ pending: 2 });
      // b never acknowledges: its lease expires and the events wait again, as old as they are.
      expect(await store.reclaimExpired(now + 1_001)).toBe(2);
      const [waiting] = await store.backlog();
      expect(waiting).toMatchObject({ route: "github", target: "home" });
      expect(waiting?.nextDueAt).toBeLessThanOrEqual(enqueuedBy);
      const c = await store.claim(relay("relay:c", 10, now + 1_001));
      expect(c.map((d) => d.eventId)).toEqual(events.slice(3).map((e) => e.id));
      expect(c[0]?.event.rawBody.toString()).toBe(JSON.stringify({ n: 3 }));
    });

    it("pauses and resumes targets: the first pause's time and error stay, a resume says whether there was one", async () => {
      expect(await store.pausedTargets()).toEqual([]);
      const since = Date.now();
      await store.pauseTarget({ route: "github", target: "notify", since, error: "HTTP 503" });
      // Paused again (another instance saw the same failures): the first pause stands.
      await store.pauseTarget({ route: "github", target: "notify", since: since + 5, error: "HTTP 502" });
      await store.pauseTarget({ route: "stripe", target: "notify", since, error: "timed out after 10s" });
      const paused = await store.pausedTargets();
      expect(paused.sort((a, b) => a.route.localeCompare(b.route))).toEqual([
        { route: "github", target: "notify", since, error: "HTTP 503" },
        { route: "stripe", target: "notify", since, error: "timed out after 10s" },
      ]);
      expect(await store.resumeTarget({ route: "github", target: "notify" })).toBe(true);
      expect(await store.resumeTarget({ route: "github", target: "notify" })).toBe(false);
      expect(await store.resumeTarget({ route: "github", target: "deploy" })).toBe(false);
      expect(await store.pausedTargets()).toEqual([{ route: "stripe", target: "notify", since, error: "timed out after 10s" }]);
    });

    it("keeps a paused target paused across close and reopen", async (ctx) => {
      if (!h.reopen) ctx.skip();
      const since = Date.now();
      await store.pauseTarget({ route: "github", target: "deploy", since, error: "exit code 1" });
      await store.close();
      store = await h.reopen!();
      opened.push(store);
      expect(await store.pausedTargets()).toEqual([{ route: "github", target: "deploy", since, error: "exit code 1" }]);
    });

    it("keeps everything across close and reopen", async (ctx) => {
      if (!h.reopen) ctx.skip();
      const e1 = makeEvent("github", Date.now() - MINUTE);
      const e2 = makeEvent("github");
      const dedupe = { key: "k", expiresAt: Date.now() + DAY };
      await enqueue(e1, ["notify", "deploy"], dedupe);
      await enqueue(e2, ["notify"]);
      const now = Date.now();
      const dead = await deliverOne("github", "notify", { kind: "dead", error: "boom" }, now);
      const [leased] = await store.claim(claimOpts("github", "notify", now, { leaseMs: 1_000 }));
      await store.close();

      store = await h.reopen!();
      opened.push(store);
      expect((await store.events()).map((e) => e.id)).toEqual([e2.id, e1.id]);
      expect(await store.deadLetters()).toMatchObject([{ id: dead.id, lastError: "boom", attempts: 1 }]);
      expect(await store.depth()).toEqual({ pending: 2, retrying: 0, dead: 1 });
      expect(await store.enqueue({ event: makeEvent("github"), targets: ["notify"], dedupe })).toEqual({ status: "duplicate", id: e1.id });
      // The lease survived too: not claimable until it expires.
      expect(await store.claim(claimOpts("github", "notify", now + 500))).toEqual([]);
      expect(await store.reclaimExpired(now + 1_001)).toBe(1);
      const [again] = await store.claim(claimOpts("github", "notify", now + 1_001));
      expect(again).toMatchObject({ id: leased?.id, attempt: 2, event: e2 });
      expect(await store.claim(claimOpts("github", "deploy", now + 1_001))).toMatchObject([{ eventId: e1.id, event: e1 }]);
    });
  });
}
