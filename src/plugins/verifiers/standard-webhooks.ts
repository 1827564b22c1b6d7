import { createHash } from "node:crypto";
import type { InboundRequest, SchemeContext, SignedRequest, Verdict, Verifier } from "./verifier.js";
import { accepted, anyPairMatches, decodeBase64, decodeDigest, defineVerifier, hmac, timestampFailure } from "./verifier.js";

const SECRET_PREFIX = "whsec_";

/** The key is the base64 after `whsec_` (a bare secret is base64 too), as the spec's own libraries do. */
export function decodeKey(secret: Buffer): Buffer {
  const text = secret.toString("utf8");
  const key = decodeBase64(text.startsWith(SECRET_PREFIX) ? text.slice(SECRET_PREFIX.length) : text);
  if (!key) throw new Error("a standard-webhooks secret must be base64, optionally prefixed with whsec_");
  return key;
}

/** `v1,<b64> v1,<b64> v1a,<...>`: the v1 (HMAC-SHA256) signatures; other versions are not ours to check. */
function v1Signatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    const sig = entry.slice(0, comma) === "v1" ? decodeDigest(entry.slice(comma + 1), "base64", "sha256") : undefined;
    if (sig) out.push(sig);
  }
  return out;
}

/** The header names of a request: the spec's `webhook-*`, or Svix's own `svix-*` (Svix, Clerk, Resend). */
export type HeaderFamily = "webhook" | "svix";

/**
 * Checks a Standard Webhooks signature with already-decoded keys: for this scheme, its aliases
 * and GitLab's signing token. A request speaks one dialect: the three headers are taken from
 * the family its signature header belongs to.
 */
export function verifyStandardWebhooks(req: InboundRequest, keys: readonly Buffer[], toleranceMs: number): Verdict {
  const family: HeaderFamily = req.headers["webhook-signature"] !== undefined ? "webhook" : "svix";
  const id = req.headers[`${family}-id`];
  const ts = req.headers[`${family}-timestamp`];
  const header = req.headers[`${family}-signature`];
  if (!id || !ts || !header) return { ok: false, reason: "missing_signature" };
  const given = v1Signatures(header);
  const time = timestampFailure(ts, req.receivedAt, toleranceMs);
  if (given.length === 0 || (time !== undefined && time !== "timestamp_out_of_tolerance")) {
    return { ok: false, reason: "malformed_signature" };
  }
  const expected = keys.map((key) => hmac("sha256", key, id, ".", ts, ".", req.rawBody));
  if (!anyPairMatches(expected, given)) return { ok: false, reason: "signature_mismatch" };
  // After the signature: this reason then only names genuine but old (replayed) requests.
  if (time) return { ok: false, reason: time };
  // The id is the same on every retry of a message: the spec's idempotency key.
  return accepted(id);
}

/** Signs as a Standard Webhooks sender does, with the first key, under the given header names. */
export function signStandardWebhooks(key: Buffer | undefined, body: Buffer, now: number, family: HeaderFamily): SignedRequest {
  if (!key) throw new Error("no secret configured");
  const ts = String(Math.floor(now / 1000));
  // Derived rather than random so a dry run is reproducible, yet differs per signing time.
  const id = `msg_${createHash("sha256").update(String(now)).update(body).digest("base64url").slice(0, 24)}`;
  const signature = `v1,${hmac("sha256", key, id, ".", ts, ".", body).toString("base64")}`;
  return { headers: { [`${family}-id`]: id, [`${family}-timestamp`]: ts, [`${family}-signature`]: signature }, body };
}

/** The Standard Webhooks verifier with the route's secrets, signing under `family`'s header names. */
export function standardWebhooksVerifier(ctx: SchemeContext, family: HeaderFamily): Verifier {
  const keys = ctx.keys.map(decodeKey);
  return {
    verify: (req) => verifyStandardWebhooks(req, keys, ctx.toleranceMs),
    sign: (body, now) => signStandardWebhooks(keys[0], body, now, family),
  };
}

/**
 * Standard Webhooks (and Svix, the same scheme with `svix-` header names): HMAC-SHA256 over
 * `{id}.{timestamp}.{raw body}`, base64, in `webhook-signature`.
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * https://docs.svix.com/receiving/verifying-payloads/how-manual
 */
export const standardWebhooks = defineVerifier({
  type: "standard-webhooks",
  description:
    "`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> …` over `{id}.{ts}.{body}`, key = base64 after `whsec_`; also Svix's `svix-*` headers; `tolerance`",
  deliveryId: "`webhook-id` / `svix-id`",
  timestamped: true,
  create: (_options, ctx) => standardWebhooksVerifier(ctx, "webhook"),
});
