import type { IncomingMessage } from "node:http";
import Koa from "koa";
import type { CompiledConfig } from "../config/compile.js";
import type { Rejections } from "../console/rejections.js";
import { type ReceiveDeps, receive } from "../pipeline/receive.js";
import { findRelayEndpoint } from "../relay/relay-endpoint.js";
import type { RelayEndpoint } from "../relay/relay-settings.js";
import { RefusalLog } from "../telemetry/refusal-log.js";
import { BodyBudget } from "./body-budget.js";
import { clientAddress } from "./client-address.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "./json-depth.js";
import { readBody } from "./read-body.js";
import { firstValues, flattenHeaders } from "./request-parts.js";
import { gateRequest } from "./route-gate.js";

/**
 * The webhook listener. Route lookup is one Map hit on the exact path (O(1) in the number of
 * routes, and a reload swaps the whole map at once); a route answers POST, or the `methods` it names.
 */

export interface IngressOptions extends ReceiveDeps {
  /** The live config; read once per request, so a request finishes on the routes it started with. */
  config: () => CompiledConfig;
  /** True while shutting down: new webhooks get 503 so the provider retries elsewhere or later. */
  draining: () => boolean;
  /** Admin routes served on this listener when no separate admin address is set. */
  admin?: Koa.Middleware;
  /** The in-flight body budget; by default one for this app, sized by `server.inflight_body_limit`. */
  budget?: BodyBudget;
  /** The console's list of refused requests (401, 400, 404, 405, 413). */
  rejections?: Rejections;
  /** Serves a relay target's pull and ack paths (src/relay/relay-endpoint.ts). */
  relay?: (ctx: Koa.Context, found: { endpoint: RelayEndpoint; ack: boolean }) => Promise<void>;
}

/** What a 503 asks the provider to wait, in seconds: the condition is usually short-lived. */
const RETRY_AFTER_SECONDS = "5";
/** How much of an unknown path a log line shows: enough to spot a typo, not a scanner's essay. */
const LOGGED_PATH_CHARS = 200;

/** A webhook turned away before it reaches the pipeline. */
interface Refusal {
  status: number;
  error: string;
  /** Close the connection with the answer: the client's body (if any) is not read. */
  close?: boolean;
  /** Ask the provider to come back in a few seconds (the condition is short-lived). */
  retryLater?: boolean;
  allow?: string;
  /** Why, for the refusal log (one line per route and reason, then a summary a minute). */
  note?: RefusalNote;
}

interface RefusalNote {
  route?: string;
  reason: string;
  message: string;
  fields?: Record<string, unknown>;
}

function answer(ctx: Koa.Context, r: Refusal): void {
  ctx.status = r.status;
  if (r.close) ctx.set("Connection", "close");
  if (r.retryLater) ctx.set("Retry-After", RETRY_AFTER_SECONDS);
  if (r.allow) ctx.set("Allow", r.allow);
  ctx.body = { error: r.error };
}

/** Bytes the body will take at most: its Content-Length, or body_limit when it is chunked. */
function bodyBytes(req: IncomingMessage, limit: number): number {
  if (req.headers["transfer-encoding"] !== undefined) return limit;
  const declared = Number(req.headers["content-length"] ?? 0);
  return Number.isFinite(declared) ? declared : limit;
}

