import { publicUrlOption } from "./public-url.js";
import { accepted, anyKeyMatches, bodyField, decodeDigest, defineVerifier, firstKey, hmac } from "./verifier.js";

const SIGNATURE = "x-square-hmacsha256-signature";

/**
 * Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256 of notification URL + raw body>`,
 * keyed with the subscription's signature key. The URL is the one configured in Square.
 * https://developer.squareup.com/docs/webhooks/step3validate
 */
export const square = defineVerifier({
  type: "square",
  description:
    "`x-square-hmacsha256-signature`: base64 HMAC-SHA256 of `url` + body, key = the subscription's signature key. Not timestamped: use `dedupe: true`",
  deliveryId: "body `event_id`",
  properties: { url: publicUrlOption("Square") },
  create: (options, ctx) => ({
    verify(req) {
      const header = req.headers[SIGNATURE];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = decodeDigest(header, "base64", "sha256");
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", options.url, req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // Square retries a notification with the same event_id.
      return accepted(bodyField(req.rawBody, "event_id"));
    },
    sign(body) {
      return { headers: { "x-square-hmacsha256-signature": hmac("sha256", firstKey(ctx), options.url, body).toString("base64") }, body };
    },
    providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "Square Connect v2", "Square-Version": "2025-10-16" }),
  }),
});
