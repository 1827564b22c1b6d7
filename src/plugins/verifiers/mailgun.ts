import { createHash } from "node:crypto";
import {
  accepted,
  anyPairMatches,
  decodeDigest,
  defineVerifier,
  firstKey,
  hmac,
  isRecord,
  parseJson,
  timestampFailure,
} from "./verifier.js";

interface Signed {
  timestamp: string;
  token: string;
  /** `signature` and, for a subaccount's domain, `parent-signature` (the primary account's key). */
  signatures: string[];
}

const text = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);

/**
 * The signature block: `{"signature": {timestamp, token, signature}, "event-data": {...}}` in
 * JSON webhooks, top-level `timestamp`, `token`, `signature` fields in legacy form-encoded ones.
 */
function signedPart(raw: Buffer, contentType: string | undefined): Signed | undefined {
  const form = (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
  let block: Record<string, unknown> | undefined;
  if (form) {
    block = Object.fromEntries(new URLSearchParams(raw.toString("utf8")));
  } else {
    const parsed = parseJson(raw);
    if (!parsed.ok || !isRecord(parsed.value)) return undefined;
    block = isRecord(parsed.value.signature) ? parsed.value.signature : undefined;
  }
  if (!block) return undefined;
  const timestamp = text(block.timestamp);
  const token = text(block.token);
  const signatures = [text(block.signature), text(block["parent-signature"])].filter((s): s is string => s !== undefined);
  if (timestamp === undefined || token === undefined || signatures.length === 0) return undefined;
  return { timestamp, token, signatures };
}

/**
 * Mailgun: the body carries `timestamp`, `token` and `signature`, the hex HMAC-SHA256 of
 * timestamp + token under the webhook signing key. The event itself is not signed, so the token
 * is the delivery id: with `dedupe: true` a replayed token is answered as a duplicate, never
 * delivered twice, and `tolerance` bounds how long a captured one is worth anything.
 * https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 */
export const mailgun = defineVerifier({
  type: "mailgun",
  description:
    "body `signature.timestamp`, `.token`, `.signature` (or form fields `timestamp`, `token`, `signature`): hex HMAC-SHA256 of timestamp + token, key = the webhook signing key; `tolerance`. Only the token is signed, not the event: use `dedupe: true`",
  deliveryId: "body `signature.token` (one per request, so a replay is caught)",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const part = signedPart(req.rawBody, req.headers["content-type"]);
      if (!part) return { ok: false, reason: "missing_signature" };
      const given = part.signatures.map((s) => decodeDigest(s, "hex", "sha256")).filter((s): s is Buffer => s !== undefined);
      const time = timestampFailure(part.timestamp, req.receivedAt, ctx.toleranceMs);
      if (given.length === 0 || part.token === "" || (time !== undefined && time !== "timestamp_out_of_tolerance")) {
        return { ok: false, reason: "malformed_signature" };
      }
      const expected = ctx.keys.map((key) => hmac("sha256", key, part.timestamp, part.token));
      if (!anyPairMatches(expected, given)) return { ok: false, reason: "signature_mismatch" };
      // After the signature: this reason then only names genuine but old (replayed) requests.
      if (time) return { ok: false, reason: time };
      return accepted(part.token);
    },
    sign(raw, now) {
      const timestamp = String(Math.floor(now / 1000));
      // Derived rather than random so a dry run is reproducible, yet differs per signing time.
      const token = createHash("sha256").update(String(now)).update(raw).digest("hex").slice(0, 50);
      const signature = hmac("sha256", firstKey(ctx), timestamp, token).toString("hex");
      const parsed = parseJson(raw);
      if (!parsed.ok || !isRecord(parsed.value)) {
        throw new Error('mailgun: the body must be a JSON object (its "event-data"), to which the signature block is added');
      }
      const body = { ...parsed.value, signature: { timestamp, token, signature } };
      return { headers: { "Content-Type": "application/json" }, body: Buffer.from(JSON.stringify(body)) };
    },
  }),
});
