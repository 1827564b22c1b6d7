import { isIP } from "node:net";
import type Koa from "koa";
import { isLoopback } from "../config/addresses.js";
import type { CompiledConfig } from "../config/compile.js";

/**
 * The rules the admin listener keeps because replay runs commands: every answer forbids framing,
 * sniffing and foreign scripts; writes need a token when the admin address is reachable from
 * elsewhere, and a JSON body, which a cross-site form cannot send (and no CORS header ever lets
 * a foreign page read an answer or send one with a preflight).
 */

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'self'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set(SECURITY_HEADERS);
    await next();
  };
}

/** Where the admin routes are served: `server.admin`, or `listen` when it is left out. */
function adminHost(config: CompiledConfig): string {
  return (config.server.admin ?? config.server.listen).host;
}

/**
 * 403 for a write when the admin address is not loopback and no `server.admin_token` is set:
 * anyone who can reach the port could otherwise run a target's command by replaying.
 */
export function requireTokenForRemoteWrites(config: () => CompiledConfig | undefined): Koa.Middleware {
  return async (ctx, next) => {
    const c = config();
    if (c && c.server.adminToken === undefined && !isLoopback(adminHost(c))) {
      ctx.status = 403;
      ctx.body = {
        error:
          "write endpoints are refused: the admin address is not loopback and server.admin_token is not set; set server.admin_token (and send it as Authorization: Bearer) to replay or test from here",
      };
      return;
    }
    await next();
  };
}

/** 415 unless the request says its body is JSON (an empty body too: the header is what a form cannot send). */
export function requireJson(): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.request.type !== "application/json") {
      ctx.status = 415;
      ctx.body = { error: "send the body as JSON, with Content-Type: application/json" };
      return;
    }
    await next();
  };
}

/** The host name of a Host header: `[::1]:9090` → `::1`, `Example.lan:9090` → `example.lan`. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.lastIndexOf(":");
  return colon > 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

/**
 * Without `server.admin_token`, the API answers only requests addressed to an IP address,
 * `localhost` or the admin address's own host name. A web page on another site can point a host
 * name of its own at 127.0.0.1 (DNS rebinding) and then read and write the API as if it were the
 * same origin: the Host header it sends still names that site, so it is refused here. With a
 * token, a page cannot get it, so any host name is fine.
 */
export function requireKnownHostWithoutToken(config: () => CompiledConfig | undefined): Koa.Middleware {
  return async (ctx, next) => {
    const c = config();
    if (c && c.server.adminToken === undefined) {
      const name = hostName(ctx.get("Host"));
      const own = adminHost(c).toLowerCase();
      if (!(name === "" || isIP(name) !== 0 || name === "localhost" || name.endsWith(".localhost") || name === own)) {
        ctx.status = 403;
        ctx.body = {
          error: `this request is addressed to the host name ${JSON.stringify(name)}: without server.admin_token the console API answers only requests to an IP address or localhost, so that no web page can reach it through a host name of its own; set server.admin_token to use a host name`,
        };
        return;
      }
    }
    await next();
  };
}
