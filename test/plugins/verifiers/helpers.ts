import { createAjv } from "../../../src/config/marks.js";
import type { InboundRequest, SignedRequest, Verifier, VerifierPlugin } from "../../../src/plugins/verifiers/verifier.js";

/** 2026-11-29T12:00:00Z: a fixed "now" so that no test depends on the clock. */
export const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
export const NOW_S = NOW / 1000;

export const SECRET = "It's a Secret to Everybody";

/**
 * Validates the options against the plugin's own schema (as config loading does), then creates
 * it with keys from `secret` / `secrets` as the config compiler resolves them (default SECRET).
 */
export function build(plugin: VerifierPlugin, options: Record<string, unknown> = {}): Verifier {
  const block =
    plugin.needsSecret && options.secret === undefined && options.secrets === undefined ? { secret: SECRET, ...options } : options;
  const full: Record<string, unknown> = { type: plugin.type, ...block };
  const ajv = createAjv();
  if (!ajv.validate(plugin.schema, full)) throw new Error(`invalid options: ${ajv.errorsText()}`);
  const secrets = Array.isArray(full.secrets) ? full.secrets.map((s) => String(s)) : typeof full.secret === "string" ? [full.secret] : [];
  return plugin.create(full as never, { keys: secrets.map((s) => Buffer.from(s, "utf8")) });
}

/** The same text with its first digit changed: a body an attacker edited. */
export function tamper(body: string): string {
  return body.replace(/[0-9]/, (d) => String((Number(d) + 1) % 10));
}

/** True when the options pass the plugin's schema. */
export function schemaAccepts(plugin: VerifierPlugin, options: Record<string, unknown>): boolean {
  return createAjv().validate(plugin.schema, { type: plugin.type, ...options });
}

export function request(parts: {
  body?: string | Buffer;
  headers?: Record<string, string | undefined>;
  query?: Record<string, string>;
  receivedAt?: number;
}): InboundRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  return {
    method: "POST",
    path: "/hooks/test",
    headers,
    query: parts.query ?? {},
    rawBody: Buffer.isBuffer(parts.body) ? parts.body : Buffer.from(parts.body ?? "", "utf8"),
    receivedAt: parts.receivedAt ?? NOW,
  };
}

/** What `switchyard sign` would send, as the ingress would see it. */
export function fromSigned(signed: SignedRequest, receivedAt = NOW): InboundRequest {
  return request({ body: signed.body, headers: signed.headers, query: signed.query ?? {}, receivedAt });
}

/** sign() with the verifier's first key, then verify() the result. */
export function roundTrip(verifier: Verifier, body: string | Buffer, now = NOW) {
  return verifier.verify(fromSigned(verifier.sign(Buffer.isBuffer(body) ? body : Buffer.from(body), now), now));
}

/** An event as the ingress would store it, for scrub(). */
export function eventOf(req: InboundRequest, body: unknown) {
  return { headers: { ...req.headers }, query: { ...req.query }, body, rawBody: req.rawBody };
}

export const mismatch = { ok: false, reason: "signature_mismatch" } as const;
export const missing = { ok: false, reason: "missing_signature" } as const;
export const malformed = { ok: false, reason: "malformed_signature" } as const;
export const outOfTolerance = { ok: false, reason: "timestamp_out_of_tolerance" } as const;
export const notJson = { ok: false, reason: "body_not_json" } as const;

/**
 * Rotation: a verifier configured with `secrets: [new, old]` must accept requests signed with
 * either and refuse a third. Returns the three outcomes, expected `[true, true, false]`.
 */
export async function rotation(
  plugin: VerifierPlugin,
  options: Record<string, unknown>,
  signedWith: (secret: string) => InboundRequest | Promise<InboundRequest>,
  [newer, older, third]: readonly [string, string, string] = ["new secret", "old secret", "third secret"],
): Promise<boolean[]> {
  const verifier = build(plugin, { ...options, secrets: [newer, older] });
  const out: boolean[] = [];
  for (const secret of [newer, older, third]) out.push((await verifier.verify(await signedWith(secret))).ok);
  return out;
}

/**
 * The refusals every scheme owes (issue 17): the good request with its body changed, a request
 * signed with another key, the good request without its signature header or with garbage in it,
 * and (for timestamped schemes) a genuine but stale request. Compare with `REFUSALS`.
 */
export async function refusals(
  verifier: Verifier,
  good: InboundRequest,
  o: { header: string; wrongKey: InboundRequest; stale?: InboundRequest; garbage?: string },
): Promise<Record<string, unknown>> {
  const { [o.header.toLowerCase()]: _dropped, ...without } = good.headers;
  const out: Record<string, unknown> = {
    good: await verifier.verify(good),
    changedBody: await verifier.verify({ ...good, rawBody: Buffer.from(tamper(good.rawBody.toString("utf8"))) }),
    wrongKey: await verifier.verify(o.wrongKey),
    missingHeader: await verifier.verify({ ...good, headers: without }),
    malformed: await verifier.verify({ ...good, headers: { ...good.headers, [o.header.toLowerCase()]: o.garbage ?? "garbage" } }),
  };
  if (o.stale) out.stale = await verifier.verify(o.stale);
  return out;
}

export const REFUSALS = { changedBody: mismatch, wrongKey: mismatch, missingHeader: missing, malformed } as const;
export const TIMED_REFUSALS = { ...REFUSALS, stale: outOfTolerance } as const;
