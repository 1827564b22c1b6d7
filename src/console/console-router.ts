import { isUtf8 } from "node:buffer";
import type Router from "@koa/router";
import type Koa from "koa";
import { signedCurl } from "../cli/sign.js";
import type { CompiledConfig } from "../config/compile.js";
import { UserError } from "../errors.js";
import { type DryRunRequest, dryRunRequest } from "../pipeline/dry-run.js";
import { compileExpression, ExpressionSyntaxError } from "../pipeline/expression.js";
import type { SignedRequest } from "../plugins/verifiers/verifier.js";
import { DELIVERY_STATES, type DeliveryState, isDeliveryState, type Store } from "../store/store.js";
import { requireJson, requireKnownHostWithoutToken, requireTokenForRemoteWrites } from "./admin-security.js";
import { SEARCH_TIMEOUT_MS, searchEvents } from "./event-search.js";
import { eventDetailView, replayableRequest } from "./event-view.js";
import { BadRequest, jsonBody, stringList } from "./json-body.js";
import type { LiveStream } from "./live-stream.js";
import { routesOverview } from "./overview.js";
import { REJECTIONS_KEPT, type Rejections, UNKNOWN_PATHS_KEPT } from "./rejections.js";
import type { Tally } from "./tally.js";

/**
 * The console's JSON API under /api/v1 on the admin listener (README: "Console API"). Reads and
 * writes want `server.admin_token` when it is set (the caller's guard); writes also want a JSON
 * body and, on an admin address that is not loopback, a token at all.
 */

export interface ReloadStatus {
  at: string;
  ok: boolean;
  trigger: string;
  /** The config errors of a failed reload, as `check` prints them. */
  errors: { message: string; place?: string; line?: number }[];
}

export interface ConsoleDeps {
  store: Store;
  config: () => CompiledConfig | undefined;
  version: string;
  rejections: Rejections;
  stream: LiveStream;
  tally?: Tally;
  startedAt: number;
  lastReload: () => ReloadStatus | undefined;
  /** Where webhooks are received (the bound address), for the signed curl line. */
  listenUrl?: () => string | undefined;
  /** New work is due (a replay): the worker looks now rather than at its next poll. */
  wake: () => void;
}

export const DEFAULT_PAGE = 50;
/** How long one reading of the overview is shared by the requests that ask for it. */
const OVERVIEW_FRESH_MS = 1_000;
export const MAX_PAGE = 500;
const DEAD_LETTERS_MAX = 10_000;

function one(ctx: Koa.Context, name: string): string | undefined {
  const v = ctx.query[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s;
}

function limitOf(ctx: Koa.Context, fallback: number, max: number): number {
  const text = one(ctx, "limit");
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new BadRequest(`limit must be a whole number from 1 to ${max}`);
  return n;
}

/** An ISO time or epoch milliseconds. */
function timeOf(ctx: Koa.Context, name: string): number | undefined {
  const text = one(ctx, name);
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n)) throw new BadRequest(`${name} must be an ISO time (2026-12-01T12:00:00Z) or epoch milliseconds`);
  return n;
}

function needConfig(deps: ConsoleDeps): CompiledConfig {
  const c = deps.config();
  if (!c) throw new BadRequest("the config is not loaded", 503);
  return c;
}

/** Answers BadRequest and UserError (a bad cursor) as JSON errors; anything else is a 500 Koa logs. */
function errors(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof BadRequest || err instanceof UserError) {
        ctx.status = err instanceof BadRequest ? err.status : 400;
        ctx.body = { error: err.message };
        return;
      }
      throw err;
    }
  };
}

