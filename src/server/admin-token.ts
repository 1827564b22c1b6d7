import { createHash, timingSafeEqual } from "node:crypto";
import type Koa from "koa";

/**
 * `server.admin_token`: a bearer token for /metrics and the status page. Compared in constant
 * time over fixed-size hashes, so neither the content nor the length of a guess shows in the
 * timing. The 401 says nothing about what was sent.
 */

const BEARER = /^bearer +(.+)$/i;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function tokenMatches(expected: string, header: string | undefined): boolean {
  const given = header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
  // Hash something even when nothing usable was sent: the same work either way.
  const ok = timingSafeEqual(digest(expected), digest(given ?? ""));
  return ok && given !== undefined;
}

/** Middleware: passes when no token is configured, or the request carries it. */
export function requireAdminToken(token: () => string | undefined): Koa.Middleware {
  return async (ctx, next) => {
    const expected = token();
    if (expected === undefined || tokenMatches(expected, ctx.get("Authorization") || undefined)) return next();
    ctx.status = 401;
    ctx.set("WWW-Authenticate", 'Bearer realm="switchyard"');
    ctx.body = { error: "unauthorized" };
  };
}
