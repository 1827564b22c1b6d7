import { randomBytes } from "node:crypto";
import type Koa from "koa";
import type { Logger } from "pino";
import type { CompiledConfig } from "../config/compile.js";
import { ExpressionError } from "../errors.js";
import { prepare } from "../pipeline/prepare.js";
import { readRouteBody } from "../pipeline/read-route-body.js";
import { safeEqual } from "../plugins/verifiers/verifier.js";
import { readBody } from "../server/read-body.js";
import type { Store } from "../store/store.js";
import type { RelayHub } from "./relay-hub.js";
import type { RelayMetrics } from "./relay-metrics.js";
import type { RelayEndpoint } from "./relay-settings.js";
import { RELAY_WAIT_MAX_MS } from "./relay-settings.js";
import { parseAck, toWire, type WireEvent } from "./relay-wire.js";

/**
 * The edge side of the relay, on the webhook listener at a relay target's `path`:
 *   GET  path?max=N&wait=S   leases up to N waiting events (oldest first) to a new lease and
 *                            answers them; with none waiting, holds the request up to S seconds
 *   POST path/ack            { lease, acks }: settles those deliveries `delivered`
 * A lease not acknowledged within the target's `timeout` expires and its events are handed out
 * again (the worker reclaims expired leases), so an event is settled only once the puller has it.
 */

export interface RelayEndpointDeps {
  store: Store;
  log: Logger;
  hub: RelayHub;
  metrics: RelayMetrics;
  draining: () => boolean;
  /** Logs a refused pull: the first at once, a flood as one line a minute (the ingress's refusal log). */
  refused: (fields: Record<string, unknown>, message: string) => void;
}

/** How often a waiting pull reads the store again: events enqueued by another instance (Redis), leases expired. */
const RECHECK_MS = 1_000;
/** An ack names at most this many ids; the largest batch is 1 000. */
const MAX_ACKS = 1_000;
/** An ack body is ids only: 1 000 ids fit well in this. */
const ACK_BODY_LIMIT = 256 * 1024;
/** Owners of relay leases: no `/`, so a restarted worker never takes them for its own crashed run. */
const OWNER_PREFIX = "relay:";

export function findRelayEndpoint(config: CompiledConfig, path: string): { endpoint: RelayEndpoint; ack: boolean } | undefined {
  if (config.relayPaths.size === 0) return undefined;
  const endpoint = config.relayPaths.get(path);
  if (endpoint) return { endpoint, ack: false };
  if (!path.endsWith("/ack")) return undefined;
  const base = config.relayPaths.get(path.slice(0, -"/ack".length));
  return base ? { endpoint: base, ack: true } : undefined;
}

function fail(ctx: Koa.Context, status: number, error: string): void {
  ctx.status = status;
  ctx.body = { error };
}

/** Every token is compared, each in constant time, so the answer's timing says nothing about which was close. */
function authorized(ctx: Koa.Context, tokens: readonly Buffer[]): boolean {
  const header = ctx.get("Authorization");
  const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  let ok = false;
  for (const t of tokens) ok = safeEqual(t, given) || ok;
  return ok && given.length > 0;
}

export async function serveRelay(
  ctx: Koa.Context,
  found: { endpoint: RelayEndpoint; ack: boolean },
  deps: RelayEndpointDeps,
): Promise<void> {
  const { route, target } = found.endpoint;
  const pulled = target.target.pulled;
  if (!pulled) return fail(ctx, 404, "no relay for this path");
  const method = found.ack ? "POST" : "GET";
  if (ctx.method !== method) {
    ctx.set("Allow", method);
    return fail(ctx, 405, "method not allowed");
  }
  if (!authorized(ctx, pulled.tokens)) {
    // The token is never logged, nor which part was wrong.
    deps.refused(
      { route: route.name, target: target.name, status: 401, remoteAddress: ctx.req.socket.remoteAddress },
      "relay pull refused: wrong or missing token",
    );
    ctx.set("WWW-Authenticate", 'Bearer realm="switchyard relay"');
    return fail(ctx, 401, "unauthorized");
  }
  if (deps.draining()) {
    ctx.set("Retry-After", "5");
    return fail(ctx, 503, "shutting down");
  }
  if (found.ack) return ack(ctx, found.endpoint, deps);
  return pull(ctx, found.endpoint, deps);
}