export function createIngressApp(opts: IngressOptions): Koa {
  const app = new Koa();
  const budget = opts.budget ?? new BodyBudget(() => opts.config().server.inflightBodyLimit);
  const refusals = opts.refusals ?? new RefusalLog(opts.log);
  const deps: ReceiveDeps = { ...opts, refusals };
  // One line per route and reason, then a summary a minute: a user sees why a webhook did
  // nothing, a flood cannot fill the disk.
  const noteRefusal = (n: RefusalNote, status: number) =>
    refusals.note(`${n.route ?? ""}\0${n.reason}`, "info", { route: n.route, status, reason: n.reason, ...n.fields }, n.message);
  // Names only, never values: a header may hold the credential that failed.
  const remember = (ctx: Koa.Context, status: number, reason: string, route?: string) =>
    opts.rejections?.record({
      status,
      route,
      reason,
      method: ctx.method,
      path: ctx.path,
      remoteAddress: ctx.req.socket.remoteAddress,
      userAgent: ctx.get("User-Agent") || undefined,
      headers: ctx.req.headers,
    });
  const refuse = (ctx: Koa.Context, r: Refusal): void => {
    if (r.note) {
      noteRefusal(r.note, r.status);
      if (r.status !== 503) remember(ctx, r.status, r.note.reason, r.note.route);
    }
    answer(ctx, r);
  };
  app.on("error", (err: Error) => opts.log.error({ err: err.message }, "request failed"));
  app.use(async (ctx, next) => {
    const config = opts.config();
    const relayed = opts.relay && findRelayEndpoint(config, ctx.path);
    if (relayed && opts.relay) return opts.relay(ctx, relayed);
    const route =
      config.byPath.get(ctx.path) ?? (ctx.path.length > 1 && ctx.path.endsWith("/") ? config.byPath.get(ctx.path.slice(0, -1)) : undefined);
    if (!route) {
      const notFound: RefusalNote = {
        reason: "no_route",
        message: "request refused: no route has this path",
        fields: { method: ctx.method.slice(0, 16), path: ctx.path.slice(0, LOGGED_PATH_CHARS) },
      };
      if (opts.admin) {
        await opts.admin(ctx, next);
        if (ctx.status === 404) {
          noteRefusal(notFound, 404);
          remember(ctx, 404, notFound.reason);
        }
        return;
      }
      return refuse(ctx, { status: 404, error: "no route for this path", note: notFound });
    }
    // allow_from, and a scheme's GET handshake (Meta): decided before any body is read, never stored.
    const gate = gateRequest(route, ctx, config.server);
    if (gate) {
      opts.metrics.eventsReceived.inc({ route: route.name, outcome: gate.outcome });
      opts.tally?.received(route.name, gate.outcome);
    }
    if (gate?.kind === "refuse") {
      const { reason, message, fields } = gate;
      return refuse(ctx, { status: gate.status, error: gate.error, note: { route: route.name, reason, message, fields } });
    }
    if (gate?.kind === "answer") {
      opts.log.info({ route: route.name }, "provider GET handshake answered");
      ctx.status = gate.status;
      // A challenge goes back as plain text, byte for byte (koa would call a string starting with `<` HTML).
      if (typeof gate.body === "string") ctx.type = "text/plain";
      ctx.body = gate.body;
      return;
    }
    const methods = route.methods ?? ["POST"];
    if (!methods.includes(ctx.method)) {
      const note = {
        route: route.name,
        reason: "method_not_allowed",
        message: `request refused: the route answers ${methods.join(", ")} only`,
        fields: { method: ctx.method.slice(0, 16) },
      };
      return refuse(ctx, { status: 405, error: "method not allowed", allow: methods.join(", "), note });
    }
    if (opts.draining()) return refuse(ctx, { status: 503, error: "shutting down", close: true, retryLater: true });
    const { bodyLimit } = config.server;
    const bytes = bodyBytes(ctx.req, bodyLimit);
    const tooLarge: Refusal = {
      status: 413,
      error: "body too large",
      close: true,
      note: {
        route: route.name,
        reason: "body_too_large",
        message: "request refused: the body is larger than server.body_limit",
        fields: { limit: bodyLimit },
      },
    };
    // Refused before a byte of the body is read: the connection closes with the answer.
    const invalid = () => {
      opts.metrics.eventsReceived.inc({ route: route.name, outcome: "invalid" });
      opts.tally?.received(route.name, "invalid");
    };
    if (bytes > bodyLimit) {
      invalid();
      return refuse(ctx, tooLarge);
    }
    const release = budget.reserve(bytes);
    if (!release) {
      opts.metrics.ingressRefused.inc({ reason: "inflight_body_limit" });
      return refuse(ctx, { status: 503, error: "too many requests in flight", close: true, retryLater: true });
    }
    // Held until the answer is sent or the client is gone: the parsed body lives that long too.
    if (ctx.res.closed) release();
    else ctx.res.once("close", release);
    if (/^100-continue$/i.test(ctx.get("Expect"))) ctx.res.writeContinue();
    const receivedAt = Date.now();
    const read = await readBody(ctx.req, bodyLimit);
    if (!read.ok) {
      if (read.reason !== "too_large") {
        const message = "request refused: the sender closed the connection before the body was complete";
        return refuse(ctx, {
          status: 400,
          error: "request aborted",
          close: true,
          note: { route: route.name, reason: "request_aborted", message },
        });
      }
      invalid();
      return refuse(ctx, tooLarge);
    }
    if (jsonTooDeep(read.body)) {
      invalid();
      const message = `request refused: the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`;
      return refuse(ctx, {
        status: 400,
        error: "body nested too deeply",
        note: { route: route.name, reason: "body_nested_too_deeply", message },
      });
    }
    const answer = await receive(
      route,
      {
        method: ctx.method,
        path: ctx.path,
        headers: flattenHeaders(ctx.req.headers),
        query: firstValues(new URLSearchParams(ctx.querystring)),
        rawBody: read.body,
        receivedAt,
        client: clientAddress(
          ctx.req.socket.remoteAddress,
          config.server.trustProxy > 0 ? ctx.get("X-Forwarded-For") : undefined,
          config.server.trustProxy,
        ),
      },
      deps,
    );
    if (answer.status === 503) ctx.set("Retry-After", RETRY_AFTER_SECONDS);
    if (answer.refusal !== undefined) remember(ctx, answer.status, answer.refusal, route.name);
    ctx.status = answer.status;
    // A route's own answer (`respond`) names its type; koa keeps a Content-Type already set.
    for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
    ctx.body = answer.body ?? "";
  });
  return app;
}
