import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, secretProperties } from "./verifier.js";

/**
 * Shopify: `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body, keyed with the
 * app's client secret.
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
 */
export const shopify = defineVerifier({
  type: "shopify",
  description: "`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of body",
  deliveryId: "`X-Shopify-Event-Id` (or `X-Shopify-Webhook-Id`)",
  needsSecret: true,
  properties: { ...secretProperties },
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-shopify-hmac-sha256"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = decodeDigest(header, "base64", "sha256");
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // The event id is what Shopify recommends for spotting duplicates; the webhook id (one per
      // delivery attempt series) is the fallback for older API versions that lack it.
      // https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates
      return accepted(req.headers["x-shopify-event-id"] || req.headers["x-shopify-webhook-id"]);
    },
    sign(body) {
      return { headers: { "X-Shopify-Hmac-Sha256": hmac("sha256", firstKey(ctx), body).toString("base64") }, body };
    },
  }),
});
