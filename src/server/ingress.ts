import type { IncomingHttpHeaders } from "node:http";
import Koa from "koa";
import type { CompiledConfig } from "../config/compile.js";
import { type ReceiveDeps, receive } from "../pipeline/receive.js";
import { readBody } from "./read-body.js";

/**
 * The webhook listener. Route lookup is one Map hit on the exact path (O(1) in the number of
 * routes, and a reload swaps the whole map at once); a route answers POST only.
 */

export interface IngressOptions extends ReceiveDeps {
  /** The live config; read once per request, so a request finishes on the routes it started with. */
  config: () => CompiledConfig;
  /** True while shutting down: new webhooks get 503 so the provider retries elsewhere or later. */
  draining: () => boolean;
  /** Admin routes served on this listener when no separate admin address is set. */
  admin?: Koa.Middleware;
}

function flattenHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}

export function createIngressApp(opts: IngressOptions): Koa {
  const app = new Koa();
  app.on("error", (err: Error) => opts.log.error({ err: err.message }, "request failed"));
  app.use(async (ctx, next) => {
    const config = opts.config();
    const route =
      config.byPath.get(ctx.path) ?? (ctx.path.length > 1 && ctx.path.endsWith("/") ? config.byPath.get(ctx.path.slice(0, -1)) : undefined);
    if (!route) {
      if (opts.admin) return opts.admin(ctx, next);
      ctx.status = 404;
      ctx.body = { error: "no route for this path" };
      return;
    }
    if (ctx.method !== "POST") {
      ctx.status = 405;
      ctx.set("Allow", "POST");
      ctx.body = { error: "method not allowed" };
      return;
    }
    if (opts.draining()) {
      ctx.status = 503;
      ctx.set("Retry-After", "5");
      ctx.set("Connection", "close");
      ctx.body = { error: "shutting down" };
      return;
    }
    const receivedAt = Date.now();
    const read = await readBody(ctx.req, config.server.bodyLimit);
    if (!read.ok) {
      ctx.set("Connection", "close");
      ctx.status = read.reason === "too_large" ? 413 : 400;
      ctx.body = { error: read.reason === "too_large" ? "body too large" : "request aborted" };
      if (read.reason === "too_large") opts.metrics.eventsReceived.inc({ route: route.name, outcome: "invalid" });
      return;
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
      },
      opts,
    );
    ctx.status = answer.status;
    ctx.body = answer.body ?? "";
  });
  return app;
}
