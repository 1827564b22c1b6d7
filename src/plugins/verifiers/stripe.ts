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

/** `t=<unix seconds>,v1=<hex>[,v1=<hex>][,v0=<hex>]`: the timestamp and the v1 signatures. */
function parseHeader(header: string): { t: string | undefined; v1: Buffer[] } {
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "t" && t === undefined) t = value;
    // Stripe sends one v1 per active secret while a secret is being rolled; any may match.
    // v0 is its test-mode legacy scheme and is never trusted.
    const sig = key === "v1" ? decodeDigest(value, "hex", "sha256") : undefined;
    if (sig) v1.push(sig);
  }
  return { t, v1 };
}

/**
 * Stripe: `Stripe-Signature: t=..,v1=..`, hex HMAC-SHA256 over `{t}.{raw body}`; the key is the
 * whole `whsec_...` string as text (not base64-decoded, unlike Standard Webhooks).
 * https://docs.stripe.com/webhooks#verify-manually
 */
export const stripe = defineVerifier({
  type: "stripe",
  description: "`Stripe-Signature: t=…,v1=…` over `{t}.{body}`, key = the whole `whsec_…` string; `tolerance`",
  deliveryId: "body `id`",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["stripe-signature"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const { t, v1 } = parseHeader(header);
      const time = timestampFailure(t, req.receivedAt, ctx.toleranceMs);
      if (t === undefined || v1.length === 0 || (time !== undefined && time !== "timestamp_out_of_tolerance")) {
        return { ok: false, reason: "malformed_signature" };
      }
      const expected = ctx.keys.map((key) => hmac("sha256", key, t, ".", req.rawBody));
      if (!anyPairMatches(expected, v1)) return { ok: false, reason: "signature_mismatch" };
      // Checked after the signature, so this reason only ever names genuine but old (replayed) requests.
      if (time) return { ok: false, reason: time };
      const body = parseJson(req.rawBody);
      if (!body.ok) return { ok: false, reason: "body_not_json" };
      return accepted(isRecord(body.value) ? body.value.id : undefined);
    },
    sign(body, now) {
      const t = String(Math.floor(now / 1000));
      return { headers: { "Stripe-Signature": `t=${t},v1=${hmac("sha256", firstKey(ctx), t, ".", body).toString("hex")}` }, body };
    },
    // Stripe sends nothing else that names the event (its type and id are in the body).
    providerHeaders() {
      return { "Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)" };
    },
  }),
});