function intParam(value: string | string[] | undefined, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !/^\d{1,6}(\.\d+)?$/.test(value)) return undefined;
  return Number(value);
}

async function pull(ctx: Koa.Context, endpoint: RelayEndpoint, deps: RelayEndpointDeps): Promise<void> {
  const { route, target } = endpoint;
  const batch = target.target.pulled?.batch ?? 1;
  const max = intParam(ctx.query.max, batch);
  const waitS = intParam(ctx.query.wait, 0);
  if (max === undefined || !Number.isInteger(max) || max < 1) return fail(ctx, 400, "max must be a whole number from 1 up");
  if (waitS === undefined) return fail(ctx, 400, "wait must be a number of seconds");
  const limit = Math.min(max, batch);
  const deadline = Date.now() + Math.min(waitS * 1000, RELAY_WAIT_MAX_MS);
  const lease = randomBytes(16).toString("hex");
  const owner = `${OWNER_PREFIX}${lease}`;
  // The puller hung up (or the proxy did): stop waiting, lease nothing more.
  const gone = new AbortController();
  ctx.res.once("close", () => gone.abort());
  for (;;) {
    // A puller that hung up gets nothing leased to it: those events would wait a whole lease.
    if (gone.signal.aborted) return;
    const events = await leaseBatch(endpoint, owner, limit, deps);
    if (events.length > 0 || Date.now() >= deadline || gone.signal.aborted || deps.draining()) {
      if (events.length > 0) deps.metrics.handedOut.inc({ route: route.name, target: target.name }, events.length);
      ctx.status = 200;
      ctx.set("Cache-Control", "no-store");
      ctx.body = { lease, events };
      return;
    }
    await deps.hub.wait(route.name, Math.min(RECHECK_MS, deadline - Date.now()), gone.signal);
  }
}

async function leaseBatch(endpoint: RelayEndpoint, owner: string, limit: number, deps: RelayEndpointDeps): Promise<WireEvent[]> {
  const { route, target } = endpoint;
  const now = Date.now();
  const claimed = await deps.store.claim({
    route: route.name,
    target: target.name,
    limit,
    leaseMs: target.timeoutMs,
    now,
    owner,
    coalesce: false,
  });
  const events: WireEvent[] = [];
  for (const d of claimed) {
    let skip = false;
    try {
      // The body the route's ingress read (SNS's JSON in text/plain, a route's content_type).
      if (target.filter) readRouteBody(d.event, route);
      skip = (await prepare(target, d.event)).skip;
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      // A filter that fails fails again: a dead letter, replayable once the config is fixed.
      await deps.store.settle(d.id, owner, { kind: "dead", error: err.message }, Date.now());
      deps.log.error(
        { eventId: d.eventId, route: route.name, target: target.name, err: err.message },
        "relay target filter failed; kept in the dead-letter queue",
      );
      continue;
    }
    if (skip) await deps.store.settle(d.id, owner, { kind: "skipped" }, Date.now());
    else events.push(toWire(d.id, d.event));
  }
  return events;
}

async function ack(ctx: Koa.Context, endpoint: RelayEndpoint, deps: RelayEndpointDeps): Promise<void> {
  const read = await readBody(ctx.req, ACK_BODY_LIMIT);
  if (!read.ok) {
    ctx.set("Connection", "close");
    return fail(ctx, read.reason === "too_large" ? 413 : 400, read.reason === "too_large" ? "ack too large" : "request aborted");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.body.toString("utf8"));
  } catch {
    return fail(ctx, 400, "the body is not JSON");
  }
  const req = parseAck(parsed, MAX_ACKS);
  if (typeof req === "string") return fail(ctx, 400, req);
  const owner = `${OWNER_PREFIX}${req.lease}`;
  const now = Date.now();
  // Settled only under this lease: an id leased to another puller, or already settled, is left as it is.
  // Together, so the store writes them in one commit.
  const delivered = { kind: "delivered", detail: "acknowledged by the relay's puller" } as const;
  await Promise.all(req.acks.map((id) => deps.store.settle(id, owner, delivered, now)));
  deps.log.debug({ route: endpoint.route.name, target: endpoint.target.name, acks: req.acks.length }, "relay ack");
  ctx.status = 200;
  ctx.body = { status: "ok" };
}
