import type { AddressInfo } from "node:net";
import { HeaderLines } from "../cli/header-lines.js";
import { shellQuote } from "../cli/shell-quote.js";
import type { CompiledConfig } from "../config/compile.js";
import type { CompiledRoute } from "../config/compile-route.js";
import type { WebhookEvent } from "../pipeline/event.js";
import { REDACTED } from "../pipeline/redact.js";
import { findVerifier } from "../plugins/verifiers/index.js";

/**
 * The console's "copy a signed curl": a command that sends a stored event to its route again,
 * signed now with the route's key, as `switchyard sign` would. The stored headers come along
 * (route filters read them; a dedupe route will answer `duplicate` for the same delivery id),
 * except those a client sets itself, those that carried a credential, and masked ones.
 */

const LEFT_OUT = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "upgrade",
  "expect",
  "accept-encoding",
  "cookie",
  "authorization",
  "proxy-authorization",
]);

/** The body as it was sent, as far as the stored event tells: raw text, form fields or JSON. */
function bodyOf(event: WebhookEvent): Buffer {
  const b = event.body;
  if (typeof b === "string") return Buffer.from(b, "utf8");
  const form = (event.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
  if (form && b && typeof b === "object") {
    return Buffer.from(
      new URLSearchParams(Object.entries(b as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)])).toString(),
    );
  }
  return Buffer.from(JSON.stringify(b ?? null), "utf8");
}

/** `bound`: the listener's real address when the daemon runs (the config's port may be 0). */
export function signedCurl(
  config: CompiledConfig,
  route: CompiledRoute,
  event: WebhookEvent,
  bound?: AddressInfo,
  now = Date.now(),
): string {
  const body = bodyOf(event);
  const credentials = new Set(findVerifier(route.verifyType)?.credentialHeaders ?? []);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers)) {
    if (LEFT_OUT.has(name) || credentials.has(name) || value.includes(REDACTED)) continue;
    kept[name] = value;
  }
  const headers = new HeaderLines().set(kept);
  const signed = route.verifier.sign(body, now, headers.lowerCased());
  headers.set(signed.headers);
  const listen = bound ? { host: bound.address, port: bound.port } : config.server.listen;
  // A wildcard address is reachable on loopback from the daemon's host.
  const host =
    listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const query = new URLSearchParams({ ...event.query, ...signed.query }).toString();
  const url = `http://${host}:${listen.port}${route.path}${query ? `?${query}` : ""}`;
  const headerArgs = headers.entries().map(([n, v]) => `-H ${shellQuote(`${n}: ${v}`)}`);
  return `curl -sS -X POST ${shellQuote(url)} ${headerArgs.join(" ")} --data-binary ${shellQuote(signed.body.toString("utf8"))}`;
}