export function addConsoleRoutes(router: Router, deps: ConsoleDeps, guarded: Koa.Middleware): void {
  const { store } = deps;
  const knownHost = requireKnownHostWithoutToken(deps.config);
  const write = [knownHost, requireTokenForRemoteWrites(deps.config), guarded, requireJson(), errors()];
  const read = [knownHost, guarded, errors()];

  router.get("/api/v1/status", ...read, async (ctx) => {
    const config = deps.config();
    const depth = await store.depth().catch(() => undefined);
    ctx.body = {
      service: "switchyard",
      version: deps.version,
      config: config?.file,
      queue: depth ?? "store unavailable",
      routes: (config?.routes ?? []).map((r) => ({
        name: r.name,
        path: r.path,
        verify: r.verifyType,
        targets: r.targets.map((t) => ({ name: t.name, type: t.type, concurrency: t.concurrency })),
      })),
      startedAt: new Date(deps.startedAt).toISOString(),
      uptimeSeconds: Math.floor((Date.now() - deps.startedAt) / 1000),
      store: config?.store.type,
      lastReload: deps.lastReload() ?? null,
      liveStreams: deps.stream.connected,
    };
  });

  // Pages that poll the overview every few seconds, in several tabs, share one reading a second:
  // its counters change every TALLY_FLUSH_MS anyway.
  let overview: { at: number; config: CompiledConfig; routes: Promise<unknown> } | undefined;
  router.get("/api/v1/routes", ...read, async (ctx) => {
    const config = needConfig(deps);
    const now = Date.now();
    if (!overview || overview.config !== config || now - overview.at >= OVERVIEW_FRESH_MS) {
      const routes = routesOverview({ config, store, now, lastErrors: deps.tally?.lastErrors ?? new Map() });
      overview = { at: now, config, routes };
      // A failed reading is not shared: the next request tries again.
      routes.catch(() => {
        if (overview?.routes === routes) overview = undefined;
      });
    }
    ctx.body = { routes: await overview.routes };
  });

  router.get("/api/v1/events", ...read, async (ctx) => {
    const state = one(ctx, "state");
    if (state !== undefined && !isDeliveryState(state)) throw new BadRequest(`state must be one of ${DELIVERY_STATES.join(", ")}`);
    const source = one(ctx, "q");
    let q: ReturnType<typeof compileExpression> | undefined;
    if (source !== undefined) {
      if (source.length > 4096) throw new BadRequest("q is longer than 4096 characters");
      try {
        q = compileExpression(source, "q", SEARCH_TIMEOUT_MS);
      } catch (err) {
        if (err instanceof ExpressionSyntaxError) throw new BadRequest(`q: ${err.message}`);
        throw err;
      }
    }
    ctx.body = await searchEvents(store, {
      route: one(ctx, "route"),
      target: one(ctx, "target"),
      state: state as DeliveryState | undefined,
      q,
      since: timeOf(ctx, "since"),
      until: timeOf(ctx, "until"),
      before: one(ctx, "before"),
      limit: limitOf(ctx, DEFAULT_PAGE, MAX_PAGE),
    });
  });

  router.get("/api/v1/events/:id", ...read, async (ctx) => {
    const detail = await store.event(ctx.params.id ?? "");
    if (!detail) {
      ctx.status = 404;
      ctx.body = { error: "no such event (finished events are pruned after store.retention)" };
      return;
    }
    ctx.body = eventDetailView(detail, deps.config()?.redact ?? ((t) => t));
  });

  // It carries a valid signature (for some schemes the secret itself): guarded as writes are.
  router.get("/api/v1/events/:id/curl", knownHost, requireTokenForRemoteWrites(deps.config), guarded, errors(), async (ctx) => {
    const config = needConfig(deps);
    const detail = await store.event(ctx.params.id ?? "");
    if (!detail) {
      ctx.status = 404;
      ctx.body = { error: "no such event (finished events are pruned after store.retention)" };
      return;
    }
    const route = config.byName.get(detail.event.route);
    if (!route) throw new BadRequest("the event's route is no longer in the config", 404);
    const { body, headers } = replayableRequest(detail.event);
    // A curl line carries the body inline as text: bytes that are not UTF-8 would not survive it.
    if (!isUtf8(body))
      throw new BadRequest("the event's body is not UTF-8 text, so no curl line can carry it: use switchyard events show ID --raw", 409);
    try {
      ctx.body = { curl: signedCurl(config, route, body, headers, { url: deps.listenUrl?.(), query: detail.event.query }).curl };
    } catch (err) {
      // A scheme that cannot sign here (a public-key scheme has no private key in the config).
      if (err instanceof UserError) throw new BadRequest(err.message, 409);
      throw err;
    }
  });

  router.post("/api/v1/events/:id/replay", ...write, async (ctx) => {
    const id = ctx.params.id ?? "";
    const body = await jsonBody(ctx);
    const targets = stringList(body, "targets", 1_000);
    const detail = await store.event(id);
    if (!detail) {
      ctx.status = 404;
      ctx.body = { error: "no such event (finished events are pruned after store.retention)" };
      return;
    }
    const known = new Set(detail.deliveries.map((d) => d.target));
    const unknown = (targets ?? []).filter((t) => !known.has(t));
    if (unknown.length > 0)
      throw new BadRequest(`this event has no delivery to ${unknown.join(", ")} (its targets: ${[...known].join(", ") || "none"})`);
    const result = await store.redeliver(id, targets ?? "all", Date.now());
    if (result.replayed > 0) deps.wake();
    ctx.body = { replayed: result.replayed };
  });

  // A paused target (pause_after) resumed by hand; the worker sees it within a second.
  router.post("/api/v1/targets/:route/:target/resume", ...write, async (ctx) => {
    const route = ctx.params.route ?? "";
    const target = ctx.params.target ?? "";
    const known = needConfig(deps).byName.get(route)?.targetNames.includes(target) === true;
    if (!(await store.resumeTarget({ route, target }))) {
      ctx.status = known ? 409 : 404;
      ctx.body = { error: known ? `${route}/${target} is not paused` : `no target ${route}/${target} in the config` };
      return;
    }
    deps.wake();
    ctx.body = { resumed: `${route}/${target}` };
  });

  router.get("/api/v1/dead-letters", ...read, async (ctx) => {
    const letters = await store.deadLetters({ route: one(ctx, "route"), limit: limitOf(ctx, 500, DEAD_LETTERS_MAX) });
    ctx.body = { deadLetters: letters.map((d) => ({ ...d, failedAt: new Date(d.failedAt).toISOString() })) };
  });

  router.post("/api/v1/dead-letters/replay", ...write, async (ctx) => {
    const body = await jsonBody(ctx);
    const ids = stringList(body, "ids");
    const route = body.route;
    const all = body.all;
    const given = [ids !== undefined, route !== undefined, all !== undefined].filter(Boolean).length;
    if (given !== 1 || (all !== undefined && all !== true) || (route !== undefined && typeof route !== "string")) {
      throw new BadRequest('give exactly one of { "ids": [...] }, { "route": "name" } or { "all": true }');
    }
    let result: { replayed: number; notFound: string[] };
    if (ids !== undefined) result = await store.replay(ids, Date.now());
    else if (all === true) result = await store.replay("all", Date.now());
    else {
      const letters = await store.deadLetters({ route: route as string });
      result =
        letters.length === 0
          ? { replayed: 0, notFound: [] }
          : await store.replay(
              letters.map((d) => d.id),
              Date.now(),
            );
    }
    if (result.replayed > 0) deps.wake();
    ctx.body = result;
  });

  router.get("/api/v1/rejections", ...read, (ctx) => {
    ctx.body = {
      storage: "memory",
      note: `kept in memory only: the last ${REJECTIONS_KEPT} refusals on routes and the last ${UNKNOWN_PATHS_KEPT} requests for unknown paths; a restart empties it`,
      rejections: deps.rejections.list(),
    };
  });

  router.post("/api/v1/routes/:name/test", ...write, async (ctx) => {
    const config = needConfig(deps);
    const route = config.byName.get(ctx.params.name ?? "");
    if (!route) {
      ctx.status = 404;
      ctx.body = { error: "no route of that name (GET /api/v1/routes lists them)" };
      return;
    }
    const body = await jsonBody(ctx, config.server.bodyLimit + API_TEST_OVERHEAD);
    const request: DryRunRequest = testRequest(body);
    if (body.sign === true) {
      // As `switchyard test --sign`: signed over the headers given, which the signature's headers join.
      let signed: SignedRequest;
      try {
        signed = route.verifier.sign(request.rawBody, Date.now(), request.headers);
      } catch (err) {
        // A scheme that cannot sign here: a public-key scheme has no private key in the config.
        throw new BadRequest(`cannot sign for route ${route.name}: ${(err as Error).message}`, 409);
      }
      request.rawBody = signed.body;
      request.headers = { ...Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])), ...request.headers };
      request.query = { ...request.query, ...signed.query };
    }
    const report = await dryRunRequest(config, route, request);
    // What a target would send can hold its credentials (an Authorization header): masked here.
    ctx.body = JSON.parse(config.redact(JSON.stringify(report)));
  });

  router.get("/api/v1/stream", ...read, (ctx) => deps.stream.handle(ctx));
}

/** Room for the JSON around a test payload of body_limit. */
const API_TEST_OVERHEAD = 64 * 1024;

/**
 * `{ body, headers?, query?, sign? }`: body as a string (sent as is) or any JSON value (sent as
 * JSON); `sign: true` signs it with the route's key first.
 */
function testRequest(b: Record<string, unknown>) {
  if (b.body === undefined) throw new BadRequest('give the payload as "body" (a string, sent as is, or JSON)');
  const rawBody = Buffer.from(typeof b.body === "string" ? b.body : JSON.stringify(b.body), "utf8");
  const record = (field: string): Record<string, string> => {
    const v = b[field];
    if (v === undefined) return {};
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")) {
      throw new BadRequest(`"${field}" must be an object of strings`);
    }
    return v as Record<string, string>;
  };
  const headers = Object.fromEntries(Object.entries(record("headers")).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody, headers, query: record("query") };
}
